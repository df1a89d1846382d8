#include "store/records.hpp"

#include <array>
#include <utility>

namespace baton::store {
namespace {

// Enum value ↔ text, in one table each so the config, the admin API and the store columns agree.
constexpr std::array<std::pair<BudgetPeriod, std::string_view>, 3> kPeriods{{
    {BudgetPeriod::daily, "daily"},
    {BudgetPeriod::weekly, "weekly"},
    {BudgetPeriod::monthly, "monthly"},
}};

constexpr std::array<std::pair<FailMode, std::string_view>, 3> kFailModes{{
    {FailMode::inherit, "inherit"},
    {FailMode::open, "open"},
    {FailMode::closed, "closed"},
}};

template <typename Enum, std::size_t N>
std::string_view name_of(const std::array<std::pair<Enum, std::string_view>, N>& table, Enum value) {
  for (const auto& [candidate, name] : table) {
    if (candidate == value) return name;
  }
  return "unknown";  // only reachable through a cast of an out-of-range integer
}

template <typename Enum, std::size_t N>
std::optional<Enum> value_of(const std::array<std::pair<Enum, std::string_view>, N>& table, std::string_view text) {
  for (const auto& [value, name] : table) {
    if (name == text) return value;
  }
  return std::nullopt;
}

}  // namespace

std::string_view to_string(BudgetPeriod period) { return name_of(kPeriods, period); }
std::optional<BudgetPeriod> parse_budget_period(std::string_view text) { return value_of(kPeriods, text); }
std::string_view to_string(FailMode mode) { return name_of(kFailModes, mode); }
std::optional<FailMode> parse_fail_mode(std::string_view text) { return value_of(kFailModes, text); }

void UsageRecord::reset() {
  ts_ms = 0;
  request_id.clear();
  key_id.clear();
  team_id.clear();
  model.clear();
  deployment.clear();
  input_tokens = 0;
  cached_input_tokens = 0;
  output_tokens = 0;
  cost_usd = 0;
  latency_ms = 0;
  ttft_ms = 0;
  status = 0;
  attempts = 0;
  guard_action.clear();
}

}  // namespace baton::store
