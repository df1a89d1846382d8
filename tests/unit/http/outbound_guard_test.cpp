#include "http/outbound_guard.hpp"

#include <gtest/gtest.h>

#include <future>

namespace baton::http {
namespace {

AddressKind kind_of(const char* text) { return classify(asio::ip::make_address(text)); }

TEST(OutboundGuard, ClassifiesIpv4Ranges) {
  EXPECT_EQ(kind_of("8.8.8.8"), AddressKind::public_internet);
  EXPECT_EQ(kind_of("93.184.216.34"), AddressKind::public_internet);
  EXPECT_EQ(kind_of("127.0.0.1"), AddressKind::loopback);
  EXPECT_EQ(kind_of("127.255.1.2"), AddressKind::loopback);
  EXPECT_EQ(kind_of("10.1.2.3"), AddressKind::private_network);
  EXPECT_EQ(kind_of("172.16.0.1"), AddressKind::private_network);
  EXPECT_EQ(kind_of("172.31.255.255"), AddressKind::private_network);
  EXPECT_EQ(kind_of("172.32.0.1"), AddressKind::public_internet);
  EXPECT_EQ(kind_of("192.168.0.1"), AddressKind::private_network);
  EXPECT_EQ(kind_of("169.254.169.254"), AddressKind::link_local);  // cloud metadata
  EXPECT_EQ(kind_of("100.64.0.1"), AddressKind::shared_cgnat);
  EXPECT_EQ(kind_of("100.128.0.1"), AddressKind::public_internet);
  EXPECT_EQ(kind_of("0.0.0.0"), AddressKind::unspecified);
  EXPECT_EQ(kind_of("224.0.0.1"), AddressKind::multicast);
  EXPECT_EQ(kind_of("255.255.255.255"), AddressKind::reserved);
  EXPECT_EQ(kind_of("198.18.0.1"), AddressKind::reserved);
  EXPECT_EQ(kind_of("192.0.2.1"), AddressKind::reserved);
}

TEST(OutboundGuard, ClassifiesIpv6IncludingEmbeddedIpv4) {
  EXPECT_EQ(kind_of("2606:4700::1111"), AddressKind::public_internet);
  EXPECT_EQ(kind_of("::1"), AddressKind::loopback);
  EXPECT_EQ(kind_of("::"), AddressKind::unspecified);
  EXPECT_EQ(kind_of("fd12:3456::1"), AddressKind::private_network);
  EXPECT_EQ(kind_of("fe80::1"), AddressKind::link_local);
  EXPECT_EQ(kind_of("ff02::1"), AddressKind::multicast);
  EXPECT_EQ(kind_of("2001:db8::1"), AddressKind::reserved);
  EXPECT_EQ(kind_of("2001:0:4136:e378::1"), AddressKind::reserved);  // Teredo
  // IPv6 spellings of IPv4 addresses are judged by the IPv4 address.
  EXPECT_EQ(kind_of("::ffff:127.0.0.1"), AddressKind::loopback);
  EXPECT_EQ(kind_of("::ffff:169.254.169.254"), AddressKind::link_local);
  EXPECT_EQ(kind_of("::ffff:8.8.8.8"), AddressKind::public_internet);
  EXPECT_EQ(kind_of("64:ff9b::10.0.0.1"), AddressKind::private_network);
  EXPECT_EQ(kind_of("2002:c0a8:0101::1"), AddressKind::private_network);  // 6to4 of 192.168.1.1
  EXPECT_EQ(kind_of("::127.0.0.1"), AddressKind::reserved);
}

TEST(OutboundGuard, CidrParseAndContains) {
  const auto ten = Cidr::parse("10.0.0.0/8");
  ASSERT_TRUE(ten);
  EXPECT_TRUE(ten->contains(asio::ip::make_address("10.200.1.1")));
  EXPECT_TRUE(ten->contains(asio::ip::make_address("::ffff:10.0.0.1")));
  EXPECT_FALSE(ten->contains(asio::ip::make_address("11.0.0.1")));
  const auto host = Cidr::parse("192.168.1.20");
  ASSERT_TRUE(host);
  EXPECT_EQ(host->prefix, 32U);
  EXPECT_FALSE(host->contains(asio::ip::make_address("192.168.1.21")));
  const auto ula = Cidr::parse("fd00::/8");
  ASSERT_TRUE(ula);
  EXPECT_TRUE(ula->contains(asio::ip::make_address("fd12::1")));
  EXPECT_FALSE(ula->contains(asio::ip::make_address("10.0.0.1")));
  for (const char* bad : {"", "10.0.0.0/33", "10.0.0.0/", "10.0.0/8", "fd00::/129", "host/8", "10.0.0.0/8x"}) {
    EXPECT_FALSE(Cidr::parse(bad)) << bad;
  }
}

TEST(OutboundGuard, PolicyAllowsPublicAndOpenedRanges) {
  OutboundPolicy policy;
  EXPECT_TRUE(policy.allowed(asio::ip::make_address("8.8.8.8")));
  EXPECT_FALSE(policy.allowed(asio::ip::make_address("10.0.0.5")));
  policy.allow.push_back(*Cidr::parse("10.0.0.0/24"));
  EXPECT_TRUE(policy.allowed(asio::ip::make_address("10.0.0.5")));
  EXPECT_FALSE(policy.allowed(asio::ip::make_address("10.0.1.5")));
  EXPECT_FALSE(policy.allowed(asio::ip::make_address("169.254.169.254")));
}

TEST(OutboundGuard, ParsesRequestUrls) {
  std::string why;
  auto url = parse_outbound_url("https://hooks.example.com/cb?id=7#frag", why);
  ASSERT_TRUE(url) << why;
  EXPECT_TRUE(url->tls);
  EXPECT_EQ(url->host, "hooks.example.com");
  EXPECT_EQ(url->port, 443);
  EXPECT_EQ(url->target, "/cb?id=7");
  url = parse_outbound_url("HTTP://[2606:4700::1111]:8080", why);
  ASSERT_TRUE(url) << why;
  EXPECT_EQ(url->host, "2606:4700::1111");
  EXPECT_EQ(url->port, 8080);
  EXPECT_EQ(url->target, "/");
  url = parse_outbound_url("http://example.com?x=1", why);
  ASSERT_TRUE(url) << why;
  EXPECT_EQ(url->target, "/?x=1");
  for (const char* bad : {"ftp://example.com/", "file:///etc/passwd", "gopher://x", "http://user:pw@example.com/",
                          "http://example.com@10.0.0.1/", "http://", "http://:80/", "http://example.com:0/",
                          "http://example.com:65536/", "http://example.com:8o/", "http://exa mple.com/",
                          "http://example.com/\r\nHost: x", "//example.com/", "http://[::1/"}) {
    EXPECT_FALSE(parse_outbound_url(bad, why)) << bad;
    EXPECT_FALSE(why.empty()) << bad;
  }
}

TEST(OutboundGuard, RedirectTargets) {
  std::string why;
  const OutboundTarget current = *parse_outbound_url("https://a.example.com/v1/hooks/cb?x=1", why);
  auto next = redirect_target(current, "http://b.example.com/other", why);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->host, "b.example.com");
  EXPECT_FALSE(next->tls);
  next = redirect_target(current, "//c.example.com:8443/p", why);
  ASSERT_TRUE(next);
  EXPECT_TRUE(next->tls);
  EXPECT_EQ(next->host, "c.example.com");
  EXPECT_EQ(next->port, 8443);
  next = redirect_target(current, "/root?y=2#f", why);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->host, "a.example.com");
  EXPECT_EQ(next->target, "/root?y=2");
  next = redirect_target(current, "sibling", why);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->target, "/v1/hooks/sibling");
  for (const char* bad : {"", "file:///etc/passwd", "gopher://127.0.0.1:6379/_FLUSHALL", "javascript:alert(1)"}) {
    EXPECT_FALSE(redirect_target(current, bad, why)) << bad;
  }
}

