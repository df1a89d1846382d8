// One behaviour suite, run against both limiters: LocalLimiter in-process and RedisLimiter on a real
// redis-server. Time is injected (now_ms), so windows slide without waiting.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "../support/redis_server.hpp"
#include "store/redis_client.hpp"
#include "tenancy/local_limiter.hpp"
#include "tenancy/redis_limiter.hpp"

namespace baton::tenancy {
namespace {

using test::sync_await;

constexpr std::int64_t t0 = 1'700'000'000'000;  // a whole second, so TPM buckets line up with the math
constexpr std::int64_t hour = 3'600'000;

enum class Engine { local, redis };

// A limiter and whatever it needs running.
struct Harness {
  virtual ~Harness() = default;
  virtual Limiter& limiter() = 0;
};

struct LocalHarness final : Harness {
  Limiter& limiter() override { return local; }
  LocalLimiter local;
};

struct RedisHarness final : Harness {
  Limiter& limiter() override { return redis; }
  test::RedisServer server;
  store::RedisClient client{*store::RedisUrl::parse(server.url())};
  // Generous: this suite is about semantics; the timeout path has its own tests.
  RedisLimiter redis{client, RedisLimiter::Options{std::chrono::milliseconds(5000), 600'000}};
};

Subject subject(const std::string& scope) {
  Subject s;
  s.scope = scope;
  s.period_id = "2023-11";
  s.period_end_ms = t0 + hour;
  return s;
}

class LimiterBehaviour : public ::testing::TestWithParam<Engine> {
 protected:
  void SetUp() override {
    if (GetParam() == Engine::local) {
      harness_ = std::make_unique<LocalHarness>();
    } else {
      harness_ = std::make_unique<RedisHarness>();
    }
  }

  Ticket ticket(std::vector<Subject> subjects, double estimate_usd = 0) {
    Ticket t;
    t.request_id = "req-" + std::to_string(++requests_);
    t.subjects = std::move(subjects);
    t.estimate_usd = estimate_usd;
    return t;
  }
  Admission admit(const Ticket& t, std::int64_t now_ms) { return sync_await(limiter().admit(t, now_ms)); }
  Limiter& limiter() { return harness_->limiter(); }

  std::unique_ptr<Harness> harness_;
  int requests_ = 0;
};

void expect_admitted(const Admission& a) {
  EXPECT_EQ(a.outcome, Outcome::admitted) << a.limit << " " << a.scope;
  EXPECT_TRUE(a.counted);
}

void expect_limited(const Admission& a, const std::string& limit, const std::string& scope, std::uint32_t retry) {
  EXPECT_EQ(a.outcome, Outcome::limited);
  EXPECT_EQ(a.limit, limit);
  EXPECT_EQ(a.scope, scope);
  EXPECT_EQ(a.retry_after_s, retry);
}

TEST_P(LimiterBehaviour, UnlimitedSubjectsAreAdmittedWithoutCounting) {
  const Admission a = admit(ticket({subject("key:free"), subject("team:free")}), t0);
  EXPECT_EQ(a.outcome, Outcome::admitted);
  EXPECT_FALSE(a.counted);
}

TEST_P(LimiterBehaviour, RpmAdmitsExactlyTheLimitPerWindow) {
  Subject key = subject("key:rpm");
  key.rpm = 60;
  for (int i = 0; i < 60; ++i) expect_admitted(admit(ticket({key}), t0 + i * 100));
  // The 61st within the minute: wait until the first admission (t0) leaves the window.
  expect_limited(admit(ticket({key}), t0 + 6'000), "rpm", "key:rpm", 54);
  expect_limited(admit(ticket({key}), t0 + 59'999), "rpm", "key:rpm", 1);
  // At t0 + 60 s the first one is out: exactly one more fits.
  expect_admitted(admit(ticket({key}), t0 + 60'000));
  expect_limited(admit(ticket({key}), t0 + 60'001), "rpm", "key:rpm", 1);  // t0 + 100 leaves at t0 + 60.1 s
}

TEST_P(LimiterBehaviour, RpmWindowSlides) {
  Subject key = subject("key:slide");
  key.rpm = 2;
  expect_admitted(admit(ticket({key}), t0));
  expect_admitted(admit(ticket({key}), t0 + 30'000));
  expect_limited(admit(ticket({key}), t0 + 30'001), "rpm", "key:slide", 30);
  expect_admitted(admit(ticket({key}), t0 + 60'000));  // t0 left
  expect_limited(admit(ticket({key}), t0 + 60'001), "rpm", "key:slide", 30);
  expect_admitted(admit(ticket({key}), t0 + 90'000));
  expect_admitted(admit(ticket({key}), t0 + 200'000));  // an idle gap empties the window
  expect_admitted(admit(ticket({key}), t0 + 200'000));
}

TEST_P(LimiterBehaviour, TpmCountsSettledTokensOverTheMinute) {
  Subject key = subject("key:tpm");
  key.tpm = 100;
  const Ticket first = ticket({key});
  expect_admitted(admit(first, t0));
  limiter().settle(first, 60, 0, t0);
  const Ticket second = ticket({key});
  expect_admitted(admit(second, t0 + 1'000));  // 60 < 100: admitted, then it uses 50 more
  limiter().settle(second, 50, 0, t0 + 1'000);
  // 110 >= 100; dropping the t0 bucket (60) brings it under, at t0 + 60 s.
  expect_limited(admit(ticket({key}), t0 + 2'000), "tpm", "key:tpm", 58);
  expect_limited(admit(ticket({key}), t0 + 59'500), "tpm", "key:tpm", 1);
  expect_admitted(admit(ticket({key}), t0 + 60'000));
}

TEST_P(LimiterBehaviour, ParallelSlotsAreFreedBySettle) {
  Subject key = subject("key:par");
  key.max_parallel = 2;
  const Ticket a = ticket({key});
  const Ticket b = ticket({key});
  expect_admitted(admit(a, t0));
  expect_admitted(admit(b, t0));
  expect_limited(admit(ticket({key}), t0), "parallel", "key:par", 1);
  limiter().settle(a, 10, 0, t0 + 5);
  expect_admitted(admit(ticket({key}), t0 + 10));
  expect_limited(admit(ticket({key}), t0 + 10), "parallel", "key:par", 1);
}

TEST_P(LimiterBehaviour, BudgetReservesThenSettlesRealCost) {
  Subject key = subject("key:budget");
  key.budget_usd = 1.0;
  const Ticket a = ticket({key}, 0.4);
  const Ticket b = ticket({key}, 0.4);
  expect_admitted(admit(a, t0));
  expect_admitted(admit(b, t0));
  // 0.8 reserved + 0.4 > 1.0: refused until the period ends.
  expect_limited(admit(ticket({key}, 0.4), t0 + 1'000), "budget", "key:budget", 3'599);
  limiter().settle(a, 0, 0.1, t0 + 2'000);  // reserved 0.4, spent 0.1
  const Ticket c = ticket({key}, 0.4);
  expect_admitted(admit(c, t0 + 3'000));  // 0.9
  expect_limited(admit(ticket({key}, 0.4), t0 + 3'000), "budget", "key:budget", 3'597);
  limiter().settle(b, 0, 0.5, t0 + 4'000);
  limiter().settle(c, 0, 0.3, t0 + 4'000);  // spent 0.9, nothing reserved
  const Ticket d = ticket({key}, 0.1);
  expect_admitted(admit(d, t0 + 5'000));  // exactly 1.0
  limiter().settle(d, 0, 0.1, t0 + 5'000);
  // Used up: even a zero estimate is refused.
  expect_limited(admit(ticket({key}, 0), t0 + 6'000), "budget", "key:budget", 3'594);
}

TEST_P(LimiterBehaviour, EstimateThatWouldExceedIsRefused) {
  Subject key = subject("key:estimate");
  key.budget_usd = 1.0;
  expect_limited(admit(ticket({key}, 1.5), t0), "budget", "key:estimate", 3'600);
  expect_admitted(admit(ticket({key}, 1.0), t0));
}

TEST_P(LimiterBehaviour, AllOrNothingAcrossSubjects) {
  Subject key = subject("key:both");
  key.rpm = 3;
  Subject team = subject("team:both");
  team.rpm = 1;
  expect_admitted(admit(ticket({key, team}), t0));
  expect_limited(admit(ticket({key, team}), t0 + 1), "rpm", "team:both", 60);
  // The refused request did not count against the key: two more key-only requests fit, not one.
  Subject key_alone = key;
  expect_admitted(admit(ticket({key_alone}), t0 + 2));
  expect_admitted(admit(ticket({key_alone}), t0 + 3));
  expect_limited(admit(ticket({key_alone}), t0 + 4), "rpm", "key:both", 60);

  // Same for a reservation: the team's parallel limit refuses, the key reserves nothing.
  Subject payer = subject("key:payer");
  payer.budget_usd = 1.0;
  Subject busy = subject("team:busy");
  busy.max_parallel = 1;
  const Ticket first = ticket({payer, busy}, 0.6);
  expect_admitted(admit(first, t0));
  expect_limited(admit(ticket({payer, busy}, 0.3), t0), "parallel", "team:busy", 1);
  limiter().settle(first, 0, 0, t0 + 1);
  expect_admitted(admit(ticket({payer}, 1.0), t0 + 2));
}

TEST_P(LimiterBehaviour, SeedSpendFillsOnlyUnknownPeriods) {
  Subject key = subject("key:seed");
  key.budget_usd = 1.0;
  limiter().seed_spend("key:seed", key.period_id, 0.9, key.period_end_ms);
  expect_limited(admit(ticket({key}, 0.2), t0), "budget", "key:seed", 3'600);
  limiter().seed_spend("key:seed", key.period_id, 0.0, key.period_end_ms);  // known already: ignored
  expect_limited(admit(ticket({key}, 0.2), t0), "budget", "key:seed", 3'600);
  const Ticket last = ticket({key}, 0.1);
  expect_admitted(admit(last, t0));
  limiter().settle(last, 0, 0.1, t0);

  // A period whose spend was already counted (settled) is not overwritten by a late seed.
  Subject next = key;
  next.period_id = "2023-12";
  next.period_end_ms = t0 + 2 * hour;
  const Ticket spent = ticket({next}, 0.1);
  expect_admitted(admit(spent, t0));
  limiter().settle(spent, 0, 0.5, t0);
  limiter().seed_spend("key:seed", next.period_id, 0.0, next.period_end_ms);
  expect_limited(admit(ticket({next}, 0.6), t0), "budget", "key:seed", 7'200);
  expect_admitted(admit(ticket({next}, 0.5), t0));
}

TEST_P(LimiterBehaviour, NewPeriodStartsFromZero) {
  Subject key = subject("key:rollover");
  key.budget_usd = 1.0;
  const Ticket a = ticket({key}, 0.5);
  expect_admitted(admit(a, t0));
  limiter().settle(a, 0, 0.6, t0 + 1'000);
  expect_limited(admit(ticket({key}, 0.5), t0 + 2'000), "budget", "key:rollover", 3'598);
  const Ticket c = ticket({key}, 0.4);  // still in flight when the period ends
  expect_admitted(admit(c, t0 + 3'000));

  // The period ends; the next request belongs to the next one, where only c's reservation counts.
  Subject later = key;
  later.period_id = "2023-12";
  later.period_end_ms = t0 + 2 * hour;
  const Ticket b = ticket({later}, 0.5);
  expect_admitted(admit(b, t0 + hour));
  // c was admitted in the old period and settles into it, not into the new one.
  limiter().settle(c, 0, 0.4, t0 + hour);
  limiter().settle(b, 0, 0.2, t0 + hour);
  expect_admitted(admit(ticket({later}, 0.8), t0 + hour + 1));
  expect_limited(admit(ticket({key}, 0), t0 + hour + 1), "budget", "key:rollover", 1);
}

INSTANTIATE_TEST_SUITE_P(Engines, LimiterBehaviour, ::testing::Values(Engine::local, Engine::redis),
                         [](const ::testing::TestParamInfo<Engine>& param_info) {
                           return param_info.param == Engine::local ? std::string("Local") : std::string("Redis");
                         });

TEST(LocalLimiter, DropsIdleScopes) {
  LocalLimiter limiter;
  Subject key = subject("key:idle");
  key.rpm = 10;
  key.max_parallel = 5;
  Ticket t;
  t.request_id = "idle-1";
  t.subjects = {key};
  ASSERT_TRUE(limiter.try_admit(t, t0).counted);
  limiter.sweep(t0 + 61'000);
  EXPECT_EQ(limiter.scope_count(), 1U);  // still holds a parallel slot
  limiter.settle(t, 0, 0, t0 + 62'000);
  limiter.sweep(t0 + 62'000);
  EXPECT_EQ(limiter.scope_count(), 0U);

  // A budget's spend stays until a day after its period ends, then goes too.
  Subject payer = subject("key:spender");
  payer.budget_usd = 5;
  t.subjects = {payer};
  t.estimate_usd = 1;
  ASSERT_TRUE(limiter.try_admit(t, t0).counted);
  limiter.settle(t, 0, 1, t0);
  limiter.sweep(t0 + 2 * hour);
  EXPECT_EQ(limiter.scope_count(), 1U);
  limiter.sweep(payer.period_end_ms + kSpendRetentionMs + 1);
  EXPECT_EQ(limiter.scope_count(), 0U);
}

TEST(LocalLimiter, ExactUnderConcurrentWorkers) {
  LocalLimiter limiter;
  Subject key = subject("key:threads");
  key.rpm = 1'000;
  Subject team = subject("team:threads");
  team.rpm = 700;
  std::atomic<int> admitted{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < 4; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < 500; ++i) {
        Ticket t;
        t.request_id = "w" + std::to_string(w) + "-" + std::to_string(i);
        t.subjects = {key, team};
        if (limiter.try_admit(t, t0 + i).outcome == Outcome::admitted) admitted.fetch_add(1);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(admitted.load(), 700);
}

}  // namespace
}  // namespace baton::tenancy
