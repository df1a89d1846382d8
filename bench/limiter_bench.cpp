// LocalLimiter on the request path: one admit + settle per request, for a key alone and for a key
// with its team (two scopes, two shard locks), single-threaded and with workers contending.
//   nice ninja -C build limiter_bench && ./build/bench/limiter_bench
#include <benchmark/benchmark.h>

#include <chrono>
#include <memory>
#include <string>

#include "tenancy/local_limiter.hpp"

namespace {

using namespace baton::tenancy;

constexpr std::int64_t t0 = 1'700'000'000'000;

Subject limited(const std::string& scope) {
  Subject s;
  s.scope = scope;
  s.rpm = 1'000'000'000;  // never trips: the benchmark measures the bookkeeping, not refusals
  s.tpm = 1'000'000'000;
  s.max_parallel = 1'000'000;
  s.budget_usd = 1e6;
  s.period_id = "2023-11";
  s.period_end_ms = t0 + 3'600'000;
  return s;
}

// A fresh limiter per run, made by thread 0 before the timed loop (the loop starts on a barrier):
// runs restart the clock at t0, and a limiter kept from an earlier run would see time go backwards.
std::unique_ptr<LocalLimiter> run_limiter;

void admit_settle(benchmark::State& state, bool with_team) {
  if (state.thread_index() == 0) run_limiter = std::make_unique<LocalLimiter>();
  Ticket ticket;
  // Each thread is its own key (as requests from different keys are); the team is shared.
  ticket.subjects.push_back(limited("key:bench-" + std::to_string(state.thread_index())));
  if (with_team) ticket.subjects.push_back(limited("team:bench"));
  ticket.estimate_usd = 0.001;
  ticket.request_id = "req";
  // Time as the server sees it: the real clock (threads agree on it, so the shared team's log stays
  // nearly in order), read every 64 requests to keep the clock call out of the measurement.
  const auto start = std::chrono::steady_clock::now();
  std::int64_t now = t0;
  std::uint32_t until_read = 0;
  for (auto _ : state) {
    if (until_read-- == 0) {
      now = t0 + std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
      until_read = 63;
    }
    Admission admission = run_limiter->try_admit(ticket, now);
    benchmark::DoNotOptimize(admission);
    run_limiter->settle(ticket, 100, 0.0008, now);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_AdmitSettleKey(benchmark::State& state) { admit_settle(state, false); }
void BM_AdmitSettleKeyAndTeam(benchmark::State& state) { admit_settle(state, true); }

BENCHMARK(BM_AdmitSettleKey)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_AdmitSettleKeyAndTeam)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace
