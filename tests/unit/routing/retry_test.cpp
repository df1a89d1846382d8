#include "routing/retry.hpp"

#include <gtest/gtest.h>

#include <set>

namespace baton::routing {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;
using std::chrono::system_clock;

TEST(Retry, StatusClassification) {
  for (unsigned status : {408U, 429U, 500U, 502U, 503U, 504U, 599U}) EXPECT_TRUE(retryable_status(status)) << status;
  for (unsigned status : {200U, 301U, 400U, 401U, 403U, 404U, 409U, 413U, 422U, 600U}) {
    EXPECT_FALSE(retryable_status(status)) << status;
  }
}

TEST(Retry, ShouldRetryStopsAtMaxAttempts) {
  const RetryPolicy policy;  // 3 attempts
  EXPECT_TRUE(should_retry(policy, 1, 503));
  EXPECT_TRUE(should_retry(policy, 2, 429));
  EXPECT_FALSE(should_retry(policy, 3, 503));
  EXPECT_FALSE(should_retry(policy, 1, 400));
}

TEST(Retry, BackoffGrowsExponentiallyWithinJitterBounds) {
  const RetryPolicy policy;  // 100 ms base, 2 s cap
  std::uint64_t seed = 12345;
  for (unsigned attempt = 1; attempt <= 8; ++attempt) {
    const std::int64_t ceiling = std::min<std::int64_t>(100LL << (attempt - 1), 2000);
    // The extremes of the random value land exactly on the bounds.
    EXPECT_EQ(backoff(policy, attempt, 0, std::nullopt).count(), ceiling / 2);
    EXPECT_EQ(backoff(policy, attempt, static_cast<std::uint64_t>(ceiling - ceiling / 2), std::nullopt).count(),
              ceiling);
    std::set<std::int64_t> seen;
    for (int i = 0; i < 1000; ++i) {
      seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
      const milliseconds wait = backoff(policy, attempt, seed, std::nullopt);
      EXPECT_GE(wait.count(), ceiling / 2);
      EXPECT_LE(wait.count(), ceiling);
      seen.insert(wait.count());
    }
    EXPECT_GT(seen.size(), static_cast<std::size_t>(std::min<std::int64_t>(ceiling / 4, 100))) << "jitter spreads";
  }
}

TEST(Retry, BackoffNeverOverflows) {
  const RetryPolicy policy;
  for (unsigned attempt : {0U, 1U, 40U, 63U, 64U, 1000U, ~0U}) {
    const milliseconds wait = backoff(policy, attempt, ~0ULL, std::nullopt);
    EXPECT_GE(wait.count(), 0);
    EXPECT_LE(wait, policy.max_backoff);
  }
  EXPECT_EQ(backoff(policy, 0, 0, std::nullopt), 50ms);  // attempt 0 reads as 1
}

TEST(Retry, RetryAfterWinsButIsCapped) {
  const RetryPolicy policy;
  EXPECT_EQ(backoff(policy, 1, 999, 500ms), 500ms);
  EXPECT_EQ(backoff(policy, 3, 999, 0ms), 0ms);
  EXPECT_EQ(backoff(policy, 1, 999, 10s), policy.max_backoff);
  EXPECT_EQ(backoff(policy, 1, 999, -5ms), 0ms);
}

// 2024-03-01 12:00:00 UTC, a Friday, plus a fraction of a second to exercise rounding.
const system_clock::time_point kNow =
    std::chrono::sys_days(std::chrono::year(2024) / 3 / 1) + 12h + std::chrono::microseconds(250'000);

TEST(Retry, ParsesDeltaSeconds) {
  EXPECT_EQ(parse_retry_after("120", kNow), 120s);
  EXPECT_EQ(parse_retry_after("0", kNow), 0ms);
  EXPECT_EQ(parse_retry_after(" \t7 ", kNow), 7s);
  EXPECT_EQ(parse_retry_after("99999999999999999999999", kNow), std::chrono::seconds(0x7fffffff));
}

TEST(Retry, ParsesAllThreeHttpDateForms) {
  EXPECT_EQ(parse_retry_after("Fri, 01 Mar 2024 12:00:30 GMT", kNow), 29'750ms);
  EXPECT_EQ(parse_retry_after("Friday, 01-Mar-24 12:00:30 GMT", kNow), 29'750ms);
  EXPECT_EQ(parse_retry_after("Fri Mar  1 12:00:30 2024", kNow), 29'750ms);
  EXPECT_EQ(parse_retry_after("Sat, 02 Mar 2024 12:00:00 GMT", kNow), 86'399'750ms);
}

TEST(Retry, PastDateMeansNoWait) {
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", kNow), 0ms);
  EXPECT_EQ(parse_retry_after("Fri, 01 Mar 2024 12:00:00 GMT", kNow), 0ms);
  // A two-digit year that would be > 50 years ahead is the last such year in the past (1994).
  EXPECT_EQ(parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", kNow), 0ms);
}

TEST(Retry, RejectsGarbage) {
  for (const char* bad : {"", " ", "-5", "+5", "1.5", "5s", "5 5", "0x10", "soon", "Fri, 01 Mar 2024 12:00:30",
                          "Fri, 01 Mar 2024 12:00:30 UTC", "Fri, 31 Feb 2024 12:00:30 GMT",
                          "Fri, 01 Mar 2024 24:00:00 GMT", "Fri, 01 Mar 2024 12:60:00 GMT", "Fri, 1 Mar 2024 12:00:30 GMT",
                          "Fry, 01 Mar 2024 12:00:30 GMT", "Fri, 01 Mar 2024 12:00:30 GMT junk",
                          "Fri, 01 Foo 2024 12:00:30 GMT", "Fri Mar 1 12:00:30 2024", "Friday, 01-Mar-2024 12:00:30 GMT"}) {
    EXPECT_FALSE(parse_retry_after(bad, kNow).has_value()) << '"' << bad << '"';
  }
}

}  // namespace
}  // namespace baton::routing
