#pragma once
// Budget periods in UTC: a day, an ISO week (Monday to Monday) or a calendar month.
#include <cstdint>
#include <string>

#include "store/records.hpp"

namespace baton::tenancy {

struct PeriodWindow {
  std::string id;  // "d2026-11-22" | "w2026-11-16" (the week's Monday) | "m2026-11"
  std::int64_t start_ms = 0;
  std::int64_t end_ms = 0;  // exclusive: the spend resets here
};

PeriodWindow period_at(store::BudgetPeriod period, std::int64_t unix_ms);

std::int64_t unix_now_ms();

}  // namespace baton::tenancy
