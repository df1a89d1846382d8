#pragma once
// The routing view of a config snapshot: model name → group of deployments, each with everything
// the hot path needs precomputed (upstream origin, the static part of the upstream request head,
// the quoted upstream model id, its metrics series). Built once per config load, then read-only.
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/config.hpp"
#include "obs/metrics.hpp"

namespace baton::routing {

struct Deployment {
  const config::ProviderConfig* provider = nullptr;
  const config::DeploymentConfig* config = nullptr;
  std::string id;                   // "provider/model", as in x-baton-deployment
  std::string upstream_model_json;  // quoted, escaped: spliced into forwarded bodies
  std::string static_head;          // "host: ..\r\nauthorization: ..\r\n" and configured headers
  obs::RouteMetrics* metrics = nullptr;
};

struct ModelGroup {
  const config::ModelConfig* config = nullptr;
  std::vector<Deployment> deployments;
  std::vector<const ModelGroup*> fallbacks;
};

class RouteTable {
 public:
  explicit RouteTable(config::Config config);
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
