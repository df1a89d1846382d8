#include "routing/router.hpp"

#include <deque>
#include <mutex>
#include <unordered_map>

namespace baton::routing {

DeploymentHealth& health_for(const std::string& deployment_id, const config::BreakerSettings& settings) {
  static std::mutex mutex;
  static std::unordered_map<std::string, std::unique_ptr<DeploymentHealth>> registry;
  std::lock_guard lock(mutex);
  auto& slot = registry[deployment_id];
  if (!slot) {
    BreakerConfig breaker;
    breaker.consecutive_failures = settings.consecutive_failures;
    breaker.cooldown_ms = settings.cooldown_ms;
    if (settings.failure_ratio > 0) {
      breaker.error_rate = ErrorRateWindow{settings.failure_ratio, settings.min_requests, settings.window_ms};
    }
    slot = std::make_unique<DeploymentHealth>(breaker);
  }
  return *slot;
}

StrategyState& StrategyStates::for_group(const RouteTable& table, const ModelGroup& group) {
  if (table_ != &table) {
    table_ = &table;
    states_.clear();
    states_.reserve(table.groups().size());
    for (std::size_t i = 0; i < table.groups().size(); ++i) {
      states_.emplace_back(table.groups()[i].deployments.size(), seed_ + i * 0x9e3779b97f4a7c15ULL);
    }
  }
  return states_[static_cast<std::size_t>(&group - table.groups().data())];
}

AttemptPlanner::AttemptPlanner(const RouteTable& table, const ModelGroup& group, StrategyStates& states,
                               const RequestNeeds& needs)
    : table_(table), states_(states), needs_(needs) {
  groups_.push_back(&group);
  for (const ModelGroup* fallback : group.fallbacks) groups_.push_back(fallback);
  tried_.assign(group.deployments.size(), false);
}

bool AttemptPlanner::eligible(const Deployment& d, Clock::time_point now) const {
  if (!d.live()) return false;
  if (needs_.allowed_residency != nullptr) {
    const auto& allowed = *needs_.allowed_residency;
    if (std::find(allowed.begin(), allowed.end(), d.provider->residency) == allowed.end()) return false;
  }
  if (needs_.required_context > 0 && d.config->context_window > 0 && needs_.required_context > d.config->context_window) {
    return false;
  }
  // A managed local server is guarded by its supervisor's health checks (it is restarted and only
  // routed to once ready again), so its breaker does not also hold it out after a restart.
  if (d.local != nullptr) return true;
  return d.health->breaker().state(now) != CircuitBreaker::State::open;
}

void AttemptPlanner::advance_group() {
  ++group_pos_;
  attempts_in_group_ = 0;
  last_retry_after_.reset();
  if (group_pos_ < groups_.size()) tried_.assign(groups_[group_pos_]->deployments.size(), false);
}

const Deployment* AttemptPlanner::next(Clock::time_point now, std::chrono::milliseconds& wait) {
  wait = std::chrono::milliseconds(0);
  while (group_pos_ < groups_.size()) {
    const ModelGroup& group = *groups_[group_pos_];
    if (attempts_in_group_ >= group.config->retry.max_attempts) {
      advance_group();
      continue;
    }
    // Untried deployments first; when every eligible one already failed, retry with a backoff.
    std::vector<Candidate>& candidates = states_.candidate_scratch();
    for (const bool untried_only : {true, false}) {
      candidates.clear();
      for (std::uint32_t i = 0; i < group.deployments.size(); ++i) {
        const Deployment& d = group.deployments[i];
        if ((untried_only && tried_[i]) || !eligible(d, now)) continue;
        const config::Price& price = d.config->price;
        candidates.push_back(Candidate{i, d.config->weight, d.health, price.input_per_mtok, price.output_per_mtok});
      }
      if (!candidates.empty()) found_any_ = true;
      StrategyState& state = states_.for_group(table_, group);
      while (!candidates.empty()) {
        const std::optional<std::uint32_t> picked =
            pick(group.strategy, PickInput{candidates, needs_.est_input_tokens, needs_.est_output_tokens, now}, state);
        if (!picked) break;
        const Deployment& d = group.deployments[*picked];
        if (d.local == nullptr && !d.health->breaker().try_acquire(now)) {  // half-open and its one probe is taken
          candidates.erase(std::remove_if(candidates.begin(), candidates.end(),
                                           [&](const Candidate& c) { return c.index == *picked; }),
                            candidates.end());
          continue;
        }
        if (!untried_only) {
          const config::RetryConfig& r = group.config->retry;
          const RetryPolicy policy{r.max_attempts, std::chrono::milliseconds(r.base_backoff_ms),
                                   std::chrono::milliseconds(r.max_backoff_ms)};
          wait = backoff(policy, attempts_in_group_, states_.next_random(), last_retry_after_);
        }
        ++attempts_in_group_;
        ++attempts_;
        tried_[*picked] = true;
        return &d;
      }
    }
    advance_group();
  }
  return nullptr;
}

void AttemptPlanner::on_failure(const Deployment& d, ErrorKind kind, std::optional<std::chrono::milliseconds> retry_after,
                                Clock::time_point now) {
  d.health->breaker().on_failure(now);
  d.health->record_error(kind);
  last_retry_after_ = retry_after;
}

void AttemptPlanner::on_success(const Deployment& d, std::uint64_t first_token_us, std::uint64_t total_us,
                                Clock::time_point now) {
  d.health->breaker().on_success(now);
  d.health->record_latency(first_token_us, total_us, now);
}

}  // namespace baton::routing
