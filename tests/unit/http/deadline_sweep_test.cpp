// DeadlineSweep: one timer per worker expiring many waits' deadlines.
#include "http/deadline_sweep.hpp"

#include <gtest/gtest.h>

#include <optional>

namespace baton::http {
namespace {

// Records when (and whether) its deadline expired.
class Probe final : public Deadline {
 public:
  explicit Probe(DeadlineSweep& sweep) : Deadline(sweep) {}
  ~Probe() = default;
  int expirations = 0;
  std::optional<Clock::time_point> expired_at;

 private:
  void expire() override {
    ++expirations;
    expired_at = Clock::now();
  }
};

// Runs the loop until `done` or `limit` (a failing sweep must not hang the test).
template <typename Done>
void run_until(asio::io_context& io, Done done, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
  const auto give_up = Clock::now() + limit;
  while (!done() && Clock::now() < give_up) {
    io.run_for(std::chrono::milliseconds(5));
    io.restart();
  }
}

TEST(DeadlineSweep, ExpiresADueDeadlineOnceAndNotBeforeItsTime) {
  asio::io_context io;
  DeadlineSweep sweep(io.get_executor());
  Probe probe(sweep);
  const auto at = Clock::now() + std::chrono::milliseconds(30);
  probe.arm(at);
  EXPECT_TRUE(probe.armed());
  run_until(io, [&] { return probe.expirations > 0; });
  ASSERT_EQ(probe.expirations, 1);
  EXPECT_GE(*probe.expired_at, at);
  EXPECT_LE(*probe.expired_at, at + kDefaultTolerance + std::chrono::milliseconds(200));  // loaded CI
  EXPECT_TRUE(probe.expired());
  EXPECT_FALSE(probe.armed());
  EXPECT_EQ(sweep.armed(), 0U);
  io.run_for(std::chrono::milliseconds(50));
  EXPECT_EQ(probe.expirations, 1);
}

TEST(DeadlineSweep, ADisarmedOrReArmedDeadlineDoesNotFireAtItsOldTime) {
  asio::io_context io;
  DeadlineSweep sweep(io.get_executor());
  Probe disarmed(sweep);
  Probe moved(sweep);
  Probe witness(sweep);  // due after the old times, before the new one
  const auto now = Clock::now();
  disarmed.arm(now + std::chrono::milliseconds(20));
  moved.arm(now + std::chrono::milliseconds(20));
  witness.arm(now + std::chrono::milliseconds(80));
  disarmed.disarm();
  moved.arm(now + std::chrono::seconds(30));
  EXPECT_EQ(sweep.armed(), 2U);
  run_until(io, [&] { return witness.expirations > 0; });
  EXPECT_EQ(witness.expirations, 1);
  EXPECT_EQ(disarmed.expirations, 0);
  EXPECT_EQ(moved.expirations, 0);
  EXPECT_FALSE(moved.expired());
  EXPECT_TRUE(moved.armed());
}

TEST(DeadlineSweep, ANeverDeadlineNeitherFiresNorKeepsATimer) {
  asio::io_context io;
  DeadlineSweep sweep(io.get_executor());
  Probe never(sweep);
  never.arm(Clock::time_point::max());
  EXPECT_TRUE(never.armed());
  const auto started = Clock::now();
  io.run();  // nothing scheduled: returns at once
  EXPECT_LT(Clock::now() - started, std::chrono::seconds(5));
  EXPECT_EQ(never.expirations, 0);
}

TEST(DeadlineSweep, ADeadlineAlreadyPastExpiresAtTheNextSweep) {
  asio::io_context io;
  DeadlineSweep sweep(io.get_executor());
  Probe probe(sweep);
  probe.arm(Clock::now() - std::chrono::seconds(1));
  run_until(io, [&] { return probe.expirations > 0; });
  EXPECT_EQ(probe.expirations, 1);
}

// A draining worker's loop ends when its last request does: a sweep with nothing armed must not
// keep a timer pending.
TEST(DeadlineSweep, LeavesNoPendingWaitOnceNothingIsArmed) {
  asio::io_context io;
  DeadlineSweep sweep(io.get_executor());
  {
    Probe probe(sweep);
    probe.arm(Clock::now() + std::chrono::seconds(60));
  }  // destroyed while armed: unlinks itself
  EXPECT_EQ(sweep.armed(), 0U);
  const auto started = Clock::now();
  io.run();  // returns only when no work is left
  EXPECT_LT(Clock::now() - started, std::chrono::seconds(5));
}

TEST(DeadlineSweep, EntriesMayOutliveTheSweep) {
  asio::io_context io;
  auto sweep = std::make_unique<DeadlineSweep>(io.get_executor());
  Probe probe(*sweep);
  probe.arm(Clock::now() + std::chrono::seconds(60));
  sweep.reset();  // as at worker teardown, where coroutine frames die after the worker's members
  EXPECT_FALSE(probe.armed());
  probe.arm(Clock::now());  // harmless: nothing to link into
  probe.disarm();
  io.run();
  EXPECT_EQ(probe.expirations, 0);
}

TEST(DeadlineSweep, ExpiresEveryDueEntryInOneSweepAndKeepsTheRest) {
  asio::io_context io;
  DeadlineSweep sweep(io.get_executor());
  std::vector<std::unique_ptr<Probe>> due;
  std::vector<std::unique_ptr<Probe>> later;
  const auto now = Clock::now();
  for (int i = 0; i < 50; ++i) {
    due.push_back(std::make_unique<Probe>(sweep));
    due.back()->arm(now + std::chrono::milliseconds(10 + i % 5));
    later.push_back(std::make_unique<Probe>(sweep));
    later.back()->arm(now + std::chrono::seconds(60));
  }
  run_until(io, [&] { return sweep.armed() == later.size(); });
  for (const auto& probe : due) EXPECT_EQ(probe->expirations, 1);
  for (const auto& probe : later) EXPECT_EQ(probe->expirations, 0);
  EXPECT_EQ(sweep.armed(), 50U);
}

// A tolerant deadline rides along with a sweep that is due anyway instead of moving the timer.
TEST(DeadlineSweep, ATolerantDeadlineExpiresWithALaterNeighboursSweep) {
  asio::io_context io;
  DeadlineSweep sweep(io.get_executor());
  Probe tolerant(sweep);
  Probe precise(sweep);
  const auto now = Clock::now();
  tolerant.arm(now + std::chrono::milliseconds(10), std::chrono::seconds(2));
  precise.arm(now + std::chrono::milliseconds(60));
  run_until(io, [&] { return tolerant.expirations > 0; });
  ASSERT_EQ(tolerant.expirations, 1);
  ASSERT_EQ(precise.expirations, 1);
  EXPECT_GE(*tolerant.expired_at, now + std::chrono::milliseconds(60));  // not before the shared sweep
  EXPECT_LT(*precise.expired_at - *tolerant.expired_at, std::chrono::milliseconds(5));  // one sweep
}

TEST(DeadlineSweep, ATolerantDeadlineAloneStillExpiresWithinItsTolerance) {
  asio::io_context io;
  DeadlineSweep sweep(io.get_executor());
  Probe probe(sweep);
  const auto at = Clock::now() + std::chrono::milliseconds(10);
  probe.arm(at, std::chrono::milliseconds(100));
  run_until(io, [&] { return probe.expirations > 0; });
  ASSERT_EQ(probe.expirations, 1);
  EXPECT_GE(*probe.expired_at, at);
  EXPECT_LE(*probe.expired_at, at + std::chrono::milliseconds(100) + std::chrono::milliseconds(200));  // loaded CI
}

TEST(DeadlineSweep, LenientToleranceIsAnEighthBetweenFiveMillisecondsAndOneSecond) {
  EXPECT_EQ(lenient_tolerance(std::chrono::milliseconds(8)), std::chrono::milliseconds(5));
  EXPECT_EQ(lenient_tolerance(std::chrono::milliseconds(800)), std::chrono::milliseconds(100));
  EXPECT_EQ(lenient_tolerance(std::chrono::seconds(75)), std::chrono::seconds(1));
}

// A serving worker keeps its timer when the last deadline is disarmed (the next connection's
// deadlines then move nothing); released for the drain, the loop runs out of work again.
TEST(DeadlineSweep, AHeldTimerOutlivesItsEntriesUntilReleased) {
  asio::io_context io;
  DeadlineSweep sweep(io.get_executor());
  sweep.hold_when_idle(true);
  {
    Probe probe(sweep);
    probe.arm(Clock::now() + std::chrono::seconds(60));
  }
  EXPECT_EQ(sweep.armed(), 0U);
  EXPECT_EQ(io.run_for(std::chrono::milliseconds(30)), 0U);
  EXPECT_FALSE(io.stopped());  // the held wait is still pending
  sweep.hold_when_idle(false);
  const auto started = Clock::now();
  io.run();  // the cancelled wait completes and nothing is left
  EXPECT_LT(Clock::now() - started, std::chrono::seconds(5));
}

}  // namespace
}  // namespace baton::http
