#pragma once
// The Limiter replicas share: the same semantics as LocalLimiter, kept in Redis and changed only by
// Lua scripts, so admit (check every subject, then count every subject) is one atomic step across
// all replicas.
//
// Keys, per subject scope S (e.g. "key:key_ab12"), all prefixed "baton:":
//   baton:S:rpm             ZSET  request_id -> admission ms      (pruned below now - 60 s)
//   baton:S:tpm             HASH  unix second -> tokens settled   (fields older than 60 s deleted)
//   baton:S:par             ZSET  request_id -> lease expiry ms   (expired slots pruned: a crashed
//                                                                   replica's slots heal themselves)
//   baton:S:spend:<period>  HASH  spent -> nano-USD               (expires a day after the period ends)
//   baton:S:resv            HASH  total -> nano-USD; r:<request_id> -> nano-USD reserved
//   baton:S:resv_exp        ZSET  request_id -> lease expiry ms   (expired reservations released)
// Every key carries a TTL, so idle scopes vanish without a sweeper. Single-instance Redis (or a
// primary with replicas): the scripts touch several scopes, which Redis Cluster would refuse.
//
// Time: scripts use the now_ms the caller passes rather than Redis' TIME. The caller already owns
// the clock that computed period_end_ms, tests can move time without waiting, and both limiters then
// share one behaviour. Replicas' clocks are assumed NTP-synchronised; skew of a few ms only moves
// the window edges by as much.
//
// Failure: when Redis does not answer within `timeout` (down, stalled, or an error), the subjects'
// fail modes decide: any subject closed -> Outcome::unavailable for that scope; all open ->
// admitted with counted = false (`inherit`, which should be resolved before, counts as open). After a timeout the script may still have run, so a release (a
// settle of 0 tokens and $0) is sent behind it to free the slot and the reservation.
#include <atomic>
#include <chrono>
#include <cstdint>

#include "store/redis_client.hpp"
#include "tenancy/limiter.hpp"

namespace baton::tenancy {

class RedisLimiter final : public Limiter {
 public:
  struct Options {
    std::chrono::milliseconds timeout{100};  // admit waits this long for Redis, then fails open/closed
    // How long a parallel slot or a reservation is held without a settle (a replica crashed, or a
    // settle was lost while Redis was down). Longer than the longest request you allow.
    std::int64_t lease_ms = 600'000;
  };

  // `client` must outlive the limiter. Loads the scripts on every (re)connection.
  explicit RedisLimiter(store::RedisClient& client);
  RedisLimiter(store::RedisClient& client, Options options);

  awaitable<Admission> admit(const Ticket& ticket, std::int64_t now_ms) override;
  // Fire-and-forget, in order after any admit issued earlier from the same thread. Safe to call for
  // a ticket that was not counted (failed open): it releases nothing it does not hold, and still
  // records the tokens and the spend.
  void settle(const Ticket& ticket, std::uint64_t tokens, double cost_usd, std::int64_t now_ms) override;
  void seed_spend(const std::string& scope, const std::string& period_id, double usd,
                  std::int64_t period_end_ms) override;

  // Decisions taken without Redis (for metrics): admitted uncounted, and refused as unavailable.
  std::uint64_t fail_open_count() const { return fail_open_.load(std::memory_order_relaxed); }
  std::uint64_t fail_closed_count() const { return fail_closed_.load(std::memory_order_relaxed); }

 private:
  store::RedisClient& client_;
  const Options options_;
  std::atomic<std::uint64_t> fail_open_{0};
  std::atomic<std::uint64_t> fail_closed_{0};
};

}  // namespace baton::tenancy
