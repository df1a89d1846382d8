#include "routing/health.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <thread>
#include <vector>

namespace baton::routing {
namespace {

using namespace std::chrono_literals;
using State = CircuitBreaker::State;

// An arbitrary, deterministic starting point: tests never read the real clock.
const Clock::time_point t0 = Clock::time_point(1000h);

BreakerConfig streak_config(std::uint32_t failures) {
  BreakerConfig config;
  config.consecutive_failures = failures;
  config.cooldown_ms = 30'000;
  return config;
}

TEST(Breaker, OpensAfterConsecutiveFailures) {
  CircuitBreaker breaker(streak_config(3));
  breaker.on_failure(t0);
  breaker.on_failure(t0);
  breaker.on_success(t0);  // a success breaks the streak
  breaker.on_failure(t0);
  breaker.on_failure(t0);
  EXPECT_EQ(breaker.state(t0), State::closed);
  EXPECT_TRUE(breaker.try_acquire(t0));
  breaker.on_failure(t0);
  EXPECT_EQ(breaker.state(t0), State::open);
  EXPECT_FALSE(breaker.try_acquire(t0));
}

TEST(Breaker, RejectsDuringCooldownThenAdmitsExactlyOneProbe) {
  CircuitBreaker breaker(streak_config(1));
  breaker.on_failure(t0);
  EXPECT_FALSE(breaker.try_acquire(t0 + 29'999ms));
  EXPECT_EQ(breaker.state(t0 + 29'999ms), State::open);
  EXPECT_EQ(breaker.state(t0 + 30s), State::half_open);
  EXPECT_TRUE(breaker.try_acquire(t0 + 30s));
  EXPECT_FALSE(breaker.try_acquire(t0 + 30s));
  EXPECT_FALSE(breaker.try_acquire(t0 + 31s));
  EXPECT_EQ(breaker.state(t0 + 31s), State::half_open);
}

TEST(Breaker, ProbeSuccessCloses) {
  CircuitBreaker breaker(streak_config(2));
  breaker.on_failure(t0);
  breaker.on_failure(t0);
  ASSERT_TRUE(breaker.try_acquire(t0 + 30s));
  breaker.on_success(t0 + 31s);
  EXPECT_EQ(breaker.state(t0 + 31s), State::closed);
  EXPECT_TRUE(breaker.try_acquire(t0 + 31s));
  EXPECT_TRUE(breaker.try_acquire(t0 + 31s));
  // The streak starts over from zero after closing.
  breaker.on_failure(t0 + 32s);
  EXPECT_EQ(breaker.state(t0 + 32s), State::closed);
}

TEST(Breaker, ProbeFailureReopensWithNewCooldown) {
  CircuitBreaker breaker(streak_config(1));
  breaker.on_failure(t0);
  ASSERT_TRUE(breaker.try_acquire(t0 + 30s));
  const Clock::time_point failed_at = t0 + 35s;
  breaker.on_failure(failed_at);
  EXPECT_EQ(breaker.state(failed_at), State::open);
  EXPECT_FALSE(breaker.try_acquire(failed_at + 29s));
  EXPECT_TRUE(breaker.try_acquire(failed_at + 30s));
}

TEST(Breaker, LateResultsWhileCoolingDownChangeNothing) {
  CircuitBreaker breaker(streak_config(1));
  breaker.on_failure(t0);
  breaker.on_failure(t0 + 20s);  // from a request admitted before the breaker opened
  breaker.on_success(t0 + 21s);  // likewise: must not close it before a probe has run
  EXPECT_EQ(breaker.state(t0 + 21s), State::open);
  EXPECT_TRUE(breaker.try_acquire(t0 + 30s));  // the cooldown still ends 30 s after the first failure
}

TEST(Breaker, ReleasedProbeCanBeTakenAgain) {
  CircuitBreaker breaker(streak_config(1));
  breaker.on_failure(t0);
  ASSERT_TRUE(breaker.try_acquire(t0 + 30s));
  EXPECT_FALSE(breaker.try_acquire(t0 + 30s));
  breaker.release_probe();
  EXPECT_EQ(breaker.state(t0 + 30s), State::half_open);
  EXPECT_TRUE(breaker.try_acquire(t0 + 30s));
  EXPECT_FALSE(breaker.try_acquire(t0 + 30s));
}

TEST(Breaker, LeakedProbeExpiresAfterProbeTimeout) {
  BreakerConfig config = streak_config(1);
  config.probe_timeout_ms = 5'000;
  CircuitBreaker breaker(config);
  breaker.on_failure(t0);
  ASSERT_TRUE(breaker.try_acquire(t0 + 30s));
  EXPECT_FALSE(breaker.try_acquire(t0 + 34s));
  EXPECT_TRUE(breaker.try_acquire(t0 + 35s));
}

TEST(Breaker, AdmitsExactlyOneProbeAcrossThreads) {
  constexpr int kThreads = 8;
  constexpr int kRounds = 200;
  CircuitBreaker breaker(streak_config(1));
  breaker.on_failure(t0);
  for (int round = 0; round < kRounds; ++round) {
    const Clock::time_point probe_time = t0 + 30s + round * 31s;
    ASSERT_EQ(breaker.state(probe_time), State::half_open);
    std::atomic<int> admitted{0};
    std::latch start(kThreads);
    {
      std::vector<std::jthread> threads;
      for (int i = 0; i < kThreads; ++i) {
        threads.emplace_back([&] {
          start.arrive_and_wait();  // all call try_acquire at once
          for (int tries = 0; tries < 50; ++tries) {
            if (breaker.try_acquire(probe_time)) admitted.fetch_add(1);
          }
        });
      }
    }
    ASSERT_EQ(admitted.load(), 1) << "round " << round;
    breaker.on_failure(probe_time + 1s);  // the probe failed: open again, next round's cooldown
  }
}

TEST(Breaker, ErrorRateWindowOpensWithoutAStreak) {
  BreakerConfig config = streak_config(0);  // streaks alone never trip
  config.error_rate = ErrorRateWindow{0.5, 20, 30'000};
  CircuitBreaker breaker(config);
  // Alternating success / failure: never two failures in a row, 50% failures.
  for (int i = 0; i < 19; ++i) {
    if (i % 2 == 0) breaker.on_success(t0 + i * 100ms);
    else breaker.on_failure(t0 + i * 100ms);
  }
  EXPECT_EQ(breaker.state(t0 + 2s), State::closed);  // 19 requests: below min_requests
  breaker.on_failure(t0 + 2s);                          // 20 requests, 10 failures
  EXPECT_EQ(breaker.state(t0 + 2s), State::open);
}

TEST(Breaker, ErrorRateBelowThresholdStaysClosed) {
  BreakerConfig config = streak_config(0);
  config.error_rate = ErrorRateWindow{0.5, 20, 30'000};
  CircuitBreaker breaker(config);
  for (int i = 0; i < 100; ++i) {
    if (i % 3 == 0) breaker.on_failure(t0 + i * 100ms);  // 34%
    else breaker.on_success(t0 + i * 100ms);
  }
  EXPECT_EQ(breaker.state(t0 + 10s), State::closed);
}

TEST(Breaker, ErrorRateForgetsFailuresOutsideTheWindow) {
  BreakerConfig config = streak_config(0);
  config.error_rate = ErrorRateWindow{0.5, 20, 30'000};
  CircuitBreaker breaker(config);
  for (int i = 0; i < 15; ++i) breaker.on_failure(t0);  // 15 of 15 failed, but below min_requests
  const Clock::time_point later = t0 + 40s;              // those have left the window
  for (int i = 0; i < 15; ++i) breaker.on_success(later);
  for (int i = 0; i < 5; ++i) breaker.on_failure(later);
  EXPECT_EQ(breaker.state(later), State::closed);  // 5 / 20 within the window
}

TEST(Breaker, StateNames) {
  EXPECT_EQ(to_string(State::closed), "closed");
  EXPECT_EQ(to_string(State::open), "open");
  EXPECT_EQ(to_string(State::half_open), "half_open");
}

TEST(RoutingHealth, EwmaSeedsWithFirstSampleThenFolds) {
  DeploymentHealth health;
  EXPECT_FALSE(health.has_latency());
  EXPECT_FALSE(health.last_latency_at().has_value());
  EXPECT_EQ(health.ewma_total_us(), 0.0);
  health.record_latency(1000, 5000, t0);
  EXPECT_DOUBLE_EQ(health.ewma_ttft_us(), 1000.0);
  EXPECT_DOUBLE_EQ(health.ewma_total_us(), 5000.0);
  health.record_latency(2000, 10000, t0 + 1s);
  EXPECT_DOUBLE_EQ(health.ewma_ttft_us(), 1000.0 + DeploymentHealth::kEwmaAlpha * 1000.0);
  EXPECT_DOUBLE_EQ(health.ewma_total_us(), 5000.0 + DeploymentHealth::kEwmaAlpha * 5000.0);
  EXPECT_EQ(health.last_latency_at(), t0 + 1s);
}

TEST(RoutingHealth, UnmeasuredTtftLeavesItUnknown) {
  DeploymentHealth health;
  health.record_latency(0, 4000, t0);
  EXPECT_FALSE(health.has_ttft());
  EXPECT_TRUE(health.has_latency());
  EXPECT_DOUBLE_EQ(health.ewma_total_us(), 4000.0);
}

TEST(RoutingHealth, ConcurrentSamplesAreNotLost) {
  DeploymentHealth health;
  health.record_latency(100, 100, t0);
  std::vector<std::jthread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      for (int n = 0; n < 10'000; ++n) health.record_latency(100, 100, t0);
    });
  }
  threads.clear();
  EXPECT_DOUBLE_EQ(health.ewma_ttft_us(), 100.0);
}

TEST(RoutingHealth, InFlightGuardCountsAndMoves) {
  DeploymentHealth health;
  {
    InFlightGuard a(health);
    InFlightGuard b(health);
    EXPECT_EQ(health.in_flight(), 2);
    InFlightGuard moved(std::move(a));
    EXPECT_EQ(health.in_flight(), 2);
    b.release();
    EXPECT_EQ(health.in_flight(), 1);
  }
  EXPECT_EQ(health.in_flight(), 0);
  std::vector<std::jthread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      for (int n = 0; n < 10'000; ++n) InFlightGuard guard(health);
    });
  }
  threads.clear();
  EXPECT_EQ(health.in_flight(), 0);
}

TEST(RoutingHealth, RecentErrorsNewestFirstAndCounted) {
  DeploymentHealth health;
  EXPECT_EQ(health.recent_errors().count, 0U);
  health.record_error(ErrorKind::connect);
  health.record_error(ErrorKind::timeout);
  health.record_error(ErrorKind::timeout);
  RecentErrors recent = health.recent_errors();
  ASSERT_EQ(recent.count, 3U);
  EXPECT_EQ(recent.kinds[0], ErrorKind::timeout);
  EXPECT_EQ(recent.kinds[2], ErrorKind::connect);
  EXPECT_EQ(health.error_count(ErrorKind::timeout), 2U);
  for (int i = 0; i < 10; ++i) health.record_error(ErrorKind::rate_limited);
  recent = health.recent_errors();
  EXPECT_EQ(recent.count, RecentErrors::kCapacity);
  EXPECT_EQ(recent.kinds[7], ErrorKind::rate_limited);
  EXPECT_EQ(health.error_count(ErrorKind::rate_limited), 10U);
  EXPECT_EQ(to_string(ErrorKind::server_error), "server_error");
}

}  // namespace
}  // namespace baton::routing
