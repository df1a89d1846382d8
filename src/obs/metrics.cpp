#include "obs/metrics.hpp"

#include <fmt/format.h>

#include "core/json_text.hpp"
#include "guard/policy.hpp"

namespace baton::obs {

namespace {
// Bucket boundaries recommended by the OpenTelemetry GenAI semantic conventions.
constexpr std::array<double, 14> kDurationBounds = {0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64,
                                                    1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92};
constexpr std::array<double, 16> kFirstTokenBounds = {0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1,
                                                      0.25,  0.5,   0.75, 1.0,  2.5,  5.0,  7.5,  10.0};
constexpr std::array<double, 14> kTokenBounds = {1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144,
                                                 1048576, 4194304, 16777216, 67108864};

std::string label_value(std::string_view value) {
  std::string out;
  append_json_string(out, value);  // Prometheus label escaping is a subset of JSON's
  return out;
}
}  // namespace

void Histogram::observe(double value) {
  std::size_t bucket = 0;
  while (bucket < bounds_.size() && value > bounds_[bucket]) ++bucket;
  counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  double sum = sum_.load(std::memory_order_relaxed);
  while (!sum_.compare_exchange_weak(sum, sum + value, std::memory_order_relaxed)) {
  }
}

void Histogram::render(std::string& out, std::string_view name, std::string_view labels) const {
  const std::uint64_t total = count_.load(std::memory_order_relaxed);
  if (total == 0) return;
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += counts_[i].load(std::memory_order_relaxed);
    out += fmt::format("{}_bucket{{{},le=\"{}\"}} {}\n", name, labels, bounds_[i], cumulative);
  }
  out += fmt::format("{}_bucket{{{},le=\"+Inf\"}} {}\n", name, labels, total);
  out += fmt::format("{}_sum{{{}}} {}\n", name, labels, sum_.load(std::memory_order_relaxed));
  out += fmt::format("{}_count{{{}}} {}\n", name, labels, total);
}

RouteMetrics::RouteMetrics(std::string model_name, std::string deployment_name)
    : model(std::move(model_name)),
      deployment(std::move(deployment_name)),
      labels("model=" + label_value(model) + ",deployment=" + label_value(deployment)),
      duration(kDurationBounds),
      first_token(kFirstTokenBounds),
      input_token_usage(kTokenBounds),
      output_token_usage(kTokenBounds) {}

void RouteMetrics::count_status(unsigned status) {
  by_status[status < by_status.size() ? status : 0].fetch_add(1, std::memory_order_relaxed);
}

void RouteMetrics::count_upstream_error(http::UpstreamError error) {
  upstream_errors[static_cast<std::size_t>(error)].fetch_add(1, std::memory_order_relaxed);
}

static_assert(guard::kPiiTypeCount == 11 && guard::kActionCount == 4, "resize Registry's PII counters");

void Registry::count_pii(guard::PiiType type, guard::Action action, std::uint64_t n) {
  const auto t = static_cast<std::size_t>(type);
  const auto a = static_cast<std::size_t>(action);
  if (t >= kPiiTypes || a >= kPiiActions || n == 0) return;
  pii_findings_[t * kPiiActions + a].fetch_add(n, std::memory_order_relaxed);
}

void Registry::count_pii_request(guard::Action action) {
  const auto a = static_cast<std::size_t>(action);
  if (a < kPiiActions) pii_requests_[a].fetch_add(1, std::memory_order_relaxed);
}

void Registry::count_pii(const guard::Decision& decision) {
  bool any = false;
  for (guard::PiiType type : guard::kAllPiiTypes) {
    const auto t = static_cast<std::size_t>(type);
    if (decision.counts[t] == 0) continue;
    any = true;
    count_pii(type, decision.type_actions[t], decision.counts[t]);
  }
  if (any) count_pii_request(decision.action);
}

Registry& Registry::instance() {
  static Registry registry;
  return registry;
}

RouteMetrics& Registry::route(std::string_view model, std::string_view deployment) {
  std::lock_guard lock(mutex_);
  for (RouteMetrics& r : routes_) {
    if (r.model == model && r.deployment == deployment) return r;
  }
  return routes_.emplace_back(std::string(model), std::string(deployment));
}

void Registry::add_gauge(std::string name, std::string help, std::function<double()> read) {
  std::lock_guard lock(mutex_);
  gauges_.push_back({std::move(name), std::move(help), std::move(read)});
}

