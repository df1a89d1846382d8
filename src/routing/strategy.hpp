#pragma once
// How a model group chooses among its candidate deployments. pick() is a pure decision: the caller
// has already dropped deployments that are unhealthy, outside the allowed residency or too small for
// the prompt, and passes the rest in the group's configured (priority) order. Shared inputs (health)
// are only read; the little state a strategy mutates per pick lives in a StrategyState the caller
// keeps per worker per group, so picks never contend across threads.
#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "routing/health.hpp"

namespace baton::routing {

enum class StrategyKind : std::uint8_t { priority, weighted, least_latency, least_busy, cost };

// The config spelling ("priority", "weighted", "least-latency", "least-busy", "cost"); underscores are
// accepted too, and LiteLLM's names ("simple-shuffle", "latency-based-routing", "cost-based-routing")
// so a LiteLLM config carries over. nullopt for anything else.
std::optional<StrategyKind> strategy_from_string(std::string_view name);
std::string_view to_string(StrategyKind kind);

struct Candidate {
  std::uint32_t index = 0;   // position of the deployment in its group; keys per-group state
  std::uint32_t weight = 1;  // weighted: relative share; 0 = only when nothing else is left
  const DeploymentHealth* health = nullptr;  // nullptr = nothing known (no samples, nothing in flight)
  double input_price_per_mtok = 0;
  double output_price_per_mtok = 0;
};

struct PickInput {
  std::span<const Candidate> candidates;  // filtered, in priority order
  std::uint64_t est_input_tokens = 0;
  std::uint64_t est_output_tokens = 0;
  Clock::time_point now{};
};

// least-latency explores: with this probability it picks a uniformly random candidate, so latency
// estimates of the others stay current even under steady traffic ...
inline constexpr double kExploreProbability = 0.05;
// ... and a candidate with no sample, or none for this long, is tried as soon as nothing else is
// already trying it, so a deployment that was slow and has recovered gets traffic back.
inline constexpr Clock::duration kLatencyStaleAfter = std::chrono::seconds(10);

// Per worker, per model group. Not thread-safe by design: one owner, no sharing.
class StrategyState {
 public:
  // group_size: the number of deployments in the group (candidate indexes are below it). seed: give
  // each worker a different one, so workers do not explore in lockstep.
  StrategyState(std::size_t group_size, std::uint64_t seed);

  // splitmix64: tiny, fast, and statistically fine for load spreading (not for anything secret).
  std::uint64_t next_random();

 private:
  friend std::optional<std::uint32_t> pick(StrategyKind, const PickInput&, StrategyState&);

  std::vector<std::int64_t> current_weight_;  // smooth weighted round-robin, by candidate index
  std::uint64_t rng_;
  std::uint64_t tie_turn_ = 0;  // least-busy: rotates among equally idle candidates
};

// The chosen candidate's `index`, or nullopt when there is no candidate. Complexity O(candidates),
// no allocation (except once, if an index is beyond the group size given to StrategyState).
std::optional<std::uint32_t> pick(StrategyKind kind, const PickInput& input, StrategyState& state);

}  // namespace baton::routing
