#include "routing/route_table.hpp"

#include "tenancy/pricing.hpp"

#include "core/json_text.hpp"
#include "routing/router.hpp"

namespace baton::routing {

namespace {
std::string static_head_for(const config::ProviderConfig& provider) {
  std::string head = "host: " + provider.origin.host;
  const std::uint16_t default_port = provider.origin.tls ? 443 : 80;
  if (provider.origin.port != default_port) head += ":" + std::to_string(provider.origin.port);
  head += "\r\n";
  if (!provider.api_key.empty()) {
    if (provider.kind == config::ProviderKind::anthropic) {
      head += "x-api-key: " + provider.api_key + "\r\nanthropic-version: 2023-06-01\r\n";
    } else {
      head += "authorization: Bearer " + provider.api_key + "\r\n";
    }
  }
  head += "content-type: application/json\r\nuser-agent: baton/" BATON_VERSION "\r\n";
  for (const auto& [name, value] : provider.headers) head += name + ": " + value + "\r\n";
  return head;
}
}  // namespace

config::Origin Deployment::origin() const {
  if (local == nullptr) return provider->origin;
  return config::Origin{false, "127.0.0.1", local->port.load(std::memory_order_relaxed), "/v1"};
}

RouteTable::RouteTable(config::Config config, const LocalStateLookup& local_state) : config_(std::move(config)) {
  for (config::ProviderConfig& provider : config_.providers) {
    if (provider.kind != config::ProviderKind::llama_server) continue;
    provider.origin = config::Origin{false, "127.0.0.1", 0, "/v1"};  // the port is the running process's
    if (local_state(provider.name) == nullptr) provider.enabled = false;  // not started
  }
  groups_.reserve(config_.models.size());
  for (const config::ModelConfig& model : config_.models) {
    ModelGroup group;
    group.config = &model;
    group.strategy = strategy_from_string(model.strategy).value_or(StrategyKind::priority);
    group.pii_policy = guard::Policy::from_config(config_.guard.pii, model.guard ? &model.guard->pii : nullptr);
    for (const config::DeploymentConfig& d : model.deployments) {
      Deployment deployment;
      deployment.provider = config_.find_provider(d.provider);
      deployment.config = &d;
      deployment.id = d.provider + "/" + d.model;
      append_json_string(deployment.upstream_model_json, d.model);
      if (deployment.provider->kind == config::ProviderKind::llama_server) deployment.local = local_state(d.provider);
      deployment.health = &health_for(deployment.id, model.breaker);
      deployment.timeouts = model.timeouts.apply_to(deployment.provider->timeouts);
      deployment.price = tenancy::resolve_price(config_, *deployment.config);
      deployment.static_head = static_head_for(*deployment.provider);
      deployment.metrics = &obs::Registry::instance().route(model.name, deployment.id);
      group.deployments.push_back(std::move(deployment));
    }
    groups_.push_back(std::move(group));
  }
  for (const ModelGroup& group : groups_) by_name_.emplace(group.config->name, &group);
  for (ModelGroup& group : groups_) {
    for (const std::string& fallback : group.config->fallbacks) group.fallbacks.push_back(find(fallback));
  }
  models_json_ = R"({"object":"list","data":[)";
  for (std::size_t i = 0; i < groups_.size(); ++i) {
    if (i > 0) models_json_ += ',';
    models_json_ += R"({"id":)";
    append_json_string(models_json_, groups_[i].config->name);
    models_json_ += R"(,"object":"model","created":0,"owned_by":"baton"})";
  }
  models_json_ += "]}";
}

const ModelGroup* RouteTable::find(std::string_view model) const {
  const auto it = by_name_.find(model);
  return it == by_name_.end() ? nullptr : it->second;
}

}  // namespace baton::routing
