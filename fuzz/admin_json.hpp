// Bodies of the admin API's key/team writes and guard overrides: a field is read or named in an
// error message, never a crash.
#pragma once

#include "fuzz_check.hpp"

#include <boost/json/parse.hpp>

#include "tenancy/keys.hpp"
#include "tenancy/records_json.hpp"

namespace baton::fuzz {

inline int admin_json(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  config::PiiPolicyConfig pii;
  tenancy::parse_guard_override(text, pii);

  boost::system::error_code ec;
  const boost::json::value value = boost::json::parse(text, ec);
  if (ec || !value.is_object()) return 0;
  const boost::json::object& body = value.as_object();
  store::KeyRecord key;
  tenancy::read_key_fields(body, key, 1'750'000'000'000);
  tenancy::read_limits(body, key.limits);
  store::TeamRecord team;
  tenancy::read_team_fields(body, team);
  tenancy::read_limits(body, team.limits);
  return 0;
}

}  // namespace baton::fuzz
