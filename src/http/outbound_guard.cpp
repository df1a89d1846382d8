#include "http/outbound_guard.hpp"

#include <array>
#include <charconv>

#include "core/ascii.hpp"
#include "core/url.hpp"

namespace baton::http {

namespace {

using Bytes4 = asio::ip::address_v4::bytes_type;
using Bytes16 = asio::ip::address_v6::bytes_type;

bool prefix_equal(const std::uint8_t* a, const std::uint8_t* b, unsigned prefix) {
  for (unsigned bit = 0; bit < prefix; ++bit) {
    const unsigned byte = bit / 8;
    const auto mask = static_cast<std::uint8_t>(0x80U >> (bit % 8));
    if ((a[byte] & mask) != (b[byte] & mask)) return false;
  }
  return true;
}

bool in_v4(const Bytes4& b, const std::array<std::uint8_t, 4>& net, unsigned prefix) {
  return prefix_equal(b.data(), net.data(), prefix);
}

AddressKind classify_v4(const asio::ip::address_v4& address) {
  const Bytes4 b = address.to_bytes();
  struct Range {
    std::array<std::uint8_t, 4> net;
    unsigned prefix;
    AddressKind kind;
  };
  static constexpr std::array<Range, 16> kRanges{{
      {{0, 0, 0, 0}, 8, AddressKind::unspecified},
      {{10, 0, 0, 0}, 8, AddressKind::private_network},
      {{100, 64, 0, 0}, 10, AddressKind::shared_cgnat},
      {{127, 0, 0, 0}, 8, AddressKind::loopback},
      {{169, 254, 0, 0}, 16, AddressKind::link_local},
      {{172, 16, 0, 0}, 12, AddressKind::private_network},
      {{192, 0, 0, 0}, 24, AddressKind::reserved},  // IETF protocol assignments
      {{192, 0, 2, 0}, 24, AddressKind::reserved},  // documentation
      {{192, 88, 99, 0}, 24, AddressKind::reserved},  // 6to4 relay anycast
      {{192, 168, 0, 0}, 16, AddressKind::private_network},
      {{198, 18, 0, 0}, 15, AddressKind::reserved},  // benchmarking
      {{198, 51, 100, 0}, 24, AddressKind::reserved},
      {{203, 0, 113, 0}, 24, AddressKind::reserved},
      {{224, 0, 0, 0}, 4, AddressKind::multicast},
      {{240, 0, 0, 0}, 4, AddressKind::reserved},  // includes 255.255.255.255
      {{0, 0, 0, 0}, 0, AddressKind::public_internet},
  }};
  for (const Range& range : kRanges) {
    if (in_v4(b, range.net, range.prefix)) return range.kind;
  }
  return AddressKind::public_internet;
}

asio::ip::address_v4 v4_at(const Bytes16& b, std::size_t offset) {
  return asio::ip::address_v4(Bytes4{b[offset], b[offset + 1], b[offset + 2], b[offset + 3]});
}

AddressKind classify_v6(const asio::ip::address_v6& address) {
  const Bytes16 b = address.to_bytes();
  if (address.is_unspecified()) return AddressKind::unspecified;
  if (address.is_loopback()) return AddressKind::loopback;
  if (address.is_v4_mapped()) return classify_v4(v4_at(b, 12));
  static constexpr Bytes16 kNat64{0, 0x64, 0xff, 0x9b};
  if (prefix_equal(b.data(), kNat64.data(), 96)) return classify_v4(v4_at(b, 12));
  if (b[0] == 0x20 && b[1] == 0x02) return classify_v4(v4_at(b, 2));  // 6to4
  if ((b[0] & 0xfe) == 0xfc) return AddressKind::private_network;     // fc00::/7 unique local
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return AddressKind::link_local;      // fe80::/10
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) return AddressKind::private_network;  // fec0::/10 site-local
  if (b[0] == 0xff) return AddressKind::multicast;
  static constexpr Bytes16 kZero{};
  if (prefix_equal(b.data(), kZero.data(), 96)) return AddressKind::reserved;  // ::a.b.c.d (deprecated)
  static constexpr Bytes16 kDocumentation{0x20, 0x01, 0x0d, 0xb8};
  if (prefix_equal(b.data(), kDocumentation.data(), 32)) return AddressKind::reserved;
  static constexpr Bytes16 kIetf{0x20, 0x01};  // 2001::/23: Teredo (hides an IPv4 address) and friends
  if (prefix_equal(b.data(), kIetf.data(), 23)) return AddressKind::reserved;
  static constexpr Bytes16 kDiscard{0x01, 0x00};
  if (prefix_equal(b.data(), kDiscard.data(), 64)) return AddressKind::reserved;
  return AddressKind::public_internet;
}

// The IPv4 address an IPv6 address stands for, when it carries one (mapped, NAT64, 6to4).
std::optional<asio::ip::address_v4> embedded_v4(const asio::ip::address& address) {
  if (!address.is_v6()) return std::nullopt;
  const asio::ip::address_v6 v6 = address.to_v6();
  const Bytes16 b = v6.to_bytes();
  if (v6.is_v4_mapped()) return v4_at(b, 12);
  static constexpr Bytes16 kNat64{0, 0x64, 0xff, 0x9b};
  if (prefix_equal(b.data(), kNat64.data(), 96)) return v4_at(b, 12);
  if (b[0] == 0x20 && b[1] == 0x02) return v4_at(b, 2);
  return std::nullopt;
}

bool has_control_or_space(std::string_view text) {
  for (const char c : text) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return true;
  }
  return false;
}

}  // namespace

