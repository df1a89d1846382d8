#include "core/url.hpp"

#include <charconv>

namespace baton {

std::string parse_authority(std::string_view authority, std::uint16_t default_port, std::string& host,
                            std::uint16_t& port) {
  std::string_view name = authority;
  std::string_view port_text;
  if (authority.starts_with('[')) {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return "has an unterminated IPv6 address";
    name = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return "has junk after the IPv6 address";
      port_text = authority.substr(close + 2);
    }
  } else if (const std::size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    name = authority.substr(0, colon);
    port_text = authority.substr(colon + 1);
  }
  if (name.empty()) return "has no host";
  port = default_port;
  if (!port_text.empty()) {
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
    if (ec != std::errc{} || end != port_text.data() + port_text.size() || value == 0 || value > 65535) {
      return "has an invalid port '" + std::string(port_text) + "'";
    }
    port = static_cast<std::uint16_t>(value);
  }
  host = std::string(name);
  return {};
}

}  // namespace baton
