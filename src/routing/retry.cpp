#include "routing/retry.hpp"

#include <algorithm>
#include <array>

#include "core/ascii.hpp"

namespace baton::routing {

bool retryable_status(unsigned http_status) {
  return http_status == 408 || http_status == 429 || (http_status >= 500 && http_status <= 599);
}

bool should_retry(const RetryPolicy& policy, unsigned attempts_made, unsigned http_status) {
  return attempts_made < policy.max_attempts && retryable_status(http_status);
}

std::chrono::milliseconds backoff(const RetryPolicy& policy, unsigned attempt, std::uint64_t random,
                                  std::optional<std::chrono::milliseconds> retry_after) {
  using std::chrono::milliseconds;
  const milliseconds cap = std::max(policy.max_backoff, milliseconds(0));
  if (retry_after) return std::clamp(*retry_after, milliseconds(0), cap);
  const std::int64_t base = std::max<std::int64_t>(policy.base_backoff.count(), 0);
  // base · 2^(attempt-1), saturating at the cap before the shift could overflow.
  const unsigned doublings = attempt > 0 ? attempt - 1 : 0;
  std::int64_t ceiling = cap.count();
  if (doublings < 62 && base <= (cap.count() >> doublings)) ceiling = base << doublings;
  const std::int64_t fixed = ceiling / 2;
  const auto spread = static_cast<std::uint64_t>(ceiling - fixed);
  return milliseconds(fixed + static_cast<std::int64_t>(random % (spread + 1)));
}

namespace {

using std::chrono::milliseconds;
using std::chrono::system_clock;

constexpr std::int64_t kMaxDelaySeconds = 0x7fffffff;  // RFC 9111's saturation value for delta-seconds

constexpr std::array<std::string_view, 7> kDays{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
constexpr std::array<std::string_view, 7> kLongDays{"Monday", "Tuesday", "Wednesday", "Thursday",
                                                    "Friday", "Saturday", "Sunday"};
constexpr std::array<std::string_view, 12> kMonths{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// A forward-only reader over the header value; every step either consumes exactly what the grammar
// asks for or fails, so a partial match can never be mistaken for a date.
class Reader {
 public:
  explicit Reader(std::string_view s) : s_(s) {}

  bool literal(std::string_view text) {
    if (!s_.starts_with(text)) return false;
    s_.remove_prefix(text.size());
    return true;
  }
  bool digits(std::size_t count, int& out) {
    if (s_.size() < count) return false;
    out = 0;
    for (std::size_t i = 0; i < count; ++i) {
      if (s_[i] < '0' || s_[i] > '9') return false;
      out = out * 10 + (s_[i] - '0');
    }
    s_.remove_prefix(count);
    return true;
  }
  template <std::size_t N>
  bool one_of(const std::array<std::string_view, N>& names, int& index) {
    for (std::size_t i = 0; i < N; ++i) {
      if (literal(names[i])) {
        index = static_cast<int>(i);
        return true;
      }
    }
    return false;
  }
  bool done() const { return s_.empty(); }
  bool next_is(char c) const { return !s_.empty() && s_.front() == c; }

 private:
  std::string_view s_;
};

struct DateParts {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
};

bool time_of_day(Reader& r, DateParts& d) {
  return r.digits(2, d.hour) && r.literal(":") && r.digits(2, d.minute) && r.literal(":") && r.digits(2, d.second);
}

// "Sun, 06 Nov 1994 08:49:37 GMT"
bool imf_fixdate(Reader r, DateParts& d) {
  int ignored = 0;
  return r.one_of(kDays, ignored) && r.literal(", ") && r.digits(2, d.day) && r.literal(" ") &&
         r.one_of(kMonths, d.month) && r.literal(" ") && r.digits(4, d.year) && r.literal(" ") && time_of_day(r, d) &&
         r.literal(" GMT") && r.done();
}

// "Sunday, 06-Nov-94 08:49:37 GMT"; the century is resolved by the caller.
bool rfc850_date(Reader r, DateParts& d) {
  int ignored = 0;
  return r.one_of(kLongDays, ignored) && r.literal(", ") && r.digits(2, d.day) && r.literal("-") &&
         r.one_of(kMonths, d.month) && r.literal("-") && r.digits(2, d.year) && r.literal(" ") && time_of_day(r, d) &&
         r.literal(" GMT") && r.done();
}

// "Sun Nov  6 08:49:37 1994"
bool asctime_date(Reader r, DateParts& d) {
  int ignored = 0;
  if (!(r.one_of(kDays, ignored) && r.literal(" ") && r.one_of(kMonths, d.month) && r.literal(" "))) return false;
  const bool day_ok = r.next_is(' ') ? r.literal(" ") && r.digits(1, d.day) : r.digits(2, d.day);
  return day_ok && r.literal(" ") && time_of_day(r, d) && r.literal(" ") && r.digits(4, d.year) && r.done();
}

std::optional<system_clock::time_point> http_date(std::string_view s, system_clock::time_point now) {
  namespace chr = std::chrono;
  DateParts d;
  if (rfc850_date(Reader(s), d)) {
    // RFC 9110 §5.6.7: a two-digit year more than 50 years ahead is the latest such year in the past.
    const int this_year = static_cast<int>(chr::year_month_day(chr::floor<chr::days>(now)).year());
    d.year += this_year - this_year % 100;
    if (d.year > this_year + 50) d.year -= 100;
  } else if (!imf_fixdate(Reader(s), d) && !asctime_date(Reader(s), d)) {
    return std::nullopt;
  }
  // Months were read as 0-based indexes into kMonths.
  const chr::year_month_day date{chr::year(d.year), chr::month(static_cast<unsigned>(d.month + 1)),
                                 chr::day(static_cast<unsigned>(d.day))};
  if (!date.ok() || d.hour > 23 || d.minute > 59 || d.second > 60) return std::nullopt;  // 60: leap second
  return chr::sys_days(date) + chr::hours(d.hour) + chr::minutes(d.minute) + chr::seconds(d.second);
}

std::optional<std::int64_t> delta_seconds(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::int64_t value = 0;
  for (const char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    value = std::min(value * 10 + (c - '0'), kMaxDelaySeconds);  // saturate; never overflows int64
  }
  return value;
}

}  // namespace

std::optional<milliseconds> parse_retry_after(std::string_view header, system_clock::time_point now) {
  header = trim_ows(header);
  if (const std::optional<std::int64_t> seconds = delta_seconds(header)) {
    return std::chrono::duration_cast<milliseconds>(std::chrono::seconds(*seconds));
  }
  const std::optional<system_clock::time_point> at = http_date(header, now);
  if (!at) return std::nullopt;
  if (*at <= now) return milliseconds(0);
  return std::chrono::ceil<milliseconds>(*at - now);
}

}  // namespace baton::routing
