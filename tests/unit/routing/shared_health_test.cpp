// Breakers shared between replicas through a real Redis, and the two CircuitBreaker hooks that
// sharing needs (open_deadline_us, force_open_until).
#include "routing/shared_health.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "../support/redis_server.hpp"

namespace baton::routing {
namespace {

using namespace std::chrono_literals;
using State = CircuitBreaker::State;

const Clock::time_point t0 = Clock::time_point(1000h);

std::int64_t us(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

BreakerConfig streak(std::uint32_t failures) {
  BreakerConfig config;
  config.consecutive_failures = failures;
  config.cooldown_ms = 30'000;
  return config;
}

TEST(BreakerSharing, ForceOpenOpensAClosedBreakerUntilTheGivenTime) {
  CircuitBreaker breaker(streak(3));
  EXPECT_FALSE(breaker.open_deadline_us());
  breaker.force_open_until(t0 + 10s);
  EXPECT_EQ(breaker.open_deadline_us(), us(t0 + 10s));
  EXPECT_EQ(breaker.state(t0), State::open);
  EXPECT_FALSE(breaker.try_acquire(t0 + 9s));
  // Then it behaves like any open breaker: one probe, whose success closes it.
  EXPECT_TRUE(breaker.try_acquire(t0 + 10s));
  EXPECT_FALSE(breaker.open_deadline_us());  // probing
  breaker.on_success(t0 + 11s);
  EXPECT_EQ(breaker.state(t0 + 11s), State::closed);
}

TEST(BreakerSharing, ForceOpenOnlyExtends) {
  CircuitBreaker breaker(streak(1));
  breaker.on_failure(t0);  // open until t0 + 30 s
  EXPECT_EQ(breaker.open_deadline_us(), us(t0 + 30s));
  breaker.force_open_until(t0 + 5s);
  EXPECT_EQ(breaker.open_deadline_us(), us(t0 + 30s));
  breaker.force_open_until(t0 + 40s);
  EXPECT_EQ(breaker.open_deadline_us(), us(t0 + 40s));
  // A probe that is out decides; a report from elsewhere does not cut in.
  ASSERT_TRUE(breaker.try_acquire(t0 + 40s));
  breaker.force_open_until(t0 + 100s);
  EXPECT_EQ(breaker.state(t0 + 41s), State::half_open);
  breaker.on_failure(t0 + 41s);
  EXPECT_EQ(breaker.open_deadline_us(), us(t0 + 71s));
}

TEST(BreakerSharing, ForcedOpenDoesNotKeepAnOldStreak) {
  CircuitBreaker breaker(streak(3));
  breaker.on_failure(t0);
  breaker.on_failure(t0);
  breaker.force_open_until(t0 + 1s);
  ASSERT_TRUE(breaker.try_acquire(t0 + 1s));
  breaker.on_success(t0 + 1s);
  breaker.on_failure(t0 + 2s);  // one failure after recovery does not trip a 3-streak breaker
  EXPECT_EQ(breaker.state(t0 + 2s), State::closed);
}

// One replica: its own Redis connection, its own health table, its own SharedHealth.
struct Replica {
  explicit Replica(const test::RedisServer& server)
      : client(*store::RedisUrl::parse(server.url())),
        shared(client, [this] {
          return HealthView{nullptr, {{"openai/gpt-4o", &gpt}, {"local/tiny", &tiny}}};
        }) {
    shared.start();
  }
  store::RedisClient client;
  DeploymentHealth gpt{streak(3)};
  DeploymentHealth tiny{streak(3)};
  SharedHealth shared;
};

TEST(SharedHealth, ABreakerOpenedInOneReplicaOpensInTheOther) {
  test::RedisServer server;
  Replica a(server);
  Replica b(server);
  const auto tripped = Clock::now();
  for (int i = 0; i < 3; ++i) a.gpt.breaker().on_failure(tripped);
  ASSERT_EQ(a.gpt.breaker().state(Clock::now()), State::open);

  const auto deadline = Clock::now() + 1s;
  while (Clock::now() < deadline && b.gpt.breaker().state(Clock::now()) != State::open) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(b.gpt.breaker().state(Clock::now()), State::open) << "not shared within a second";
  // Open until the same instant, give or take the clock conversions (ms on the wire).
  const std::int64_t there = b.gpt.breaker().open_deadline_us().value_or(0);
  const std::int64_t here = a.gpt.breaker().open_deadline_us().value_or(0);
  EXPECT_NEAR(static_cast<double>(there), static_cast<double>(here), 20'000.0);
  // The other deployment is untouched, and nothing echoes back to the replica that opened it.
  EXPECT_EQ(b.tiny.breaker().state(Clock::now()), State::closed);
  EXPECT_EQ(b.shared.adopted(), 1U);
  const std::uint64_t ticks = a.shared.ticks();
  while (a.shared.ticks() < ticks + 3) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(a.shared.adopted(), 0U);
  EXPECT_EQ(a.gpt.breaker().open_deadline_us().value_or(0), here);
  a.shared.stop();
  b.shared.stop();
}

TEST(SharedHealth, StopsCleanlyWhileRedisIsStalled) {
  test::RedisServer server;
  Replica a(server);
  while (a.shared.ticks() < 1) std::this_thread::sleep_for(5ms);
  server.pause();
  std::this_thread::sleep_for(300ms);
  const auto started = std::chrono::steady_clock::now();
  a.shared.stop();  // waits at most for the tick's MGET timeout
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1s);
  server.resume();
}

}  // namespace
}  // namespace baton::routing
