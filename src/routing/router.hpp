#pragma once
// Chooses, attempt by attempt, which deployment serves one request: the model group first, then
// its fallback groups in order. Within a group the configured strategy picks among deployments
// that are live (provider enabled, local server ready), admitted by their circuit breaker, in an
// allowed residency and large enough for the request; deployments not yet tried in this request
// come first, and only re-trying one that already failed waits for a backoff.
#include <boost/container/small_vector.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "routing/health.hpp"
#include "routing/retry.hpp"
#include "routing/route_table.hpp"
#include "routing/strategy.hpp"

namespace baton::routing {

// Health per deployment id ("provider/model"), shared by all workers and kept across reloads so a
// reload does not forget an open breaker.
DeploymentHealth& health_for(const std::string& deployment_id, const config::BreakerSettings& settings);

// Per-worker strategy state (smooth weighted round-robin counters, PRNG), rebuilt when the route
// table changes. Not thread-safe: one per worker.
class StrategyStates {
 public:
  explicit StrategyStates(std::uint64_t seed) : seed_(seed) {}
  StrategyState& for_group(const RouteTable& table, const ModelGroup& group);
  std::uint64_t next_random() { return random_.next_random(); }
  // Scratch for AttemptPlanner::next (synchronous, so requests of one worker can share it): a
  // planner lives as long as its request, and thousands of open streams should not each carry it.
  std::vector<Candidate>& candidate_scratch() { return candidate_scratch_; }

 private:
  std::vector<Candidate> candidate_scratch_;
  const RouteTable* table_ = nullptr;  // identity of the table the states belong to
  std::vector<StrategyState> states_;  // by group position in the table
  std::uint64_t seed_;
  StrategyState random_{1, seed_ ^ 0x9e3779b97f4a7c15ULL};
};

struct RequestNeeds {
  std::uint64_t est_input_tokens = 0;
  std::uint64_t est_output_tokens = 0;
  std::uint64_t required_context = 0;                           // 0: no context-window check
  const std::vector<std::string>* allowed_residency = nullptr;  // set by the guard's pin policy
};

class AttemptPlanner {
 public:
  AttemptPlanner(const RouteTable& table, const ModelGroup& group, StrategyStates& states, const RequestNeeds& needs);

  // The next deployment to try, or nullptr when every group is exhausted. `wait` is the backoff
  // to sleep before the attempt (zero for a deployment not yet tried in this request).
  const Deployment* next(Clock::time_point now, std::chrono::milliseconds& wait);
  void on_failure(const Deployment& d, ErrorKind kind, std::optional<std::chrono::milliseconds> retry_after,
                  Clock::time_point now);
  void on_success(const Deployment& d, std::uint64_t first_token_us, std::uint64_t total_us, Clock::time_point now);
  unsigned attempts() const { return attempts_; }
  // A deployment was eligible at some point (else the answer is 503 "nothing available").
  bool found_any() const { return found_any_; }

 private:
  bool eligible(const Deployment& d, Clock::time_point now) const;
  void advance_group();

  const RouteTable& table_;
  StrategyStates& states_;
  const RequestNeeds& needs_;
  // Inline storage: a request's routing state costs no allocation for usual group sizes.
  boost::container::small_vector<const ModelGroup*, 4> groups_;
  std::size_t group_pos_ = 0;
  unsigned attempts_in_group_ = 0;
  unsigned attempts_ = 0;
  boost::container::small_vector<bool, 16> tried_;  // per deployment of the current group
  std::optional<std::chrono::milliseconds> last_retry_after_;
  bool found_any_ = false;
};

}  // namespace baton::routing
