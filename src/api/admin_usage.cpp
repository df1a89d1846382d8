// GET /admin/usage: usage totals from the store, grouped and filtered by query parameters:
//   from=YYYY-MM-DD (inclusive, UTC; default: 30 days ago)  to=YYYY-MM-DD (inclusive; default: today)
//   group_by=key,team,model,day (any combination; default: none = one total row)
//   key=…  team=…  model=…  (filters)   format=json (default) | csv
#include <boost/json.hpp>

#include <cctype>
#include <chrono>
#include <cstdio>

#include <fmt/format.h>

#include "api/handlers.hpp"
#include "server/app.hpp"
#include "server/worker.hpp"
#include "tenancy/governance.hpp"
#include "tenancy/periods.hpp"
#include "tenancy/records_json.hpp"

namespace baton::api {

namespace {

namespace json = boost::json;
constexpr std::int64_t kDayMs = 86'400'000;

// "2026-11-22" → Unix ms at 00:00 UTC; -1 when malformed.
std::int64_t parse_day(std::string_view text) {
  int y = 0;
  unsigned m = 0, d = 0;
  if (text.size() != 10 || std::sscanf(std::string(text).c_str(), "%4d-%2u-%2u", &y, &m, &d) != 3) return -1;
  const std::chrono::year_month_day ymd{std::chrono::year(y), std::chrono::month(m), std::chrono::day(d)};
  if (!ymd.ok()) return -1;
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::sys_days(ymd).time_since_epoch()).count();
}

std::string csv_field(std::string_view text) {
  if (text.find_first_of(",\"\n\r") == std::string_view::npos) return std::string(text);
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string to_csv(const store::UsageQuery& q, const std::vector<store::UsageRow>& rows) {
  std::string out;
  if (q.by_day) out += "day,";
  if (q.by_key) out += "key,";
  if (q.by_team) out += "team,";
  if (q.by_model) out += "model,";
  out += "requests,input_tokens,cached_input_tokens,output_tokens,cost_usd,errors\r\n";
  for (const store::UsageRow& r : rows) {
    if (q.by_day) out += r.day + ",";
    if (q.by_key) out += csv_field(r.key_id) + ",";
    if (q.by_team) out += csv_field(r.team_id) + ",";
    if (q.by_model) out += csv_field(r.model) + ",";
    out += fmt::format("{},{},{},{},{:.9f},{}\r\n", r.requests, r.input_tokens, r.cached_input_tokens, r.output_tokens,
                       r.cost_usd, r.errors);
  }
  return out;
}

struct QueryParam {
  std::string key, value;
};

// "a=1&b=x%2Cy" → [{a,1},{b,"x,y"}] with percent and '+' decoding; false when an escape is malformed.
bool split_query(std::string_view query, std::vector<QueryParam>& out) {
  auto decode = [](std::string_view in, std::string& text) {
    for (std::size_t i = 0; i < in.size(); ++i) {
      if (in[i] == '+') {
        text += ' ';
      } else if (in[i] == '%') {
        if (i + 2 >= in.size() || !std::isxdigit(static_cast<unsigned char>(in[i + 1])) ||
            !std::isxdigit(static_cast<unsigned char>(in[i + 2]))) {
          return false;
        }
        text += static_cast<char>(std::stoi(std::string(in.substr(i + 1, 2)), nullptr, 16));
        i += 2;
      } else {
        text += in[i];
      }
    }
    return true;
  };
  while (!query.empty()) {
    const std::string_view pair = query.substr(0, query.find('&'));
    query.remove_prefix(std::min(query.size(), pair.size() + 1));
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    QueryParam param;
    if (!decode(pair.substr(0, eq), param.key)) return false;
    if (eq != std::string_view::npos && !decode(pair.substr(eq + 1), param.value)) return false;
    out.push_back(std::move(param));
  }
  return true;
}

// Fills `q` from the query string; returns an error message naming the parameter, or empty.
std::string read_query(std::string_view target, store::UsageQuery& q, bool& csv) {
  const std::int64_t today = tenancy::unix_now_ms() / kDayMs * kDayMs;
  q.from_ms = today - 30 * kDayMs;
  q.to_ms = today + kDayMs;
  csv = false;
  const auto question = target.find('?');
  if (question == std::string_view::npos) return {};
  std::vector<QueryParam> params;
  if (!split_query(target.substr(question + 1), params)) return "the query string is malformed";
  for (const QueryParam& param : params) {
    const std::string& value = param.value;
    if (param.key == "from" || param.key == "to") {
      const std::int64_t day = parse_day(value);
      if (day < 0) return param.key + " must be a date YYYY-MM-DD, got '" + value + "'";
      (param.key == "from" ? q.from_ms : q.to_ms) = param.key == "from" ? day : day + kDayMs;
    } else if (param.key == "group_by") {
      std::string_view rest = value;
      while (!rest.empty()) {
        const std::string_view field = rest.substr(0, rest.find(','));
        rest.remove_prefix(std::min(rest.size(), field.size() + 1));
        if (field == "key") q.by_key = true;
        else if (field == "team") q.by_team = true;
        else if (field == "model") q.by_model = true;
        else if (field == "day") q.by_day = true;
        else return "group_by takes key, team, model and day, got '" + std::string(field) + "'";
      }
    } else if (param.key == "key") {
      q.key_id = value;
    } else if (param.key == "team") {
      q.team_id = value;
    } else if (param.key == "model") {
      q.model = value;
    } else if (param.key == "format") {
      if (value != "csv" && value != "json") return "format must be json or csv";
      csv = value == "csv";
    } else {
      return "unknown query parameter '" + param.key + "'";
    }
  }
  if (q.to_ms <= q.from_ms) return "to must not be before from";
  return {};
}

}  // namespace

awaitable<void> admin::usage(RequestContext& ctx) {
  if (!co_await admin_authorized(ctx)) co_return;
  store::UsageQuery query;
  bool csv = false;
  if (std::string error = read_query(ctx.request.target(), query, csv); !error.empty()) {
    const Error bad{ErrorCode::invalid_field, error, {}};
    co_await write_error(ctx, bad);
    co_return;
  }
  const std::function<std::vector<store::UsageRow>(store::Store&)> aggregate = [query](store::Store& s) {
    return s.query_usage(query);
  };
  tenancy::StoreOutcome<std::vector<store::UsageRow>> rows =
      co_await ctx.worker.app().governance().on_store<std::vector<store::UsageRow>>(aggregate);
  if (!rows.error.empty()) {
    const Error down{ErrorCode::store_unavailable, "the store could not answer: " + rows.error, {}};
    co_await write_error(ctx, down);
    co_return;
  }
  if (csv) {
    const std::string body = to_csv(query, rows.value);
    co_await write_response(ctx, 200, "text/csv; charset=utf-8", body,
                            "content-disposition: attachment; filename=\"baton-usage.csv\"\r\n");
    co_return;
  }
  json::array data;
  for (const store::UsageRow& row : rows.value) data.emplace_back(tenancy::usage_row_to_json(row));
  json::array group_by;
  if (query.by_key) group_by.emplace_back("key");
  if (query.by_team) group_by.emplace_back("team");
  if (query.by_model) group_by.emplace_back("model");
  if (query.by_day) group_by.emplace_back("day");
  const json::value out = json::object{{"object", "list"},
                                       {"from", query.from_ms / 1000},
                                       {"to", query.to_ms / 1000},
                                       {"group_by", std::move(group_by)},
                                       {"data", std::move(data)}};
  const std::string body = json::serialize(out);
  co_await write_response(ctx, 200, "application/json", body);
}

}  // namespace baton::api
