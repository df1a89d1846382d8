#pragma once
// Rate limits, parallel limits and budgets for keys and teams. One request is checked against
// every subject it belongs to (its key, and its key's team) in one all-or-nothing step:
//
//   admit  : for each subject, RPM (sliding 60 s log), TPM (tokens settled in the sliding minute),
//            parallel slots, budget (spent + reserved + this request's estimate <= budget).
//            When every subject passes: count the request, take a parallel slot, reserve the estimate.
//   settle : release the slot and the reservation, add the real tokens to TPM and the real cost to
//            the period's spend.
//
// LocalLimiter is exact within one process (all workers share it). RedisLimiter does the same with
// Lua scripts so it is exact across replicas; when Redis cannot answer in time the subject's fail
// mode decides (open: admit without counting; closed: refuse with 503).
#include <cstdint>
#include <string>
#include <vector>

#include "http/asio.hpp"
#include "store/records.hpp"

namespace baton::tenancy {

// One scope's limits, resolved for this request (budget converted to USD, period computed).
struct Subject {
  std::string scope;  // "key:<id>" | "team:<id>": the Redis key prefix and the name in 429 messages
  std::uint32_t rpm = 0, tpm = 0, max_parallel = 0;  // 0 = unlimited
  double budget_usd = 0;                             // 0 = no budget
  std::string period_id;                             // "d2026-11-22" | "w2026-11-16" (its Monday) | "m2026-11" (UTC)
  std::int64_t period_end_ms = 0;                    // when this period's spend resets
  store::FailMode fail_mode = store::FailMode::open;  // resolved: never inherit here
  bool limited() const { return rpm != 0 || tpm != 0 || max_parallel != 0 || budget_usd != 0; }
};

// What admit() is asked and what settle() gives back.
struct Ticket {
  std::string request_id;  // unique: members of the RPM log and the parallel / reservation sets
  std::vector<Subject> subjects;
  double estimate_usd = 0;  // reserved against budgets until settle
};

enum class Outcome : std::uint8_t { admitted, limited, unavailable };

struct Admission {
  Outcome outcome = Outcome::admitted;
  std::string limit;  // when limited: "rpm" | "tpm" | "parallel" | "budget"
  std::string scope;  // the subject that tripped (or could not be checked)
  std::uint32_t retry_after_s = 0;  // when limited: seconds until the limit frees up (>= 1)
  bool counted = false;  // admitted and counted: settle() must follow (false when failed open)
};

class Limiter {
 public:
  virtual ~Limiter() = default;
  virtual awaitable<Admission> admit(const Ticket& ticket, std::int64_t now_ms) = 0;
  // Never blocks the caller and never throws; a Redis settle is sent in the background.
  virtual void settle(const Ticket& ticket, std::uint64_t tokens, double cost_usd, std::int64_t now_ms) = 0;
  // Sets a subject's spend for a period if nothing is known yet (startup: spend read from usage).
  virtual void seed_spend(const std::string& scope, const std::string& period_id, double usd,
                          std::int64_t period_end_ms) = 0;
};

}  // namespace baton::tenancy
