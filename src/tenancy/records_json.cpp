#include "tenancy/records_json.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>

#include "tenancy/keys.hpp"

namespace baton::tenancy {

namespace json = boost::json;

namespace {

json::value limits_budget(const store::Limits& l) {
  if (l.budget <= 0) return nullptr;
  return json::object{{"amount", l.budget}, {"currency", l.budget_currency}, {"period", to_string(l.budget_period)}};
}

json::value parsed_or_null(const std::string& text) {
  if (text.empty()) return nullptr;
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  return ec ? json::value(nullptr) : v;
}

void put_limits(json::object& out, const store::Limits& l) {
  json::array models;
  for (const std::string& m : l.allowed_models) models.emplace_back(m);
  out["models"] = std::move(models);
  out["rpm"] = l.rpm;
  out["tpm"] = l.tpm;
  out["max_parallel"] = l.max_parallel;
  out["budget"] = limits_budget(l);
  out["fail_mode"] = to_string(l.fail_mode);
  out["guard"] = parsed_or_null(l.guard_json);
}

json::value seconds_or_null(std::int64_t ms) {
  if (ms == 0) return nullptr;
  return ms / 1000;
}

// A non-negative integer field that fits 32 bits.
std::string read_count(const json::object& body, std::string_view name, std::uint32_t& out) {
  const json::value* v = body.if_contains(name);
  if (v == nullptr || v->is_null()) return {};
  std::int64_t n = -1;
  if (v->is_int64()) n = v->as_int64();
  if (v->is_uint64()) n = static_cast<std::int64_t>(std::min<std::uint64_t>(v->as_uint64(), INT64_MAX));
  if (n < 0 || n > 4'000'000'000LL) return std::string(name) + " must be a non-negative integer (0 = no limit)";
  out = static_cast<std::uint32_t>(n);
  return {};
}

std::string read_metadata(const json::object& body, std::string& out) {
  const json::value* v = body.if_contains("metadata");
  if (v == nullptr || v->is_null()) return {};
  if (!v->is_object()) return "metadata must be an object";
  out = json::serialize(*v);
  return {};
}

}  // namespace

std::int64_t parse_duration_ms(std::string_view text) {
  if (text.empty()) return -1;
  std::int64_t unit = 1000;
  switch (text.back()) {
    case 'd': unit = 86'400'000; break;
    case 'h': unit = 3'600'000; break;
    case 'm': unit = 60'000; break;
    case 's': unit = 1000; break;
    default: unit = 0; break;
  }
  if (unit != 0) text.remove_suffix(1);
  if (unit == 0) unit = 1000;
  std::int64_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc{} || end != text.data() + text.size() || n <= 0 || n > 100LL * 365 * 86'400) return -1;
  return n * unit;
}

json::object key_to_json(const store::KeyRecord& key) {
  json::object out;
  out["id"] = key.id;
  out["object"] = "key";
  out["name"] = key.name;
  out["team"] = key.team_id.empty() ? json::value(nullptr) : json::value(key.team_id);
  out["preview"] = key.preview;
  put_limits(out, key.limits);
  out["metadata"] = parsed_or_null(key.metadata_json);
  out["created_at"] = key.created_at_ms / 1000;
  out["expires_at"] = seconds_or_null(key.expires_at_ms);
  out["revoked"] = key.revoked_at_ms != 0;
  out["revoked_at"] = seconds_or_null(key.revoked_at_ms);
  return out;
}

json::object team_to_json(const store::TeamRecord& team) {
  json::object out;
  out["id"] = team.id;
  out["object"] = "team";
  out["name"] = team.name;
  put_limits(out, team.limits);
  out["metadata"] = parsed_or_null(team.metadata_json);
  out["created_at"] = team.created_at_ms / 1000;
  return out;
}

json::object usage_row_to_json(const store::UsageRow& row) {
  json::object out;
  if (!row.key_id.empty()) out["key"] = row.key_id;
  if (!row.team_id.empty()) out["team"] = row.team_id;
  if (!row.model.empty()) out["model"] = row.model;
  if (!row.day.empty()) out["day"] = row.day;
  out["requests"] = row.requests;
  out["input_tokens"] = row.input_tokens;
  out["cached_input_tokens"] = row.cached_input_tokens;
  out["output_tokens"] = row.output_tokens;
  out["cost_usd"] = std::round(row.cost_usd * 1e9) / 1e9;
  out["errors"] = row.errors;
  return out;
}

std::string read_limits(const json::object& body, store::Limits& limits) {
  if (const json::value* v = body.if_contains("models"); v != nullptr && !v->is_null()) {
    if (!v->is_array()) return "models must be a list of model names";
    limits.allowed_models.clear();
    for (const json::value& m : v->as_array()) {
      if (!m.is_string()) return "models must be a list of model names";
      limits.allowed_models.emplace_back(m.as_string());
    }
  }
  for (auto [name, field] : {std::pair{"rpm", &limits.rpm}, std::pair{"tpm", &limits.tpm},
                             std::pair{"max_parallel", &limits.max_parallel}}) {
    if (std::string error = read_count(body, name, *field); !error.empty()) return error;
  }
  if (const json::value* v = body.if_contains("budget"); v != nullptr) {
    if (v->is_null()) {
      limits.budget = 0;
    } else if (!v->is_object()) {
      return "budget must be {\"amount\": 100, \"currency\": \"USD\"|\"KRW\", \"period\": \"daily\"|\"weekly\"|\"monthly\"}";
    } else {
      const json::object& b = v->as_object();
      for (const auto& [name, _] : b) {
        if (name != "amount" && name != "currency" && name != "period") return "budget." + std::string(name) + ": unknown field";
      }
      const json::value* amount = b.if_contains("amount");
      if (amount == nullptr || !amount->is_number() || amount->to_number<double>() < 0) {
        return "budget.amount must be a non-negative number";
      }
      limits.budget = amount->to_number<double>();
      if (const json::value* c = b.if_contains("currency"); c != nullptr) {
        if (!c->is_string() || (c->as_string() != "USD" && c->as_string() != "KRW")) return "budget.currency must be USD or KRW";
        limits.budget_currency = std::string(c->as_string());
      }
      if (const json::value* p = b.if_contains("period"); p != nullptr) {
        const auto period = p->is_string() ? store::parse_budget_period(p->as_string()) : std::nullopt;
        if (!period) return "budget.period must be daily, weekly or monthly";
        limits.budget_period = *period;
      }
    }
  }
  if (const json::value* v = body.if_contains("fail_mode"); v != nullptr && !v->is_null()) {
    const auto mode = v->is_string() ? store::parse_fail_mode(v->as_string()) : std::nullopt;
    if (!mode) return "fail_mode must be open, closed or inherit";
    limits.fail_mode = *mode;
  }
  if (const json::value* v = body.if_contains("guard"); v != nullptr) {
    if (v->is_null()) {
      limits.guard_json.clear();
    } else {
      const std::string text = json::serialize(*v);
      config::PiiPolicyConfig policy;
      if (std::string error = parse_guard_override(text, policy); !error.empty()) return error;
      limits.guard_json = text;
    }
  }
  return {};
}

std::string read_key_fields(const json::object& body, store::KeyRecord& key, std::int64_t now_ms) {
  static constexpr std::string_view kKnown[] = {"name", "team", "models", "rpm", "tpm", "max_parallel", "budget",
                                                "fail_mode", "guard", "metadata", "expires_at", "expires_in"};
  for (const auto& [name, _] : body) {
    if (std::find(std::begin(kKnown), std::end(kKnown), name) == std::end(kKnown)) return std::string(name) + ": unknown field";
  }
  if (const json::value* v = body.if_contains("name"); v != nullptr && !v->is_null()) {
    if (!v->is_string()) return "name must be a string";
    key.name = std::string(v->as_string());
  }
  if (const json::value* v = body.if_contains("team"); v != nullptr && !v->is_null()) {
    if (!v->is_string()) return "team must be a team id";
    key.team_id = std::string(v->as_string());
  }
  if (const json::value* v = body.if_contains("expires_at"); v != nullptr && !v->is_null()) {
    constexpr std::int64_t kYear9999 = 253'402'300'799;  // keeps the milliseconds below in range
    if (!v->is_int64() || v->as_int64() <= 0 || v->as_int64() > kYear9999) {
      return "expires_at must be a Unix time in seconds";
    }
    key.expires_at_ms = v->as_int64() * 1000;
  }
  if (const json::value* v = body.if_contains("expires_in"); v != nullptr && !v->is_null()) {
    std::int64_t duration = -1;
    constexpr std::int64_t kMaxSeconds = 100LL * 365 * 86'400;  // as parse_duration_ms
    if (v->is_int64() && v->as_int64() > 0 && v->as_int64() <= kMaxSeconds) duration = v->as_int64() * 1000;
    if (v->is_string()) duration = parse_duration_ms(v->as_string());
    if (duration <= 0) return "expires_in must be seconds or a duration like \"30d\", \"12h\", \"15m\"";
    key.expires_at_ms = now_ms + duration;
  }
  if (std::string error = read_metadata(body, key.metadata_json); !error.empty()) return error;
  return read_limits(body, key.limits);
}

std::string read_team_fields(const json::object& body, store::TeamRecord& team) {
  static constexpr std::string_view kKnown[] = {"id", "name", "models", "rpm", "tpm", "max_parallel",
                                                "budget", "fail_mode", "guard", "metadata"};
  for (const auto& [name, _] : body) {
    if (std::find(std::begin(kKnown), std::end(kKnown), name) == std::end(kKnown)) return std::string(name) + ": unknown field";
  }
  if (const json::value* v = body.if_contains("id"); v != nullptr && !v->is_null()) {
    // Ids appear in URL paths (/admin/teams/{id}) and Redis keys: keep them to URL-safe characters.
    const bool valid = v->is_string() && !v->as_string().empty() && v->as_string().size() <= 128 &&
                       std::all_of(v->as_string().begin(), v->as_string().end(), [](char c) {
                         return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
                       });
    if (!valid) return "id must be 1-128 characters of A-Z a-z 0-9 - _ .";
    team.id = std::string(v->as_string());
  }
  if (const json::value* v = body.if_contains("name"); v != nullptr && !v->is_null()) {
    if (!v->is_string()) return "name must be a string";
    team.name = std::string(v->as_string());
  }
  if (std::string error = read_metadata(body, team.metadata_json); !error.empty()) return error;
  return read_limits(body, team.limits);
}

}  // namespace baton::tenancy