std::string Registry::render() const {
  std::lock_guard lock(mutex_);
  std::string out;
  out.reserve(8192);
  out += "# HELP baton_requests_total Requests answered, by model, deployment and HTTP status.\n"
         "# TYPE baton_requests_total counter\n";
  for (const RouteMetrics& r : routes_) {
    for (std::size_t status = 0; status < r.by_status.size(); ++status) {
      if (const auto n = r.by_status[status].load(std::memory_order_relaxed); n > 0) {
        out += fmt::format("baton_requests_total{{{},status=\"{}\"}} {}\n", r.labels, status, n);
      }
    }
  }
  out += "# HELP baton_upstream_errors_total Failed upstream attempts, by kind.\n"
         "# TYPE baton_upstream_errors_total counter\n";
  for (const RouteMetrics& r : routes_) {
    for (std::size_t kind = 1; kind < r.upstream_errors.size(); ++kind) {
      if (const auto n = r.upstream_errors[kind].load(std::memory_order_relaxed); n > 0) {
        out += fmt::format("baton_upstream_errors_total{{{},kind=\"{}\"}} {}\n", r.labels,
                           http::to_string(static_cast<http::UpstreamError>(kind)), n);
      }
    }
    if (const auto n = r.upstream_status_errors.load(std::memory_order_relaxed); n > 0) {
      out += fmt::format("baton_upstream_errors_total{{{},kind=\"status\"}} {}\n", r.labels, n);
    }
  }
  out += "# HELP baton_requests_in_flight Requests being served now.\n# TYPE baton_requests_in_flight gauge\n";
  for (const RouteMetrics& r : routes_) {
    out += fmt::format("baton_requests_in_flight{{{}}} {}\n", r.labels, r.in_flight.load(std::memory_order_relaxed));
  }
  out += "# HELP gen_ai_client_operation_duration_seconds GenAI operation duration.\n"
         "# TYPE gen_ai_client_operation_duration_seconds histogram\n";
  for (const RouteMetrics& r : routes_) r.duration.render(out, "gen_ai_client_operation_duration_seconds", r.labels);
  out += "# HELP gen_ai_server_time_to_first_token_seconds Time to the first streamed token.\n"
         "# TYPE gen_ai_server_time_to_first_token_seconds histogram\n";
  for (const RouteMetrics& r : routes_) r.first_token.render(out, "gen_ai_server_time_to_first_token_seconds", r.labels);
  out += "# HELP gen_ai_client_token_usage Tokens used per request.\n# TYPE gen_ai_client_token_usage histogram\n";
  for (const RouteMetrics& r : routes_) {
    r.input_token_usage.render(out, "gen_ai_client_token_usage", r.labels + ",gen_ai_token_type=\"input\"");
    r.output_token_usage.render(out, "gen_ai_client_token_usage", r.labels + ",gen_ai_token_type=\"output\"");
  }
  out += fmt::format(
      "# HELP baton_connections_open Client connections open.\n# TYPE baton_connections_open gauge\n"
      "baton_connections_open {}\n"
      "# HELP baton_connections_rejected_total Connections closed at accept (max_connections).\n"
      "# TYPE baton_connections_rejected_total counter\nbaton_connections_rejected_total {}\n"
      "# HELP baton_config_reloads_total Successful config reloads.\n# TYPE baton_config_reloads_total counter\n"
      "baton_config_reloads_total {}\n"
      "# HELP baton_config_reload_failures_total Rejected config reloads.\n"
      "# TYPE baton_config_reload_failures_total counter\nbaton_config_reload_failures_total {}\n"
      "# HELP baton_usage_chunks_stripped_total Usage chunks baton asked for and kept from clients.\n"
      "# TYPE baton_usage_chunks_stripped_total counter\nbaton_usage_chunks_stripped_total {}\n",
      connections_open.load(), connections_rejected.load(), config_reloads.load(), config_reload_failures.load(),
      usage_chunks_stripped.load());
  out += "# HELP baton_pii_findings_total PII found in requests, by type and the action the policy gave it.\n"
         "# TYPE baton_pii_findings_total counter\n";
  for (guard::PiiType type : guard::kAllPiiTypes) {
    for (guard::Action action : guard::kAllActions) {
      const auto n = pii_findings_[static_cast<std::size_t>(type) * kPiiActions + static_cast<std::size_t>(action)].load(
          std::memory_order_relaxed);
      if (n > 0) {
        out += fmt::format("baton_pii_findings_total{{type=\"{}\",action=\"{}\"}} {}\n", guard::to_string(type),
                           guard::to_string(action), n);
      }
    }
  }
  out += "# HELP baton_pii_requests_total Requests with PII, by the action taken (the strictest asked for).\n"
         "# TYPE baton_pii_requests_total counter\n";
  for (guard::Action action : guard::kAllActions) {
    if (const auto n = pii_requests_[static_cast<std::size_t>(action)].load(std::memory_order_relaxed); n > 0) {
      out += fmt::format("baton_pii_requests_total{{action=\"{}\"}} {}\n", guard::to_string(action), n);
    }
  }
  for (const Gauge& g : gauges_) {
    out += fmt::format("# HELP {0} {1}\n# TYPE {0} gauge\n{0} {2}\n", g.name, g.help, g.read());
  }
  return out;
}

}  // namespace baton::obs
