#pragma once
// Metrics: declared once, updated lock-free on the hot path (relaxed atomics), rendered as
// Prometheus text on scrape. Per-route series (model × deployment) are created when a config
// snapshot is built, so requests only touch pre-resolved counters.
#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <span>
#include <string>
#include <string_view>

#include "http/upstream.hpp"

namespace baton::guard {
enum class PiiType : std::uint8_t;  // guard/pii_type.hpp
enum class Action : std::uint8_t;   // guard/policy.hpp
struct Decision;
}  // namespace baton::guard

namespace baton::obs {

class Histogram {
 public:
  explicit Histogram(std::span<const double> bounds) : bounds_(bounds) {}
  void observe(double value);
  void render(std::string& out, std::string_view name, std::string_view labels) const;

 private:
  static constexpr std::size_t kMaxBuckets = 24;
  std::span<const double> bounds_;
  std::array<std::atomic<std::uint64_t>, kMaxBuckets + 1> counts_{};
  std::atomic<std::uint64_t> count_{0};
  std::atomic<double> sum_{0};
};

// Everything counted for one (model, deployment) pair. Requests rejected before a model is known
// are counted under model="" deployment="".
struct RouteMetrics {
  RouteMetrics(std::string model, std::string deployment);
  void count_status(unsigned status);
  void count_upstream_error(http::UpstreamError error);

  std::string model;
  std::string deployment;
  std::string labels;  // pre-rendered `model="..",deployment=".."`
  std::array<std::atomic<std::uint64_t>, 600> by_status{};
  std::array<std::atomic<std::uint64_t>, 8> upstream_errors{};
  std::atomic<std::uint64_t> upstream_status_errors{0};
  std::atomic<std::int64_t> in_flight{0};
  std::atomic<std::uint64_t> input_tokens{0};
  std::atomic<std::uint64_t> output_tokens{0};
  Histogram duration;     // gen_ai.client.operation.duration
  Histogram first_token;  // gen_ai.server.time_to_first_token
  Histogram input_token_usage;
  Histogram output_token_usage;
};

class Registry {
 public:
  static Registry& instance();

  // Stable address for the life of the process; cheap after the first call for a pair.
  RouteMetrics& route(std::string_view model, std::string_view deployment);
  RouteMetrics& unrouted() { return route("", ""); }

  // Gauges computed at scrape time (pool sizes, connection counts...).
  void add_gauge(std::string name, std::string help, std::function<double()> read);

  std::atomic<std::int64_t> connections_open{0};
  std::atomic<std::uint64_t> connections_rejected{0};
  std::atomic<std::uint64_t> config_reloads{0};
  std::atomic<std::uint64_t> config_reload_failures{0};
  std::atomic<std::uint64_t> usage_chunks_stripped{0};

  // baton_pii_findings_total{type,action}: `n` findings of `type` the policy assigned `action`.
  void count_pii(guard::PiiType type, guard::Action action, std::uint64_t n = 1);
  // baton_pii_requests_total{action}: one request with findings, decided `action`.
  void count_pii_request(guard::Action action);
  // Both of the above for one decision (nothing when it has no findings).
  void count_pii(const guard::Decision& decision);

  std::string render() const;

 private:
  static constexpr std::size_t kPiiTypes = 11;   // guard::kPiiTypeCount (checked in metrics.cpp)
  static constexpr std::size_t kPiiActions = 4;  // guard::kActionCount
  std::array<std::atomic<std::uint64_t>, kPiiTypes * kPiiActions> pii_findings_{};
  std::array<std::atomic<std::uint64_t>, kPiiActions> pii_requests_{};

  mutable std::mutex mutex_;
  std::deque<RouteMetrics> routes_;
  struct Gauge {
    std::string name;
    std::string help;
    std::function<double()> read;
  };
  std::deque<Gauge> gauges_;
};

}  // namespace baton::obs
