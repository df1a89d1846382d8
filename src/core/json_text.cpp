#include "core/json_text.hpp"

#include <charconv>
#include <cmath>

#include "core/ascii.hpp"

namespace baton {

namespace {
// Into a local buffer, then one append (push_back per digit checked the capacity each time).
template <class Integer>
void append_integer(std::string& out, Integer value) {
  char digits[20];  // the longest is INT64_MIN's 20 characters
  const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
  out.append(digits, static_cast<std::size_t>(end - digits));
}
}  // namespace

void append_decimal(std::string& out, std::uint64_t value) { append_integer(out, value); }
void append_decimal(std::string& out, std::int64_t value) { append_integer(out, value); }

namespace {
// True when one of the 8 bytes of `word` is a control character, '"' or '\\' (the bytes a JSON
// string must escape). Bytes >= 0x80 (UTF-8) never match.
bool word_needs_escape(std::uint64_t word) {
  return (bytes_below(word, 0x20) | zero_bytes(word ^ (kByteOnes * '"')) | zero_bytes(word ^ (kByteOnes * '\\'))) != 0;
}
}  // namespace

void append_json_string(std::string& out, std::string_view value) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  // Eight bytes at a time while none needs an escape (nearly always: ids, names, paths), then
  // runs of plain characters go in with one append each.
  std::size_t i = 0;
  while (i + 8 <= value.size()) {
    if (word_needs_escape(load_word(value.data() + i))) break;
    i += 8;
  }
  std::size_t run = 0;
  for (; i < value.size(); ++i) {
    const char c = value[i];
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && c != '"' && c != '\\') continue;
    out.append(value.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        out += "\\u00";
        out.push_back(kHex[byte >> 4]);
        out.push_back(kHex[byte & 0xF]);
    }
  }
  out.append(value.data() + run, value.size() - run);
  out.push_back('"');
}

namespace {
void append_chars(std::string& out, double value, std::chars_format format, int digits) {
  if (!std::isfinite(value)) value = 0;
  char text[64];
  const auto [end, ec] = std::to_chars(text, text + sizeof text, value, format, digits);
  if (ec != std::errc{}) {
    out.push_back('0');
    return;
  }
  out.append(text, static_cast<std::size_t>(end - text));
}
}  // namespace

void append_fixed(std::string& out, double value, int digits) {
  // Milliseconds with three decimals (the access log's durations) in integer arithmetic, rounded
  // half away from zero; anything else through to_chars.
  if (digits == 3 && value >= 0 && value < 1e12) {
    const auto thousandths = static_cast<std::uint64_t>(value * 1000 + 0.5);
    append_decimal(out, thousandths / 1000);
    const auto fraction = static_cast<unsigned>(thousandths % 1000);
    const char text[4] = {'.', static_cast<char>('0' + fraction / 100), static_cast<char>('0' + fraction / 10 % 10),
                          static_cast<char>('0' + fraction % 10)};
    out.append(text, sizeof text);
    return;
  }
  append_chars(out, value, std::chars_format::fixed, digits);
}

void append_general(std::string& out, double value, int digits) {
  append_chars(out, value, std::chars_format::general, digits);
}

}  // namespace baton

#include <simdjson.h>

namespace baton {
static_assert(kJsonPadding >= simdjson::SIMDJSON_PADDING);

PaddedJson padded_for_simdjson(std::string_view input, std::string& scratch) {
  scratch.reserve(input.size() + kJsonPadding);
  scratch.assign(input);
  return {scratch, scratch.capacity()};
}

PaddedJson padded_for_simdjson(const std::string& input, std::string& scratch) {
  if (input.capacity() - input.size() >= kJsonPadding) return {input, input.capacity()};
  return padded_for_simdjson(std::string_view(input), scratch);
}
}  // namespace baton
