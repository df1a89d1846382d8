#pragma once
// ASCII case folding for protocol tokens (header values, URL schemes). Not beast::iequals: Boost
// 1.81's reads one byte past the end of its arguments when they differ only in case (the
// outbound_url fuzz target found it), which is out of bounds for views into a larger buffer.
#include <string_view>

namespace baton {

constexpr char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

constexpr bool ascii_iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

}  // namespace baton
