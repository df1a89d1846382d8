#pragma once
// The routing view of a config snapshot: model name → group of deployments, each with everything
// the hot path needs precomputed (upstream origin, the static part of the upstream request head,
// the quoted upstream model id, its metrics series). Built once per config load, then read-only.
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/config.hpp"
#include "guard/policy.hpp"
#include "obs/metrics.hpp"
#include "providers/llama_server.hpp"
#include "routing/health.hpp"
#include "routing/retry.hpp"
#include "routing/strategy.hpp"

namespace baton::routing {

struct Deployment {
  const config::ProviderConfig* provider = nullptr;
  const config::DeploymentConfig* config = nullptr;
  std::string id;                   // "provider/model", as in x-baton-deployment
  std::string upstream_model_json;  // quoted, escaped: spliced into forwarded bodies
  std::string static_head;          // "host: ..\r\nauthorization: ..\r\n" and configured headers
  obs::RouteMetrics* metrics = nullptr;
  std::shared_ptr<const providers::LocalServerState> local;  // set for kind llama-server
  DeploymentHealth* health = nullptr;                         // breaker + latency, shared by workers
  config::Timeouts timeouts;                                  // provider's, with the model's overrides
  config::Price price;                                        // resolved: own, pricing.models, built-in

  // Eligible for new requests: provider enabled and, for a managed local server, ready.
  bool live() const { return provider->enabled && (local == nullptr || local->ready.load(std::memory_order_relaxed)); }
  // Where to send requests now (a managed server's port can change when it restarts).
  config::Origin origin() const;
};

struct ModelGroup {
  const config::ModelConfig* config = nullptr;
  StrategyKind strategy = StrategyKind::priority;
  guard::Policy pii_policy;  // guard.pii with this model's overrides
  std::vector<Deployment> deployments;
  std::vector<const ModelGroup*> fallbacks;
};

using LocalStateLookup = std::function<std::shared_ptr<const providers::LocalServerState>(const std::string&)>;

class RouteTable {
 public:
  RouteTable(config::Config config, const LocalStateLookup& local_state);
  RouteTable(const RouteTable&) = delete;
  RouteTable& operator=(const RouteTable&) = delete;

  const config::Config& config() const { return config_; }
  const ModelGroup* find(std::string_view model) const;
  const std::vector<ModelGroup>& groups() const { return groups_; }
  // The body of GET /v1/models, rendered once.
  const std::string& models_json() const { return models_json_; }

 private:
  config::Config config_;
  std::vector<ModelGroup> groups_;
  std::unordered_map<std::string_view, const ModelGroup*> by_name_;
  std::string models_json_;
};

}  // namespace baton::routing
