#pragma once
// The SSRF guard for outbound calls whose URL comes from a request (batch callbacks, tool URLs, chat
// channel webhooks): such a URL may only reach the public internet, or ranges an operator allowed.
// Configured providers are trusted and do not go through it.
//
// The guard works on addresses, not names: a URL is resolved once, every address it resolves to must
// be allowed, and the caller connects to exactly those endpoints (never resolving again, so a DNS
// answer that changes between check and connect cannot slip a private address in). A redirect is a
// new URL and goes through the same check (redirect_target, then resolve_allowed again).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/asio.hpp"

namespace baton::http {

enum class AddressKind : std::uint8_t {
  public_internet,
  loopback,          // 127/8, ::1
  private_network,   // 10/8, 172.16/12, 192.168/16, fc00::/7, fec0::/10
  link_local,        // 169.254/16 (cloud metadata services live here), fe80::/10
  shared_cgnat,      // 100.64/10
  multicast,         // 224/4, ff00::/8
  unspecified,       // 0/8, ::
  reserved,          // documentation, benchmarking, 240/4, broadcast, IETF protocol ranges
};
std::string_view to_string(AddressKind kind);

// What an address is. IPv6 forms that carry an IPv4 address (mapped ::ffff:a.b.c.d, NAT64
// 64:ff9b::/96, 6to4 2002::/16) are judged by the IPv4 address inside.
AddressKind classify(const asio::ip::address& address);

struct Cidr {
  asio::ip::address network;
  unsigned prefix = 0;
  // "10.0.0.0/8", "fd00::/8", or a bare address (a single host). Empty on a malformed range.
  static std::optional<Cidr> parse(std::string_view text);
  bool contains(const asio::ip::address& address) const;
};

struct OutboundPolicy {
  std::vector<Cidr> allow;  // non-public ranges an operator opened on purpose (an on-prem callback host)
  bool allowed(const asio::ip::address& address) const;
};

struct OutboundTarget {
  bool tls = false;
  std::string host;  // without brackets for IPv6 literals
  std::uint16_t port = 0;
  std::string target;  // path and query, at least "/"; the fragment is dropped
};

// An absolute http(s) URL from a request. Refuses other schemes, credentials in the URL, a missing
// host, bad ports and control characters. On failure returns empty and says why.
std::optional<OutboundTarget> parse_outbound_url(std::string_view url, std::string& why);

// The next hop of a redirect from `current`: an absolute URL, a scheme-relative "//host/path", an
// absolute path or a relative path. The result must pass resolve_allowed before it is fetched.
std::optional<OutboundTarget> redirect_target(const OutboundTarget& current, std::string_view location,
                                              std::string& why);

// Resolves the target and returns its endpoints when every address is allowed; an IP literal is not
// looked up. Empty with `why` set when the name does not resolve or any address is refused.
awaitable<std::vector<tcp::endpoint>> resolve_allowed(tcp::resolver& resolver, const OutboundTarget& target,
                                                      const OutboundPolicy& policy, std::string& why);

}  // namespace baton::http
