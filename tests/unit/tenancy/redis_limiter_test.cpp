// RedisLimiter beyond the shared behaviour suite: several replicas (each its own RedisClient, as
// separate processes would have) hammering one Redis from several threads, and what happens when
// Redis is gone (stopped) or stalled (SIGSTOP).
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
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

using namespace std::chrono_literals;
using test::sync_await;

constexpr std::int64_t t0 = 1'700'000'000'000;

Subject subject(const std::string& scope, store::FailMode mode = store::FailMode::open) {
  Subject s;
  s.scope = scope;
  s.period_id = "2023-11";
  s.period_end_ms = t0 + 3'600'000;
  s.fail_mode = mode;
  return s;
}

Ticket ticket(const std::string& id, std::vector<Subject> subjects, double estimate = 0) {
  Ticket t;
  t.request_id = id;
  t.subjects = std::move(subjects);
  t.estimate_usd = estimate;
  return t;
}

store::RedisUrl url_of(const test::RedisServer& server) { return *store::RedisUrl::parse(server.url()); }

// `threads` threads, each running `coroutines` coroutines of `body(thread, coroutine)` on its own
// io_context, as baton's workers do.
void hammer(int threads, int coroutines, const std::function<awaitable<void>(int, int)>& body) {
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      asio::io_context io;
      for (int c = 0; c < coroutines; ++c) asio::co_spawn(io, body(t, c), asio::detached);
      io.run();
    });
  }
  for (std::thread& worker : workers) worker.join();
}

