#pragma once
// The authority part of an http(s) URL, shared by the config's provider URLs and the SSRF guard's
// request URLs (each adds its own rules about schemes, paths and credentials).
#include <cstdint>
#include <string>
#include <string_view>

namespace baton {

// "host", "host:port", "[v6]" or "[v6]:port" → host (without brackets) and port (default_port when
// absent). Returns what is wrong ("has no host", "has an invalid port '…'", …) or empty on success.
std::string parse_authority(std::string_view authority, std::uint16_t default_port, std::string& host,
                            std::uint16_t& port);

}  // namespace baton
