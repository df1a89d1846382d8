#include "routing/strategy.hpp"

#include <gtest/gtest.h>

#include <array>
#include <vector>

namespace baton::routing {
namespace {

using namespace std::chrono_literals;

const Clock::time_point t0 = Clock::time_point(1000h);

std::vector<int> count_picks(StrategyKind kind, std::span<const Candidate> candidates, StrategyState& state, int n,
                             std::size_t group_size) {
  std::vector<int> counts(group_size, 0);
  for (int i = 0; i < n; ++i) {
    const std::optional<std::uint32_t> chosen = pick(kind, PickInput{candidates, 0, 0, t0}, state);
    if (!chosen) ADD_FAILURE() << "no pick";
    else ++counts.at(*chosen);
  }
  return counts;
}

void expect_share(int count, int total, double share) {
  EXPECT_NEAR(static_cast<double>(count) / total, share, 0.05 * share) << count << " of " << total;
}

TEST(RoutingStrategy, NamesRoundTrip) {
  for (StrategyKind kind : {StrategyKind::priority, StrategyKind::weighted, StrategyKind::least_latency,
                            StrategyKind::least_busy, StrategyKind::cost}) {
    EXPECT_EQ(strategy_from_string(to_string(kind)), kind);
  }
  EXPECT_EQ(strategy_from_string("least_busy"), StrategyKind::least_busy);
  EXPECT_EQ(strategy_from_string("latency-based-routing"), StrategyKind::least_latency);
  EXPECT_FALSE(strategy_from_string("fastest").has_value());
  EXPECT_FALSE(strategy_from_string("").has_value());
  EXPECT_FALSE(strategy_from_string("Priority").has_value());
}

TEST(RoutingStrategy, NoCandidatesNoPick) {
  StrategyState state(2, 1);
  for (StrategyKind kind : {StrategyKind::priority, StrategyKind::weighted, StrategyKind::least_latency,
                            StrategyKind::least_busy, StrategyKind::cost}) {
    EXPECT_FALSE(pick(kind, PickInput{{}, 0, 0, t0}, state).has_value());
  }
}

TEST(RoutingStrategy, PriorityTakesTheFirstCandidate) {
  StrategyState state(4, 1);
  const std::array<Candidate, 2> candidates{Candidate{2}, Candidate{0}};  // index 1, 3 filtered out
  EXPECT_EQ(pick(StrategyKind::priority, PickInput{candidates, 0, 0, t0}, state), 2U);
}

TEST(RoutingStrategy, WeightedFollowsWeights) {
  StrategyState state(3, 1);
  const std::array<Candidate, 3> candidates{Candidate{0, 5}, Candidate{1, 3}, Candidate{2, 2}};
  const std::vector<int> counts = count_picks(StrategyKind::weighted, candidates, state, 10'000, 3);
  expect_share(counts[0], 10'000, 0.5);
  expect_share(counts[1], 10'000, 0.3);
  expect_share(counts[2], 10'000, 0.2);
  // Smooth: within any window of sum(weights) picks, each gets exactly its weight.
  std::array<int, 3> window{};
  for (int i = 0; i < 10; ++i) ++window[*pick(StrategyKind::weighted, PickInput{candidates, 0, 0, t0}, state)];
  EXPECT_EQ(window, (std::array<int, 3>{5, 3, 2}));
}

TEST(RoutingStrategy, WeightedOverAFilteredSubset) {
  StrategyState state(3, 1);
  const std::array<Candidate, 3> all{Candidate{0, 5}, Candidate{1, 3}, Candidate{2, 2}};
  const std::array<Candidate, 2> without_first{Candidate{1, 3}, Candidate{2, 2}};
  const std::array<Candidate, 2> without_middle{Candidate{0, 5}, Candidate{2, 2}};
  std::vector<int> counts = count_picks(StrategyKind::weighted, without_first, state, 10'000, 3);
  EXPECT_EQ(counts[0], 0);
  expect_share(counts[1], 10'000, 0.6);
  expect_share(counts[2], 10'000, 0.4);
  // Membership changing mid-run: credit left over from one phase must not skew the next.
  count_picks(StrategyKind::weighted, all, state, 1'234, 3);
  counts = count_picks(StrategyKind::weighted, without_middle, state, 10'000, 3);
  expect_share(counts[0], 10'000, 5.0 / 7);
  expect_share(counts[2], 10'000, 2.0 / 7);
  counts = count_picks(StrategyKind::weighted, all, state, 10'000, 3);
  expect_share(counts[0], 10'000, 0.5);
  expect_share(counts[1], 10'000, 0.3);
  expect_share(counts[2], 10'000, 0.2);
}

TEST(RoutingStrategy, WeightZeroOnlyWhenNothingElse) {
  StrategyState state(3, 1);
  const std::array<Candidate, 2> mixed{Candidate{0, 0}, Candidate{1, 1}};
  EXPECT_EQ(count_picks(StrategyKind::weighted, mixed, state, 100, 3)[0], 0);
  const std::array<Candidate, 1> alone{Candidate{0, 0}};
  EXPECT_EQ(pick(StrategyKind::weighted, PickInput{alone, 0, 0, t0}, state), 0U);
  const std::array<Candidate, 2> all_zero{Candidate{2, 0}, Candidate{0, 0}};
  EXPECT_EQ(pick(StrategyKind::weighted, PickInput{all_zero, 0, 0, t0}, state), 2U);
}

TEST(RoutingStrategy, WeightedToleratesIndexBeyondGroupSize) {
  StrategyState state(1, 1);  // e.g. a state kept across a reload that grew the group
  const std::array<Candidate, 2> candidates{Candidate{0, 1}, Candidate{5, 1}};
  const std::vector<int> counts = count_picks(StrategyKind::weighted, candidates, state, 100, 6);
  EXPECT_EQ(counts[0], 50);
  EXPECT_EQ(counts[5], 50);
}

// Three deployments whose real time-to-first-token the test controls; every pick is answered at once
// and its latency fed back, 10 ms of simulated time apart.
struct LatencyFleet {
  std::array<DeploymentHealth, 3> health;
  std::array<Candidate, 3> candidates{Candidate{0, 1, &health[0]}, Candidate{1, 1, &health[1]},
                                      Candidate{2, 1, &health[2]}};
  std::array<std::uint64_t, 3> ttft_us{100'000, 150'000, 200'000};
  StrategyState state{3, 42};
  Clock::time_point now = t0;

  std::array<int, 3> run(int picks) {
    std::array<int, 3> counts{};
    for (int i = 0; i < picks; ++i) {
      const std::uint32_t chosen = *pick(StrategyKind::least_latency, PickInput{candidates, 0, 0, now}, state);
      ++counts[chosen];
      health[chosen].record_latency(ttft_us[chosen], 3 * ttft_us[chosen], now);
      now += 10ms;
    }
    return counts;
  }
};

TEST(RoutingStrategy, LeastLatencyMovesAwayFromASlowDeploymentAndBack) {
  LatencyFleet fleet;
  std::array<int, 3> counts = fleet.run(1000);
  EXPECT_GT(counts[0], 900) << "the fastest takes nearly all";
  EXPECT_GT(counts[1] + counts[2], 10) << "exploration keeps the others measured";

  fleet.ttft_us[0] = 2'000'000;  // A slows down 20×
  fleet.run(100);
  counts = fleet.run(2000);
  EXPECT_LT(counts[0], 100) << "A keeps only exploration traffic";
  EXPECT_GT(counts[1], 1800) << "B is now the fastest";

  fleet.ttft_us[0] = 50'000;  // A recovers, faster than ever
  fleet.run(3000);
  counts = fleet.run(1000);
  EXPECT_GT(counts[0], 900) << "A is back";
}

TEST(RoutingStrategy, LeastLatencyTriesUnsampledDeploymentsFirst) {
  LatencyFleet fleet;
  fleet.health[0].record_latency(1000, 1000, t0);
  std::array<int, 3> counts = fleet.run(3);
  EXPECT_GE(counts[1], 1);
  EXPECT_GE(counts[2], 1);
}

TEST(RoutingStrategy, LeastLatencyRetriesAStaleDeployment) {
  LatencyFleet fleet;
  fleet.ttft_us = {5'000'000, 100'000, 200'000};
  fleet.run(500);
  // A's last sample is now > 10 s old while B's and C's are fresh: the next picks try A again.
  fleet.now += 11s;
  fleet.health[1].record_latency(100'000, 300'000, fleet.now);
  fleet.health[2].record_latency(200'000, 600'000, fleet.now);
  ASSERT_GT(fleet.now - *fleet.health[0].last_latency_at(), kLatencyStaleAfter);
  const std::array<int, 3> counts = fleet.run(3);
  EXPECT_EQ(counts[0], 1) << "exactly one fresh sample, then A is known-slow again";
}

TEST(RoutingStrategy, LeastLatencyDoesNotPileOntoAStaleDeploymentBeingTried) {
  LatencyFleet fleet;
  const std::span<const Candidate> two(fleet.candidates.data(), 2);
  fleet.health[0].record_latency(500'000, 500'000, t0);        // A: slow, and stale by now
  fleet.health[1].record_latency(100'000, 100'000, t0 + 20s);  // B: fast, fresh
  const Clock::time_point now = t0 + 20s;
  auto picks_of_a = [&](int n) {
    int a = 0;
    for (int i = 0; i < n; ++i) a += *pick(StrategyKind::least_latency, PickInput{two, 0, 0, now}, fleet.state) == 0;
    return a;
  };
  {
    // A request is already finding out how A is doing: the others go by the averages, not to A.
    InFlightGuard probe(fleet.health[0]);
    EXPECT_LT(picks_of_a(1000), 100);
  }
  // Nobody is trying A (and, here, no sample comes back): every pick but ε's random ones tries it.
  EXPECT_GT(picks_of_a(100), 90);
}

TEST(RoutingStrategy, LeastBusyPicksFewestInFlight) {
  std::array<DeploymentHealth, 3> health;
  std::vector<InFlightGuard> guards;
  for (int i = 0; i < 3; ++i) guards.emplace_back(health[0]);
  guards.emplace_back(health[1]);
  for (int i = 0; i < 2; ++i) guards.emplace_back(health[2]);
  const std::array<Candidate, 3> candidates{Candidate{0, 1, &health[0]}, Candidate{1, 1, &health[1]},
                                            Candidate{2, 1, &health[2]}};
  StrategyState state(3, 1);
  EXPECT_EQ(count_picks(StrategyKind::least_busy, candidates, state, 10, 3)[1], 10);
}

TEST(RoutingStrategy, LeastBusyRotatesAmongTies) {
  std::array<DeploymentHealth, 3> health;
  const InFlightGuard busy(health[2]);
  const std::array<Candidate, 3> candidates{Candidate{0, 1, &health[0]}, Candidate{1, 1, &health[1]},
                                            Candidate{2, 1, &health[2]}};
  StrategyState state(3, 1);
  const std::vector<int> counts = count_picks(StrategyKind::least_busy, candidates, state, 100, 3);
  EXPECT_EQ(counts[0], 50);
  EXPECT_EQ(counts[1], 50);
  EXPECT_EQ(counts[2], 0);
}

TEST(RoutingStrategy, CostDependsOnTheRequestShape) {
  // A: cheap input, dear output. B: flat price.
  const std::array<Candidate, 2> candidates{Candidate{0, 1, nullptr, 1.0, 10.0}, Candidate{1, 1, nullptr, 3.0, 3.0}};
  StrategyState state(2, 1);
  EXPECT_EQ(pick(StrategyKind::cost, PickInput{candidates, 10'000, 10, t0}, state), 0U);
  EXPECT_EQ(pick(StrategyKind::cost, PickInput{candidates, 10, 10'000, t0}, state), 1U);
}

TEST(RoutingStrategy, CostTiesGoToTheEarlierCandidate) {
  const std::array<Candidate, 3> candidates{Candidate{2, 1, nullptr, 5, 5}, Candidate{0, 1, nullptr, 1, 2},
                                            Candidate{1, 1, nullptr, 2, 1}};
  StrategyState state(3, 1);
  EXPECT_EQ(pick(StrategyKind::cost, PickInput{candidates, 100, 100, t0}, state), 0U);
  const std::array<Candidate, 2> unpriced{Candidate{1}, Candidate{0}};
  EXPECT_EQ(pick(StrategyKind::cost, PickInput{unpriced, 100, 100, t0}, state), 1U);
}

TEST(RoutingStrategy, RandomStreamsDifferBySeed) {
  StrategyState a(1, 1);
  StrategyState b(1, 2);
  EXPECT_NE(a.next_random(), b.next_random());
}

}  // namespace
}  // namespace baton::routing