struct Replicas {
  test::RedisServer server;
  store::RedisClient client_a{url_of(server)};
  store::RedisClient client_b{url_of(server)};
  RedisLimiter a{client_a, RedisLimiter::Options{5s, 600'000}};
  RedisLimiter b{client_b, RedisLimiter::Options{5s, 600'000}};
  RedisLimiter& replica(int i) { return i % 2 == 0 ? a : b; }
  // Waits until everything sent so far (fire-and-forget settles included) has run on Redis.
  void flush() {
    for (store::RedisClient* client : {&client_a, &client_b}) {
      const store::RedisReply pong = sync_await([](store::RedisClient& c) -> awaitable<store::RedisReply> {
        std::vector<std::string> ping{"PING"};
        store::RedisReply reply = co_await c.command(std::move(ping), 5s);
        co_return reply;
      }(*client));
      ASSERT_TRUE(pong.ok()) << pong.str;
    }
  }
};

TEST(RedisLimiter, TwoReplicasAdmitExactlyTheRpmInTotal) {
  Replicas replicas;
  Subject key = subject("key:shared-rpm");
  key.rpm = 60;
  std::atomic<int> admitted{0};
  std::atomic<int> limited{0};
  std::atomic<int> other{0};
  hammer(4, 8, [&](int thread, int coroutine) -> awaitable<void> {
    for (int i = 0; i < 10; ++i) {
      const Ticket t = ticket("r" + std::to_string(thread) + "-" + std::to_string(coroutine) + "-" + std::to_string(i), {key});
      const Admission a = co_await replicas.replica(thread).admit(t, t0 + i);
      if (a.outcome == Outcome::admitted && a.counted) {
        admitted.fetch_add(1);
      } else if (a.outcome == Outcome::limited && a.limit == "rpm") {
        limited.fetch_add(1);
      } else {
        other.fetch_add(1);
      }
    }
  });
  EXPECT_EQ(admitted.load(), 60);
  EXPECT_EQ(limited.load(), 4 * 8 * 10 - 60);
  EXPECT_EQ(other.load(), 0);
}

TEST(RedisLimiter, BudgetOvershootIsBoundedByWhatIsInFlight) {
  Replicas replicas;
  Subject key = subject("key:shared-budget");
  key.budget_usd = 1.0;
  constexpr double kEstimate = 0.01;
  constexpr double kCost = 0.015;  // every request costs more than estimated
  constexpr int kThreads = 4, kCoroutines = 8;
  std::atomic<int> admitted{0};
  hammer(kThreads, kCoroutines, [&](int thread, int coroutine) -> awaitable<void> {
    for (int i = 0; i < 100; ++i) {
      const Ticket t = ticket("b" + std::to_string(thread) + "-" + std::to_string(coroutine) + "-" + std::to_string(i),
                              {key}, kEstimate);
      RedisLimiter& limiter = replicas.replica(thread);
      const Admission a = co_await limiter.admit(t, t0 + i);
      if (a.outcome != Outcome::admitted) co_return;
      admitted.fetch_add(1);
      limiter.settle(t, 10, kCost, t0 + i);
    }
  });
  replicas.flush();
  const std::int64_t spent = std::stoll(replicas.server.query({"HGET", "baton:key:shared-budget:spend:2023-11", "spent"}).value());
  // At the last admission, spend + reservations + estimate <= budget; each request then in flight
  // can add at most (cost - estimate) beyond its reservation.
  const std::int64_t bound = usd_to_nanos(1.0) + kThreads * kCoroutines * usd_to_nanos(kCost - kEstimate);
  EXPECT_LE(spent, bound);
  EXPECT_EQ(spent, admitted.load() * usd_to_nanos(kCost));
  EXPECT_GE(admitted.load(), 0.6 / kCost);  // and it did fill up: refusals are not premature
  // Every reservation was released by its settle.
  EXPECT_EQ(replicas.server.query({"HGET", "baton:key:shared-budget:resv", "total"}).value(), "0");
  EXPECT_EQ(replicas.server.query({"ZCARD", "baton:key:shared-budget:resv_exp"}).value(), "0");
}

class RedisOutage : public ::testing::Test {
 protected:
  RedisOutage() {
    store::RedisClient::Options options;
    options.reconnect_min = 20ms;
    options.reconnect_max = 200ms;
    client_ = std::make_unique<store::RedisClient>(url_of(server_), options);
    limiter_ = std::make_unique<RedisLimiter>(*client_, RedisLimiter::Options{200ms, 600'000});
  }

  Admission admit(const Ticket& t) { return sync_await(limiter_->admit(t, t0 + (++clock_))); }

  // Polls until a fail-open subject is counted again: Redis is back and the client reconnected.
  void expect_recovers() {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
      if (admit(ticket("probe-" + std::to_string(clock_), {open_})).counted) return;
      std::this_thread::sleep_for(20ms);
    }
    FAIL() << "the limiter did not recover within 10 s";
  }

  test::RedisServer server_;
  std::unique_ptr<store::RedisClient> client_;
  std::unique_ptr<RedisLimiter> limiter_;
  std::int64_t clock_ = 0;
  Subject open_ = [] {
    Subject s = subject("key:open", store::FailMode::open);
    s.rpm = 1'000;
    return s;
  }();
  Subject closed_ = [] {
    Subject s = subject("team:closed", store::FailMode::closed);
    s.max_parallel = 100;
    return s;
  }();
};

TEST_F(RedisOutage, StoppedRedisFailsOpenOrClosedPerSubject) {
  ASSERT_TRUE(admit(ticket("before", {open_, closed_})).counted);
  server_.stop();

  const Admission open = admit(ticket("open-1", {open_}));
  EXPECT_EQ(open.outcome, Outcome::admitted);
  EXPECT_FALSE(open.counted);
  const Admission closed = admit(ticket("closed-1", {open_, closed_}));
  EXPECT_EQ(closed.outcome, Outcome::unavailable);
  EXPECT_EQ(closed.scope, "team:closed");
  EXPECT_EQ(limiter_->fail_open_count(), 1U);
  EXPECT_EQ(limiter_->fail_closed_count(), 1U);

  // Disconnected: answers come at once, not after the timeout.
  const auto started = std::chrono::steady_clock::now();
  EXPECT_FALSE(admit(ticket("open-2", {open_})).counted);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 150ms);

  server_.start();
  expect_recovers();
  EXPECT_TRUE(admit(ticket("after", {open_, closed_})).counted);
}

TEST_F(RedisOutage, StalledRedisTimesOutThenRecovers) {
  Subject slot = subject("key:one-slot", store::FailMode::open);
  slot.max_parallel = 1;
  ASSERT_TRUE(admit(ticket("before", {open_})).counted);
  server_.pause();

  const auto started = std::chrono::steady_clock::now();
  const Admission open = admit(ticket("stalled-open", {slot}));
  EXPECT_GE(std::chrono::steady_clock::now() - started, 190ms);
  EXPECT_EQ(open.outcome, Outcome::admitted);
  EXPECT_FALSE(open.counted);
  const Admission closed = admit(ticket("stalled-closed", {open_, closed_}));
  EXPECT_EQ(closed.outcome, Outcome::unavailable);
  EXPECT_EQ(closed.scope, "team:closed");
  EXPECT_EQ(limiter_->fail_open_count(), 1U);
  EXPECT_EQ(limiter_->fail_closed_count(), 1U);

  server_.resume();
  expect_recovers();
  // The stalled admit ran once Redis woke up and took the only slot; the release sent after the
  // timeout gave it back, so the slot is free now.
  const Admission after = admit(ticket("after", {slot}));
  EXPECT_EQ(after.outcome, Outcome::admitted) << after.limit;
  EXPECT_TRUE(after.counted);
}

}  // namespace
}  // namespace baton::tenancy
