// The SSRF guard's URL readers (src/http/outbound_guard): a URL from a request, then a redirect's
// Location against it. Input: URL, a newline, Location.
#pragma once

#include "fuzz_check.hpp"

#include "http/outbound_guard.hpp"

namespace baton::fuzz {

inline void check_target(const http::OutboundTarget& target) {
  BATON_FUZZ_CHECK(!target.host.empty());
  BATON_FUZZ_CHECK(target.port != 0);
  BATON_FUZZ_CHECK(!target.target.empty() && target.target.front() == '/');
  BATON_FUZZ_CHECK(target.target.find('#') == std::string::npos);
  for (const char c : target.host + target.target) {
    BATON_FUZZ_CHECK(static_cast<unsigned char>(c) > 0x20 && c != 0x7f);  // nothing that splits a request line
  }
  BATON_FUZZ_CHECK(target.host.find('@') == std::string::npos);
}

inline int outbound_url(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t newline = input.find('\n');
  const std::string_view url = input.substr(0, newline);
  const std::string_view location = newline == std::string_view::npos ? std::string_view{} : input.substr(newline + 1);
  std::string why;
  const auto target = http::parse_outbound_url(url, why);
  BATON_FUZZ_CHECK(target.has_value() == why.empty());
  if (!target) return 0;
  check_target(*target);
  std::string redirect_why;
  const auto next = http::redirect_target(*target, location, redirect_why);
  BATON_FUZZ_CHECK(next.has_value() == redirect_why.empty());
  if (next) check_target(*next);
  if (const auto cidr = http::Cidr::parse(location)) {
    BATON_FUZZ_CHECK(cidr->prefix <= (cidr->network.is_v4() ? 32U : 128U));
  }
  return 0;
}

}  // namespace baton::fuzz
