#pragma once
// The in-process Limiter: exact for one baton process, shared by all its worker threads. State lives
// in 64 shards keyed by scope, each behind its own mutex, so workers checking different keys rarely
// meet; a request touching two scopes (key and team) locks both shards in index order, checks every
// subject and only then counts, so a refusal by the team leaves the key untouched.
//
// Per scope: the RPM log (admission times, merged per millisecond), TPM buckets (tokens per second),
// parallel slots in use, the budget reserved by requests in flight and the spend per period.
// A shard drops the state of scopes that hold nothing any more when it is touched and its last sweep
// is a minute old, so memory follows the scopes in use, not every key ever seen.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>

#include "tenancy/limiter.hpp"

namespace baton::tenancy {

// Money is counted in integer nano-dollars by both limiters: sums are exact (no 0.1 + 0.2 drift at
// the budget edge) and Lua's doubles hold them exactly up to 2^53 (about 9 million USD per period).
inline std::int64_t usd_to_nanos(double usd) {
  return usd > 0 ? static_cast<std::int64_t>(std::llround(usd * 1e9)) : 0;
}

// Whole seconds from now until `at_ms`, rounded up, at least 1: what a 429's retry-after says.
inline std::uint32_t retry_seconds(std::int64_t at_ms, std::int64_t now_ms) {
  const std::int64_t seconds = (at_ms - now_ms + 999) / 1000;
  return static_cast<std::uint32_t>(std::clamp<std::int64_t>(seconds, 1, 366LL * 24 * 3600));
}

inline constexpr std::int64_t kWindowMs = 60'000;           // RPM and TPM look back one minute
inline constexpr std::int64_t kSpendRetentionMs = 86'400'000;  // a period's spend outlives its end by a day

class LocalLimiter final : public Limiter {
 public:
  LocalLimiter();
  ~LocalLimiter() override;
  LocalLimiter(const LocalLimiter&) = delete;
  LocalLimiter& operator=(const LocalLimiter&) = delete;

  awaitable<Admission> admit(const Ticket& ticket, std::int64_t now_ms) override;
  void settle(const Ticket& ticket, std::uint64_t tokens, double cost_usd, std::int64_t now_ms) override;
  void seed_spend(const std::string& scope, const std::string& period_id, double usd,
                  std::int64_t period_end_ms) override;

  // admit() without the coroutine: it never waits, so callers on a hot path (and benchmarks) can
  // skip the frame. Thread-safe.
  Admission try_admit(const Ticket& ticket, std::int64_t now_ms);
  // Drops idle scopes in every shard now (normally each shard sweeps itself once a minute).
  void sweep(std::int64_t now_ms);
  // Scopes with state, for tests and metrics.
  std::size_t scope_count() const;

 private:
  struct Shard;
  std::unique_ptr<Shard[]> shards_;
};

}  // namespace baton::tenancy
