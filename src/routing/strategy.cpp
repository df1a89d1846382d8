#include "routing/strategy.hpp"

#include <array>
#include <limits>

namespace baton::routing {

std::optional<StrategyKind> strategy_from_string(std::string_view name) {
  struct Alias {
    std::string_view name;
    StrategyKind kind;
  };
  static constexpr std::array<Alias, 10> kAliases{{
      {"priority", StrategyKind::priority},
      {"weighted", StrategyKind::weighted},
      {"simple-shuffle", StrategyKind::weighted},
      {"least-latency", StrategyKind::least_latency},
      {"least_latency", StrategyKind::least_latency},
      {"latency-based-routing", StrategyKind::least_latency},
      {"least-busy", StrategyKind::least_busy},
      {"least_busy", StrategyKind::least_busy},
      {"cost", StrategyKind::cost},
      {"cost-based-routing", StrategyKind::cost},
  }};
  for (const Alias& alias : kAliases) {
    if (alias.name == name) return alias.kind;
  }
  return std::nullopt;
}

std::string_view to_string(StrategyKind kind) {
  switch (kind) {
    case StrategyKind::priority: return "priority";
    case StrategyKind::weighted: return "weighted";
    case StrategyKind::least_latency: return "least-latency";
    case StrategyKind::least_busy: return "least-busy";
    case StrategyKind::cost: return "cost";
  }
  return "unknown";
}

StrategyState::StrategyState(std::size_t group_size, std::uint64_t seed)
    : current_weight_(group_size, 0), rng_(seed) {}

std::uint64_t StrategyState::next_random() {
  rng_ += 0x9e3779b97f4a7c15ULL;
  std::uint64_t z = rng_;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

namespace {

// A uniform double in [0, 1) from the top 53 bits.
double unit_interval(std::uint64_t random) { return static_cast<double>(random >> 11) * 0x1.0p-53; }

// Smooth weighted round-robin (as nginx does it): every pick, each candidate earns its weight; the
// richest is chosen and pays back the total. Over any run of sum(weights) picks each candidate gets
// exactly its share, spread out rather than in bursts. Credit is kept by group index, so candidates
// filtered out this time simply keep their balance until they return.
std::uint32_t pick_weighted(std::span<const Candidate> candidates, std::vector<std::int64_t>& current) {
  std::int64_t total = 0;
  const Candidate* best = nullptr;
  std::int64_t best_credit = 0;
  for (const Candidate& c : candidates) {
    if (c.weight == 0) continue;
    if (c.index >= current.size()) current.resize(c.index + 1, 0);  // group grew under a stale state
    const std::int64_t credit = current[c.index] += c.weight;
    total += c.weight;
    if (best == nullptr || credit > best_credit) {
      best = &c;
      best_credit = credit;
    }
  }
  if (best == nullptr) return candidates.front().index;  // only weight-0 candidates are left
  current[best->index] -= total;
  return best->index;
}

bool needs_sample(const DeploymentHealth* health, Clock::time_point now) {
  if (health == nullptr) return true;
  const std::optional<Clock::time_point> at = health->last_latency_at();
  return !at || now - *at > kLatencyStaleAfter;
}

std::uint32_t pick_least_latency(const PickInput& input, StrategyState& state) {
  const std::span<const Candidate> candidates = input.candidates;
  if (unit_interval(state.next_random()) < kExploreProbability) {
    return candidates[state.next_random() % candidates.size()].index;
  }
  const Candidate* best = nullptr;
  double best_us = std::numeric_limits<double>::infinity();
  for (const Candidate& c : candidates) {
    const DeploymentHealth* health = c.health;
    if (needs_sample(health, input.now)) {
      // Unknown or stale: try it, unless a request is already doing so (then its result is coming,
      // and sending every worker's traffic there at once would defeat the point).
      if (health == nullptr || health->in_flight() == 0) return c.index;
      if (!health->has_latency()) continue;  // nothing to compare with yet
    }
    const double us = health->has_ttft() ? health->ewma_ttft_us() : health->ewma_total_us();
    if (us < best_us) {
      best_us = us;
      best = &c;
    }
  }
  // Every candidate is unsampled and already being tried: fall back to priority order.
  return best != nullptr ? best->index : candidates.front().index;
}

std::uint32_t pick_least_busy(std::span<const Candidate> candidates, std::uint64_t& tie_turn) {
  auto busy = [](const Candidate& c) { return c.health != nullptr ? c.health->in_flight() : 0; };
  std::int64_t least = std::numeric_limits<std::int64_t>::max();
  std::size_t ties = 0;
  for (const Candidate& c : candidates) {
    const std::int64_t n = busy(c);
    if (n < least) {
      least = n;
      ties = 1;
    } else if (n == least) {
      ++ties;
    }
  }
  // Rotate among the equally idle: at low load they are all at 0 and the first would otherwise get
  // every request, which is priority routing, not load spreading.
  std::size_t skip = ties > 1 ? tie_turn++ % ties : 0;
  for (const Candidate& c : candidates) {
    if (busy(c) != least) continue;
    if (skip-- == 0) return c.index;
  }
  // The counters moved between the passes (other workers): the first in order is as good as any.
  return candidates.front().index;
}

std::uint32_t pick_cheapest(const PickInput& input) {
  const auto in = static_cast<double>(input.est_input_tokens);
  const auto out = static_cast<double>(input.est_output_tokens);
  const Candidate* best = nullptr;
  double best_cost = std::numeric_limits<double>::infinity();
  for (const Candidate& c : input.candidates) {
    const double cost = in * c.input_price_per_mtok + out * c.output_price_per_mtok;
    if (cost < best_cost) {  // strict: ties keep the earlier, i.e. preferred, candidate
      best_cost = cost;
      best = &c;
    }
  }
  return best != nullptr ? best->index : input.candidates.front().index;  // all NaN prices: first
}

}  // namespace

std::optional<std::uint32_t> pick(StrategyKind kind, const PickInput& input, StrategyState& state) {
  if (input.candidates.empty()) return std::nullopt;
  if (input.candidates.size() == 1) return input.candidates.front().index;
  switch (kind) {
    case StrategyKind::priority: return input.candidates.front().index;
    case StrategyKind::weighted: return pick_weighted(input.candidates, state.current_weight_);
    case StrategyKind::least_latency: return pick_least_latency(input, state);
    case StrategyKind::least_busy: return pick_least_busy(input.candidates, state.tie_turn_);
    case StrategyKind::cost: return pick_cheapest(input);
  }
  return input.candidates.front().index;
}

}  // namespace baton::routing