std::string_view to_string(AddressKind kind) {
  switch (kind) {
    case AddressKind::public_internet: return "public";
    case AddressKind::loopback: return "loopback";
    case AddressKind::private_network: return "private network";
    case AddressKind::link_local: return "link-local";
    case AddressKind::shared_cgnat: return "shared (CGNAT)";
    case AddressKind::multicast: return "multicast";
    case AddressKind::unspecified: return "unspecified";
    case AddressKind::reserved: return "reserved";
  }
  return "reserved";
}

AddressKind classify(const asio::ip::address& address) {
  return address.is_v4() ? classify_v4(address.to_v4()) : classify_v6(address.to_v6());
}

std::optional<Cidr> Cidr::parse(std::string_view text) {
  const std::size_t slash = text.find('/');
  error_code ec;
  const auto network = asio::ip::make_address(std::string(text.substr(0, slash)), ec);
  if (ec) return std::nullopt;
  const unsigned max_prefix = network.is_v4() ? 32 : 128;
  unsigned prefix = max_prefix;
  if (slash != std::string_view::npos) {
    const std::string_view digits = text.substr(slash + 1);
    const auto [end, parse_ec] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
    if (digits.empty() || parse_ec != std::errc{} || end != digits.data() + digits.size() || prefix > max_prefix) {
      return std::nullopt;
    }
  }
  return Cidr{network, prefix};
}

bool Cidr::contains(const asio::ip::address& address) const {
  if (network.is_v4()) {
    std::optional<asio::ip::address_v4> v4;
    if (address.is_v4()) v4 = address.to_v4();
    else v4 = embedded_v4(address);
    if (!v4) return false;
    const Bytes4 a = v4->to_bytes();
    const Bytes4 n = network.to_v4().to_bytes();
    return prefix_equal(a.data(), n.data(), prefix);
  }
  if (!address.is_v6()) return false;
  const Bytes16 a = address.to_v6().to_bytes();
  const Bytes16 n = network.to_v6().to_bytes();
  return prefix_equal(a.data(), n.data(), prefix);
}

bool OutboundPolicy::allowed(const asio::ip::address& address) const {
  if (classify(address) == AddressKind::public_internet) return true;
  for (const Cidr& range : allow) {
    if (range.contains(address)) return true;
  }
  return false;
}

