#include "core/json_text.hpp"

namespace baton {

void append_decimal(std::string& out, std::uint64_t value) {
  char digits[20];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  while (n > 0) out.push_back(digits[--n]);
}

void append_decimal(std::string& out, std::int64_t value) {
  if (value < 0) {
    out.push_back('-');
    append_decimal(out, static_cast<std::uint64_t>(-(value + 1)) + 1);
  } else {
    append_decimal(out, static_cast<std::uint64_t>(value));
  }
}

void append_json_string(std::string& out, std::string_view value) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (byte < 0x20) {
          out += "\\u00";
          out.push_back(kHex[byte >> 4]);
          out.push_back(kHex[byte & 0xF]);
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
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
