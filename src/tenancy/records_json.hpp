#pragma once
// The JSON shape of keys, teams and usage rows, shared by the admin API and `baton keys`, and the
// parser for the fields a client may set on a key or team (models, rpm, tpm, max_parallel,
// budget, fail_mode, guard, metadata, expires_at / expires_in).
#include <boost/json.hpp>
#include <string>

#include "store/records.hpp"

namespace baton::tenancy {

boost::json::object key_to_json(const store::KeyRecord& key);
boost::json::object team_to_json(const store::TeamRecord& team);
boost::json::object usage_row_to_json(const store::UsageRow& row);

// Reads the limit fields present in `body` into `limits` (absent fields keep their value).
// Returns an error message naming the field, empty when fine.
std::string read_limits(const boost::json::object& body, store::Limits& limits);

// Reads `name`, `metadata`, `team` (keys) and `expires_at` (Unix seconds) / `expires_in` (seconds,
// or "30d", "12h", "15m") into `key`. `now_ms` anchors expires_in.
std::string read_key_fields(const boost::json::object& body, store::KeyRecord& key, std::int64_t now_ms);
std::string read_team_fields(const boost::json::object& body, store::TeamRecord& team);

// "30d" / "12h" / "15m" / "90s" / "3600" → milliseconds; -1 when malformed.
std::int64_t parse_duration_ms(std::string_view text);

}  // namespace baton::tenancy