// Runs resolve_allowed on a real resolver (getaddrinfo; nothing here needs the network).
std::pair<std::vector<tcp::endpoint>, std::string> resolve(const std::string& url, const OutboundPolicy& policy) {
  asio::io_context io;
  tcp::resolver resolver(io);
  std::string why;
  const auto target = parse_outbound_url(url, why);
  EXPECT_TRUE(target) << url << ": " << why;
  std::vector<tcp::endpoint> endpoints;
  asio::co_spawn(io, resolve_allowed(resolver, *target, policy, why),
                 [&](std::exception_ptr e, std::vector<tcp::endpoint> result) {
                   if (e) std::rethrow_exception(e);
                   endpoints = std::move(result);
                 });
  io.run();
  return {endpoints, why};
}

TEST(OutboundGuard, RefusesNamesAndNumbersThatReachThisMachineOrTheLan) {
  const OutboundPolicy policy;
  for (const char* url : {"http://127.0.0.1/", "http://localhost:9/", "http://2130706433/", "http://0x7f.1/",
                          "http://0177.0.0.1/", "http://[::1]/", "http://[::ffff:127.0.0.1]/",
                          "http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/", "http://0.0.0.0:8080/"}) {
    const auto [endpoints, why] = resolve(url, policy);
    EXPECT_TRUE(endpoints.empty()) << url;
    EXPECT_NE(why.find("may not reach"), std::string::npos) << url << ": " << why;
  }
  const auto [endpoints, why] = resolve("http://93.184.216.34:8080/", policy);
  ASSERT_EQ(endpoints.size(), 1U) << why;
  EXPECT_EQ(endpoints[0].port(), 8080);
}

TEST(OutboundGuard, AnOpenedRangeIsReachableAndTheEndpointsConnect) {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const auto port = acceptor.local_endpoint().port();
  OutboundPolicy policy;
  policy.allow.push_back(*Cidr::parse("127.0.0.0/8"));
  const auto [endpoints, why] = resolve("http://127.0.0.1:" + std::to_string(port) + "/cb", policy);
  ASSERT_EQ(endpoints.size(), 1U) << why;
  tcp::socket socket(io);
  error_code ec;
  socket.connect(endpoints[0], ec);  // the caller connects to exactly the vetted endpoints
  EXPECT_FALSE(ec) << ec.message();
}

}  // namespace
}  // namespace baton::http