std::optional<OutboundTarget> parse_outbound_url(std::string_view url, std::string& why) {
  OutboundTarget out;
  std::string_view rest = url;
  if (has_control_or_space(url)) {
    why = "URL contains spaces or control characters";
    return std::nullopt;
  }
  const auto starts_with_nocase = [&](std::string_view prefix) {
    return rest.size() >= prefix.size() && ascii_iequals(rest.substr(0, prefix.size()), prefix);
  };
  if (starts_with_nocase("http://")) {
    rest.remove_prefix(7);
  } else if (starts_with_nocase("https://")) {
    out.tls = true;
    rest.remove_prefix(8);
  } else {
    why = "only http:// and https:// URLs are allowed";
    return std::nullopt;
  }
  const std::size_t authority_end = rest.find_first_of("/?#");
  const std::string_view authority = rest.substr(0, authority_end);
  std::string_view path = authority_end == std::string_view::npos ? std::string_view{} : rest.substr(authority_end);
  if (authority.find('@') != std::string_view::npos || authority.find('\\') != std::string_view::npos) {
    why = "URL must not carry credentials";
    return std::nullopt;
  }
  if (const std::string problem = parse_authority(authority, out.tls ? 443 : 80, out.host, out.port); !problem.empty()) {
    why = "URL " + problem;
    return std::nullopt;
  }
  if (const std::size_t hash = path.find('#'); hash != std::string_view::npos) path = path.substr(0, hash);
  out.target = path.empty() || path.front() == '?' ? "/" + std::string(path) : std::string(path);
  return out;
}

std::optional<OutboundTarget> redirect_target(const OutboundTarget& current, std::string_view location,
                                              std::string& why) {
  if (location.empty() || has_control_or_space(location)) {
    why = "redirect without a usable Location";
    return std::nullopt;
  }
  const std::size_t colon = location.find(':');
  const std::size_t first_slash = location.find('/');
  const bool has_scheme = colon != std::string_view::npos && (first_slash == std::string_view::npos || colon < first_slash);
  if (has_scheme) return parse_outbound_url(location, why);  // a scheme that is not http(s) is refused there
  const std::string scheme = current.tls ? "https:" : "http:";
  if (location.starts_with("//")) return parse_outbound_url(scheme + std::string(location), why);
  OutboundTarget next = current;
  if (location.starts_with('/')) {
    next.target = std::string(location);
  } else {
    // Relative to the current path's directory (query and fragment of the base dropped).
    std::string_view base = current.target;  // a view of the string, not of a substr() temporary
    base = base.substr(0, base.find('?'));
    base = base.substr(0, base.rfind('/') + 1);
    next.target = std::string(base) + std::string(location);
  }
  if (const std::size_t hash = next.target.find('#'); hash != std::string::npos) next.target.resize(hash);
  return next;
}

awaitable<std::vector<tcp::endpoint>> resolve_allowed(tcp::resolver& resolver, const OutboundTarget& target,
                                                      const OutboundPolicy& policy, std::string& why) {
  std::vector<tcp::endpoint> endpoints;
  error_code literal_ec;
  const asio::ip::address literal = asio::ip::make_address(target.host, literal_ec);
  if (!literal_ec) {
    endpoints.emplace_back(literal, target.port);
  } else {
    // getaddrinfo also reads "2130706433" and "0x7f.1" as 127.0.0.1: the check below sees the address.
    const std::string port = std::to_string(target.port);
    auto [ec, results] = co_await resolver.async_resolve(target.host, port, use_nothrow);
    if (ec) {
      why = "cannot resolve " + target.host + ": " + ec.message();
      co_return endpoints;
    }
    for (const auto& entry : results) endpoints.push_back(entry.endpoint());
  }
  for (const tcp::endpoint& endpoint : endpoints) {
    if (!policy.allowed(endpoint.address())) {
      why = target.host + " resolves to " + endpoint.address().to_string() + " (" +
            std::string(to_string(classify(endpoint.address()))) + "), which outbound calls may not reach";
      endpoints.clear();
      co_return endpoints;
    }
  }
  if (endpoints.empty()) why = "no address for " + target.host;
  co_return endpoints;
}

}  // namespace baton::http
