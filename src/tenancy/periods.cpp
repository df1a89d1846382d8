#include "tenancy/periods.hpp"

#include <fmt/format.h>

#include <chrono>

namespace baton::tenancy {

namespace {
namespace chr = std::chrono;

std::int64_t to_ms(chr::sys_days day) { return chr::duration_cast<chr::milliseconds>(day.time_since_epoch()).count(); }

std::string date_text(chr::year_month_day d) {
  return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(d.year()), static_cast<unsigned>(d.month()),
                     static_cast<unsigned>(d.day()));
}
}  // namespace

PeriodWindow period_at(store::BudgetPeriod period, std::int64_t unix_ms) {
  const chr::sys_days today = chr::floor<chr::days>(chr::sys_time<chr::milliseconds>(chr::milliseconds(unix_ms)));
  PeriodWindow w;
  switch (period) {
    case store::BudgetPeriod::daily:
      w.id = "d" + date_text(chr::year_month_day(today));
      w.start_ms = to_ms(today);
      w.end_ms = to_ms(today + chr::days(1));
      break;
    case store::BudgetPeriod::weekly: {
      const chr::sys_days monday = today - (chr::weekday(today) - chr::Monday);
      w.id = "w" + date_text(chr::year_month_day(monday));
      w.start_ms = to_ms(monday);
      w.end_ms = to_ms(monday + chr::days(7));
      break;
    }
    case store::BudgetPeriod::monthly: {
      const chr::year_month_day ymd(today);
      const chr::year_month first = ymd.year() / ymd.month();
      const chr::year_month next = first + chr::months(1);
      w.id = fmt::format("m{:04}-{:02}", static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()));
      w.start_ms = to_ms(chr::sys_days(first / 1));
      w.end_ms = to_ms(chr::sys_days(next / 1));
      break;
    }
  }
  return w;
}

std::int64_t unix_now_ms() {
  return chr::duration_cast<chr::milliseconds>(chr::system_clock::now().time_since_epoch()).count();
}

}  // namespace baton::tenancy
