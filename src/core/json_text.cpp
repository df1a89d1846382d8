#include "core/json_text.hpp"

namespace baton {

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
