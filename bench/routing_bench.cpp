// Routing decisions without I/O: one pick among 16 deployments per strategy, the breaker checks a
// request makes, and the health bookkeeping after it. Target: a whole decision well under 1 µs.
//   nice ninja -C build routing_bench && ./build/bench/routing_bench
#include <benchmark/benchmark.h>

#include <array>
#include <memory>

#include "routing/health.hpp"
#include "routing/retry.hpp"
#include "routing/strategy.hpp"

namespace {

using namespace baton::routing;
using namespace std::chrono_literals;

constexpr std::size_t kDeployments = 16;
const Clock::time_point t0 = Clock::time_point(1000h);

// A group of 16 deployments with varied weights, prices, latencies and load, as after some traffic.
struct Group {
  std::array<std::unique_ptr<DeploymentHealth>, kDeployments> health;
  std::array<std::unique_ptr<InFlightGuard>, kDeployments * 2> load;
  std::array<Candidate, kDeployments> candidates{};

  Group() {
    for (std::uint32_t i = 0; i < kDeployments; ++i) {
      health[i] = std::make_unique<DeploymentHealth>();
      const std::uint64_t ttft = 80'000 + (i * 7'919) % 50'000;
      health[i]->record_latency(ttft, ttft * 4, t0);
      candidates[i] = Candidate{i, 1 + i % 5, health[i].get(), 0.1 + (i * 37 % 17) * 0.05, 0.4 + (i * 11 % 13) * 0.1};
    }
    for (std::size_t j = 0; j < load.size(); ++j) {
      load[j] = std::make_unique<InFlightGuard>(*health[(j * j) % kDeployments]);
    }
  }
};

void pick_bench(benchmark::State& bench, StrategyKind kind) {
  Group group;
  StrategyState state(kDeployments, 0x5eed);
  const PickInput input{group.candidates, 1'200, 300, t0 + 1s};
  for (auto _ : bench) {
    std::optional<std::uint32_t> chosen = pick(kind, input, state);
    benchmark::DoNotOptimize(chosen);
  }
}

void BM_PickPriority(benchmark::State& bench) { pick_bench(bench, StrategyKind::priority); }
void BM_PickWeighted(benchmark::State& bench) { pick_bench(bench, StrategyKind::weighted); }
void BM_PickLeastLatency(benchmark::State& bench) { pick_bench(bench, StrategyKind::least_latency); }
void BM_PickLeastBusy(benchmark::State& bench) { pick_bench(bench, StrategyKind::least_busy); }
void BM_PickCost(benchmark::State& bench) { pick_bench(bench, StrategyKind::cost); }
BENCHMARK(BM_PickPriority);
BENCHMARK(BM_PickWeighted);
BENCHMARK(BM_PickLeastLatency);
BENCHMARK(BM_PickLeastBusy);
BENCHMARK(BM_PickCost);

// What a request does end to end: ask every deployment's breaker, build the candidate list on the
// stack, pick, and count the request in flight.
void decision_bench(benchmark::State& bench, StrategyKind kind) {
  Group group;
  StrategyState state(kDeployments, 0x5eed);
  for (auto _ : bench) {
    std::array<Candidate, kDeployments> admitted;
    std::size_t n = 0;
    for (const Candidate& c : group.candidates) {
      if (group.health[c.index]->breaker().try_acquire(t0 + 1s)) admitted[n++] = c;
    }
    const std::optional<std::uint32_t> chosen =
        pick(kind, PickInput{std::span<const Candidate>(admitted.data(), n), 1'200, 300, t0 + 1s}, state);
    InFlightGuard guard(*group.health[*chosen]);
    benchmark::DoNotOptimize(guard);
  }
}

void BM_DecisionWeighted(benchmark::State& bench) { decision_bench(bench, StrategyKind::weighted); }
void BM_DecisionLeastLatency(benchmark::State& bench) { decision_bench(bench, StrategyKind::least_latency); }
void BM_DecisionLeastBusy(benchmark::State& bench) { decision_bench(bench, StrategyKind::least_busy); }
BENCHMARK(BM_DecisionWeighted);
BENCHMARK(BM_DecisionLeastLatency);
BENCHMARK(BM_DecisionLeastBusy);

// After the answer: latency averages, breaker success.
void BM_RecordOutcome(benchmark::State& bench) {
  DeploymentHealth health;
  Clock::time_point now = t0;
  for (auto _ : bench) {
    health.record_latency(95'000, 400'000, now);
    health.breaker().on_success(now);
    now += 1ms;
  }
  benchmark::DoNotOptimize(health.ewma_ttft_us());
}
BENCHMARK(BM_RecordOutcome);

// Shared-health contention: every thread reports to the same deployment.
void BM_RecordOutcomeContended(benchmark::State& bench) {
  static DeploymentHealth health;
  for (auto _ : bench) {
    InFlightGuard guard(health);
    health.record_latency(95'000, 400'000, t0);
    health.breaker().on_success(t0);
  }
}
BENCHMARK(BM_RecordOutcomeContended)->Threads(1)->Threads(2);

void BM_ParseRetryAfterDate(benchmark::State& bench) {
  const auto now = std::chrono::sys_days(std::chrono::year(2024) / 3 / 1) + 12h;
  for (auto _ : bench) {
    auto wait = parse_retry_after("Fri, 01 Mar 2024 12:00:30 GMT", now);
    benchmark::DoNotOptimize(wait);
  }
}
BENCHMARK(BM_ParseRetryAfterDate);

}  // namespace
