#include "core/json_text.hpp"

#include <array>
#include <charconv>
#include <cmath>

namespace baton {

void append_decimal(std::string& out, std::uint64_t value) {
  // Into a local buffer, then one append (push_back per digit checked the capacity each time).
  char digits[20];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
  out.append(digits, static_cast<std::size_t>(end - digits));
}

void append_decimal(std::string& out, std::int64_t value) {
  char digits[20];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
  out.append(digits, static_cast<std::size_t>(end - digits));
}

void append_json_string(std::string& out, std::string_view value) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  // Runs of characters that need no escape (nearly all of them) go in with one append.
  static constexpr auto kNeedsEscape = [] {
    std::array<bool, 256> table{};
    for (int c = 0; c < 0x20; ++c) table[static_cast<std::size_t>(c)] = true;
    table['"'] = true;
    table['\\'] = true;
    return table;
  }();
  std::size_t run = 0;
  for (std::size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    const auto byte = static_cast<unsigned char>(c);
    if (!kNeedsEscape[byte]) continue;
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
  append_chars(out, value, std::chars_format::fixed, digits);
}

void append_general(std::string& out, double value, int digits) {
  append_chars(out, value, std::chars_format::general, digits);
}

}  // namespace baton

#include <simdjson.h>

namespace baton {
std::string_view padded_for_simdjson(std::string_view input, std::string& scratch) {
  scratch.reserve(input.size() + simdjson::SIMDJSON_PADDING);
  scratch.assign(input);
  return scratch;
}
}  // namespace baton
