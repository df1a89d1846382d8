// YAML → Config. Every problem is collected (not just the first) with file, line and dotted key, so
// `baton config check` can print them all at once. Unknown keys are errors: a typo must not be
// silently ignored.
#include <yaml-cpp/yaml.h>

#include <charconv>
#include <fstream>
#include <set>
#include <sstream>

#include "config/config.hpp"
#include "store/store.hpp"
#include "guard/pii_type.hpp"

namespace baton::config {

namespace {

class Reader {
 public:
  explicit Reader(std::string file) : file_(std::move(file)) {}

  std::vector<Problem>& problems() { return problems_; }

  void problem(const YAML::Node& node, const std::string& key, std::string reason) {
    const int line = node.IsDefined() && node.Mark().line >= 0 ? node.Mark().line + 1 : 0;
    problems_.push_back({file_, line, key, std::move(reason)});
  }

  // Checks `node` is a map and that it has no keys outside `allowed`.
  bool expect_map(const YAML::Node& node, const std::string& key, std::initializer_list<std::string_view> allowed) {
    if (!node.IsMap()) {
      problem(node, key, "must be a mapping");
      return false;
    }
    for (const auto& entry : node) {
      const std::string name = entry.first.Scalar();
      bool known = false;
      for (std::string_view a : allowed) known = known || a == name;
      if (!known) problem(entry.first, join(key, name), "unknown key");
    }
    return true;
  }

  static std::string join(const std::string& parent, const std::string& child) {
    return parent.empty() ? child : parent + "." + child;
  }

  // Reads a scalar string with ${VAR} expansion.
  bool read_string(const YAML::Node& parent, const std::string& parent_key, const char* name, std::string& out) {
    const YAML::Node node = parent[name];
    if (!node.IsDefined() || node.IsNull()) return false;
    const std::string key = join(parent_key, name);
    if (!node.IsScalar()) {
      problem(node, key, "must be a string");
      return false;
    }
    std::string error;
    if (!expand_env(node.Scalar(), out, error)) {
      problem(node, key, error);
      return false;
    }
    return true;
  }

  template <class Int>
  void read_uint(const YAML::Node& parent, const std::string& parent_key, const char* name, Int& out,
                 unsigned long long min = 0, unsigned long long max = ~0ULL) {
    std::string text;
    if (!read_string(parent, parent_key, name, text)) return;
    unsigned long long value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    const std::string key = join(parent_key, name);
    if (ec != std::errc{} || end != text.data() + text.size()) {
      problem(parent[name], key, "must be a non-negative integer, got '" + text + "'");
      return;
    }
    const unsigned long long type_max = static_cast<unsigned long long>(static_cast<Int>(~Int{0}));
    if (value < min || value > max || value > type_max) {
      problem(parent[name], key, "must be between " + std::to_string(min) + " and " +
                                      std::to_string(std::min(max, type_max)) + ", got " + text);
      return;
    }
    out = static_cast<Int>(value);
  }

  void read_double(const YAML::Node& parent, const std::string& parent_key, const char* name, double& out) {
    std::string text;
    if (!read_string(parent, parent_key, name, text)) return;
    try {
      std::size_t used = 0;
      const double value = std::stod(text, &used);
      if (used != text.size() || value < 0) throw std::invalid_argument("bad");
      out = value;
    } catch (const std::exception&) {
      problem(parent[name], join(parent_key, name), "must be a non-negative number, got '" + text + "'");
    }
  }

  void read_string_list(const YAML::Node& parent, const std::string& parent_key, const char* name,
                        std::vector<std::string>& out) {
    const YAML::Node node = parent[name];
    if (!node.IsDefined() || node.IsNull()) return;
    const std::string key = join(parent_key, name);
    if (!node.IsSequence()) {
      problem(node, key, "must be a list of strings");
      return;
    }
    for (std::size_t i = 0; i < node.size(); ++i) {
      std::string value;
      std::string error;
      if (!node[i].IsScalar()) {
        problem(node[i], key + "[" + std::to_string(i) + "]", "must be a string");
      } else if (!expand_env(node[i].Scalar(), value, error)) {
        problem(node[i], key + "[" + std::to_string(i) + "]", error);
      } else {
        out.push_back(std::move(value));
      }
    }
  }

 private:
  std::string file_;
  std::vector<Problem> problems_;
};

void read_price(Reader& r, const YAML::Node& price, const std::string& key, Price& out) {
  if (!price.IsDefined() || price.IsNull()) return;
  if (!r.expect_map(price, key, {"input_per_mtok", "cached_input_per_mtok", "output_per_mtok"})) return;
  r.read_double(price, key, "input_per_mtok", out.input_per_mtok);
  r.read_double(price, key, "cached_input_per_mtok", out.cached_input_per_mtok);
  r.read_double(price, key, "output_per_mtok", out.output_per_mtok);
}

void read_timeouts(Reader& r, const YAML::Node& node, const std::string& key, Timeouts& t) {
  if (!node.IsDefined() || node.IsNull()) return;
  if (!r.expect_map(node, key, {"connect_ms", "first_token_ms", "stall_ms", "total_ms"})) return;
  constexpr unsigned long long kDay = 86'400'000;
  r.read_uint(node, key, "connect_ms", t.connect_ms, 1, kDay);
  r.read_uint(node, key, "first_token_ms", t.first_token_ms, 1, kDay);
  r.read_uint(node, key, "stall_ms", t.stall_ms, 1, kDay);
  r.read_uint(node, key, "total_ms", t.total_ms, 1, kDay);
}

void read_server(Reader& r, const YAML::Node& node, ServerConfig& s) {
  if (!node.IsDefined() || node.IsNull()) return;
  if (!r.expect_map(node, "server",
                    {"listen", "workers", "max_body_bytes", "max_header_bytes", "header_timeout_ms",
                     "idle_timeout_ms", "max_connections", "drain_timeout_ms", "access_log"})) {
    return;
  }
  std::string listen;
  if (r.read_string(node, "server", "listen", listen)) {
    const std::size_t colon = listen.rfind(':');
    unsigned port = 0;
    const char* port_end = listen.data() + listen.size();
    const char* port_begin = colon == std::string::npos ? port_end : listen.data() + colon + 1;
    if (colon == std::string::npos || colon == 0 ||
        std::from_chars(port_begin, port_end, port).ptr != port_end || port > 65535) {
      r.problem(node["listen"], "server.listen", "must be HOST:PORT (port 0 picks a free port), got '" + listen + "'");
    } else {
      std::string host = listen.substr(0, colon);
      if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
      s.listen_host = host;
      s.listen_port = static_cast<std::uint16_t>(port);
    }
  }
  r.read_uint(node, "server", "workers", s.workers, 0, 256);
  r.read_uint(node, "server", "max_body_bytes", s.max_body_bytes, 1024, 1ULL << 32);
  r.read_uint(node, "server", "max_header_bytes", s.max_header_bytes, 1024, 1ULL << 20);
  r.read_uint(node, "server", "header_timeout_ms", s.header_timeout_ms, 10, 3'600'000);
  r.read_uint(node, "server", "idle_timeout_ms", s.idle_timeout_ms, 10, 3'600'000);
  r.read_uint(node, "server", "max_connections", s.max_connections, 1, 10'000'000);
  r.read_uint(node, "server", "drain_timeout_ms", s.drain_timeout_ms, 0, 3'600'000);
  r.read_string(node, "server", "access_log", s.access_log);
}

void read_provider(Reader& r, const std::string& name, const YAML::Node& node, ProviderConfig& p) {
  const std::string key = "providers." + name;
  p.name = name;
  if (!r.expect_map(node, key,
                    {"kind", "enabled", "base_url", "api_key", "residency", "timeouts", "headers", "binary", "model_path",
                     "threads", "ctx_size", "args"})) {
    return;
  }
  std::string kind;
  if (!r.read_string(node, key, "kind", kind)) {
    r.problem(node, key + ".kind", "is required (openai | anthropic | llama-server)");
  } else if (kind == "openai") {
    p.kind = ProviderKind::openai;
  } else if (kind == "anthropic") {
    p.kind = ProviderKind::anthropic;
  } else if (kind == "llama-server") {
    p.kind = ProviderKind::llama_server;
  } else {
    r.problem(node["kind"], key + ".kind", "must be one of openai, anthropic, llama-server; got '" + kind + "'");
  }
  if (std::string enabled; r.read_string(node, key, "enabled", enabled)) {
    if (enabled == "true" || enabled == "yes" || enabled == "on") {
      p.enabled = true;
    } else if (enabled.empty() || enabled == "false" || enabled == "no" || enabled == "off") {
      p.enabled = false;  // an empty expansion such as "${OPENAI_API_KEY:+true}" means off
    } else {
      r.problem(node["enabled"], key + ".enabled", "must be true or false, got '" + enabled + "'");
    }
  }
  r.read_string(node, key, "api_key", p.api_key);
  r.read_string(node, key, "residency", p.residency);
  read_timeouts(r, node["timeouts"], key + ".timeouts", p.timeouts);
  const YAML::Node headers = node["headers"];
  if (headers.IsDefined() && !headers.IsNull()) {
    if (!headers.IsMap()) {
      r.problem(headers, key + ".headers", "must be a mapping of header name to value");
    } else {
      for (const auto& entry : headers) {
        std::string value;
        std::string error;
        if (!expand_env(entry.second.Scalar(), value, error)) {
          r.problem(entry.second, key + ".headers." + entry.first.Scalar(), error);
        }
        p.headers[entry.first.Scalar()] = value;
      }
    }
  }
  if (p.kind == ProviderKind::llama_server) {
    r.read_string(node, key, "binary", p.binary);
    if (!r.read_string(node, key, "model_path", p.model_path)) {
      r.problem(node, key + ".model_path", "is required for kind llama-server");
    }
    r.read_uint(node, key, "threads", p.threads, 1, 1024);
    r.read_uint(node, key, "ctx_size", p.ctx_size, 16, 1 << 24);
    r.read_string_list(node, key, "args", p.args);
    if (node["base_url"].IsDefined()) r.problem(node["base_url"], key + ".base_url", "is chosen by baton for kind llama-server");
    return;
  }
  for (const char* local_only : {"binary", "model_path", "threads", "ctx_size", "args"}) {
    if (node[local_only].IsDefined()) r.problem(node[local_only], key + "." + local_only, "only applies to kind llama-server");
  }
  if (!r.read_string(node, key, "base_url", p.base_url)) {
    r.problem(node, key + ".base_url", "is required");
  } else if (std::string error = parse_origin(p.base_url, p.origin); !error.empty()) {
    r.problem(node["base_url"], key + ".base_url", error);
  }
}

void read_deployment(Reader& r, const YAML::Node& node, const std::string& key, DeploymentConfig& d) {
  if (!r.expect_map(node, key, {"provider", "model", "price", "context_window", "weight"})) return;
  if (!r.read_string(node, key, "provider", d.provider)) r.problem(node, key + ".provider", "is required");
  if (!r.read_string(node, key, "model", d.model)) r.problem(node, key + ".model", "is required");
  read_price(r, node["price"], key + ".price", d.price);
  r.read_uint(node, key, "context_window", d.context_window);
  r.read_uint(node, key, "weight", d.weight, 0, 1'000'000);
}

constexpr std::string_view kPiiActions = "allow, block, redact, pin";

bool is_pii_action(std::string_view action) {
  return action == "allow" || action == "block" || action == "redact" || action == "pin";
}

std::string pii_type_names() {
  std::string names;
  for (guard::PiiType type : guard::kAllPiiTypes) {
    if (!names.empty()) names += ", ";
    names += guard::to_string(type);
  }
  return names;
}

// `pii: {action, allowed_residency, types}` under `key` ("guard.pii" or "models[i].guard.pii").
void read_pii_policy(Reader& r, const YAML::Node& pii, const std::string& key, PiiPolicyConfig& p) {
  if (!pii.IsDefined() || pii.IsNull()) return;
  if (!r.expect_map(pii, key, {"action", "allowed_residency", "types"})) return;
  if (r.read_string(pii, key, "action", p.action)) {
    p.action_set = true;
    if (!is_pii_action(p.action)) {
      r.problem(pii["action"], key + ".action",
                "must be one of " + std::string(kPiiActions) + "; got '" + p.action + "'");
    }
  }
  if (pii["allowed_residency"].IsDefined() && !pii["allowed_residency"].IsNull()) {
    p.allowed_residency_set = true;
    r.read_string_list(pii, key, "allowed_residency", p.allowed_residency);
  }
  const YAML::Node types = pii["types"];
  if (!types.IsDefined() || types.IsNull()) return;
  if (!types.IsMap()) {
    r.problem(types, key + ".types", "must be a mapping of PII type to action, e.g. { KR_RRN: block }");
    return;
  }
  for (const auto& entry : types) {
    const std::string name = entry.first.Scalar();
    const std::string type_key = key + ".types." + name;
    if (!guard::pii_type_from_string(name)) {
      r.problem(entry.first, type_key, "unknown PII type '" + name + "'; expected one of " + pii_type_names());
      continue;
    }
    std::string action;
    std::string error;
    if (!entry.second.IsScalar()) {
      r.problem(entry.second, type_key, "must be one of " + std::string(kPiiActions));
    } else if (!expand_env(entry.second.Scalar(), action, error)) {
      r.problem(entry.second, type_key, error);
    } else if (!is_pii_action(action)) {
      r.problem(entry.second, type_key, "must be one of " + std::string(kPiiActions) + "; got '" + action + "'");
    } else {
      p.types[name] = action;
    }
  }
}

void read_guard(Reader& r, const YAML::Node& node, const std::string& key, GuardConfig& g) {
  if (!node.IsDefined() || node.IsNull()) return;
  if (!r.expect_map(node, key, {"pii"})) return;
  read_pii_policy(r, node["pii"], key + ".pii", g.pii);
}

bool uses_pin(const PiiPolicyConfig& p) {
  if (p.action == "pin") return true;
  for (const auto& [type, action] : p.types) {
    if (action == "pin") return true;
  }
  return false;
}

// A `pin` with no allowed residency could never be served: every request with such PII would end
// in 503. Checked on the policy each model actually gets (the global one, or it merged with the
// model's own block), reported where the missing list belongs.
void check_guard(Reader& r, const YAML::Node& root, const Config& c) {
  if (r.problems().size() > 0) return;  // names already wrong: the merged view would mislead
  const std::string reason = "must name at least one residency when an action is pin";
  bool global_reported = false;
  if (uses_pin(c.guard.pii) && c.guard.pii.allowed_residency.empty() && c.models.empty()) {
    r.problem(root["guard"]["pii"], "guard.pii.allowed_residency", reason);
    return;
  }
  for (std::size_t i = 0; i < c.models.size(); ++i) {
    const ModelConfig& m = c.models[i];
    const PiiPolicyConfig* own = m.guard ? &m.guard->pii : nullptr;
    const PiiPolicyConfig merged = merge_pii_policy(c.guard.pii, own);
    if (!uses_pin(merged) || !merged.allowed_residency.empty()) continue;
    if (own != nullptr && (own->allowed_residency_set || uses_pin(*own))) {
      const std::string key = "models[" + std::to_string(i) + "].guard.pii";
      r.problem(root["models"][i]["guard"]["pii"], key + ".allowed_residency", reason + " (model '" + m.name + "')");
    } else if (!global_reported) {
      global_reported = true;
      r.problem(root["guard"]["pii"], "guard.pii.allowed_residency", reason);
    }
  }
}

void read_model_routing(Reader& r, const YAML::Node& m, const std::string& key, ModelConfig& model) {
  constexpr unsigned long long kDay = 86'400'000;
  if (const YAML::Node t = m["timeouts"]; t.IsDefined() && !t.IsNull() &&
      r.expect_map(t, key + ".timeouts", {"connect_ms", "first_token_ms", "stall_ms", "total_ms"})) {
    auto read = [&](const char* name, std::optional<std::uint32_t>& out) {
      std::uint32_t value = 0;
      if (!t[name].IsDefined()) return;
      const std::size_t before = r.problems().size();
      r.read_uint(t, key + ".timeouts", name, value, 1, kDay);
      if (r.problems().size() == before) out = value;
    };
    read("connect_ms", model.timeouts.connect_ms);
    read("first_token_ms", model.timeouts.first_token_ms);
    read("stall_ms", model.timeouts.stall_ms);
    read("total_ms", model.timeouts.total_ms);
  }
  if (const YAML::Node retry = m["retry"]; retry.IsDefined() && !retry.IsNull() &&
      r.expect_map(retry, key + ".retry", {"max_attempts", "base_backoff_ms", "max_backoff_ms"})) {
    r.read_uint(retry, key + ".retry", "max_attempts", model.retry.max_attempts, 1, 20);
    r.read_uint(retry, key + ".retry", "base_backoff_ms", model.retry.base_backoff_ms, 0, 60'000);
    r.read_uint(retry, key + ".retry", "max_backoff_ms", model.retry.max_backoff_ms, 0, 600'000);
  }
  if (const YAML::Node breaker = m["breaker"]; breaker.IsDefined() && !breaker.IsNull() &&
      r.expect_map(breaker, key + ".breaker",
                   {"consecutive_failures", "cooldown_ms", "failure_ratio", "min_requests", "window_ms"})) {
    const std::string at = key + ".breaker";
    r.read_uint(breaker, at, "consecutive_failures", model.breaker.consecutive_failures, 1, 1000);
    r.read_uint(breaker, at, "cooldown_ms", model.breaker.cooldown_ms, 1, kDay);
    r.read_double(breaker, at, "failure_ratio", model.breaker.failure_ratio);
    if (model.breaker.failure_ratio > 1) {
      r.problem(breaker["failure_ratio"], at + ".failure_ratio", "must be between 0 (off) and 1");
    }
    r.read_uint(breaker, at, "min_requests", model.breaker.min_requests, 1, 1'000'000);
    r.read_uint(breaker, at, "window_ms", model.breaker.window_ms, 1'000, kDay);
  }
}

void read_models(Reader& r, const YAML::Node& node, std::vector<ModelConfig>& models) {
  if (!node.IsDefined() || node.IsNull()) return;
  if (!node.IsSequence()) {
    r.problem(node, "models", "must be a list");
    return;
  }
  for (std::size_t i = 0; i < node.size(); ++i) {
    const YAML::Node m = node[i];
    const std::string key = "models[" + std::to_string(i) + "]";
    ModelConfig model;
    if (!r.expect_map(m, key, {"name", "strategy", "deployments", "fallbacks", "timeouts", "retry", "breaker", "guard"})) continue;
    if (!r.read_string(m, key, "name", model.name) || model.name.empty()) r.problem(m, key + ".name", "is required");
    r.read_string(m, key, "strategy", model.strategy);
    static const std::set<std::string> kStrategies = {"priority", "weighted", "least-latency", "least-busy", "cost"};
    if (!kStrategies.contains(model.strategy)) {
      r.problem(m["strategy"], key + ".strategy",
                "must be one of priority, weighted, least-latency, least-busy, cost; got '" + model.strategy + "'");
    }
    const YAML::Node deployments = m["deployments"];
    if (!deployments.IsSequence() || deployments.size() == 0) {
      r.problem(deployments.IsDefined() ? deployments : m, key + ".deployments", "must be a non-empty list");
    } else {
      for (std::size_t j = 0; j < deployments.size(); ++j) {
        DeploymentConfig d;
        read_deployment(r, deployments[j], key + ".deployments[" + std::to_string(j) + "]", d);
        model.deployments.push_back(std::move(d));
      }
    }
    r.read_string_list(m, key, "fallbacks", model.fallbacks);
    if (const YAML::Node guard = m["guard"]; guard.IsDefined() && !guard.IsNull()) {
      read_guard(r, guard, key + ".guard", model.guard.emplace());
    }
    read_model_routing(r, m, key, model);
    models.push_back(std::move(model));
  }
}

// Cross-references: every deployment names a provider, every fallback names a model, names unique.
void check_references(Reader& r, const YAML::Node& root, const Config& c) {
  std::set<std::string> names;
  for (std::size_t i = 0; i < c.models.size(); ++i) {
    const ModelConfig& m = c.models[i];
    const YAML::Node node = root["models"][i];
    const std::string key = "models[" + std::to_string(i) + "]";
    if (!m.name.empty() && !names.insert(m.name).second) r.problem(node["name"], key + ".name", "duplicate model name '" + m.name + "'");
    for (std::size_t j = 0; j < m.deployments.size(); ++j) {
      const std::string& provider = m.deployments[j].provider;
      if (!provider.empty() && c.find_provider(provider) == nullptr) {
        r.problem(node["deployments"][j]["provider"], key + ".deployments[" + std::to_string(j) + "].provider",
                  "names unknown provider '" + provider + "'");
      }
    }
    for (std::size_t j = 0; j < m.fallbacks.size(); ++j) {
      if (c.find_model(m.fallbacks[j]) == nullptr) {
        r.problem(node["fallbacks"][j], key + ".fallbacks[" + std::to_string(j) + "]",
                  "names unknown model '" + m.fallbacks[j] + "'");
      }
    }
  }
}

void read_storage(Reader& r, const YAML::Node& node, StorageConfig& s) {
  if (!node.IsDefined() || node.IsNull()) return;
  if (!r.expect_map(node, "storage", {"url", "redis", "fail_mode", "redis_timeout_ms", "usage_queue", "usage_batch",
                                      "usage_flush_ms", "keys_refresh_ms"})) {
    return;
  }
  if (r.read_string(node, "storage", "url", s.url)) {
    if (std::string why = store::validate_store_url(s.url); !why.empty()) r.problem(node["url"], "storage.url", why);
  }
  if (r.read_string(node, "storage", "redis", s.redis) && !s.redis.empty() && !s.redis.starts_with("redis://")) {
    r.problem(node["redis"], "storage.redis", "must be a redis://host:port/db URL or empty, got '" + s.redis + "'");
  }
  std::string mode;
  if (r.read_string(node, "storage", "fail_mode", mode)) {
    if (mode == "open" || mode == "closed") {
      s.fail_closed = mode == "closed";
    } else {
      r.problem(node["fail_mode"], "storage.fail_mode", "must be open or closed, got '" + mode + "'");
    }
  }
  r.read_uint(node, "storage", "redis_timeout_ms", s.redis_timeout_ms, 1, 60'000);
  r.read_uint(node, "storage", "usage_queue", s.usage_queue, 1'000, 100'000'000);
  r.read_uint(node, "storage", "usage_batch", s.usage_batch, 1, 100'000);
  r.read_uint(node, "storage", "usage_flush_ms", s.usage_flush_ms, 1, 60'000);
  r.read_uint(node, "storage", "keys_refresh_ms", s.keys_refresh_ms, 10, 60'000);
}

void read_pricing(Reader& r, const YAML::Node& node, PricingConfig& p) {
  if (!node.IsDefined() || node.IsNull()) return;
  if (!r.expect_map(node, "pricing", {"krw_per_usd", "models"})) return;
  r.read_double(node, "pricing", "krw_per_usd", p.krw_per_usd);
  if (p.krw_per_usd <= 0) r.problem(node["krw_per_usd"], "pricing.krw_per_usd", "must be greater than 0");
  const YAML::Node models = node["models"];
  if (!models.IsDefined() || models.IsNull()) return;
  if (!models.IsMap()) {
    r.problem(models, "pricing.models", "must be a mapping of upstream model id to price");
    return;
  }
  for (const auto& entry : models) {
    const std::string id = entry.first.Scalar();
    read_price(r, entry.second, "pricing.models." + id, p.models[id]);
  }
}

LoadResult load_from_node(Reader& r, const YAML::Node& root, const std::string& display_name) {
  LoadResult result;
  Config c;
  c.source_path = display_name;
  if (root.IsNull() || !root.IsDefined()) {
    r.problem(root, "", "the file is empty");
  } else if (r.expect_map(root, "", {"server", "auth", "storage", "pricing", "providers", "models", "guard"})) {
    read_server(r, root["server"], c.server);
    const YAML::Node auth = root["auth"];
    if (auth.IsDefined() && !auth.IsNull() && r.expect_map(auth, "auth", {"master_key"})) {
      r.read_string(auth, "auth", "master_key", c.auth.master_key);
    }
    read_storage(r, root["storage"], c.storage);
    read_pricing(r, root["pricing"], c.pricing);
    const YAML::Node providers = root["providers"];
    if (providers.IsDefined() && !providers.IsNull()) {
      if (!providers.IsMap()) {
        r.problem(providers, "providers", "must be a mapping of provider name to settings");
      } else {
        for (const auto& entry : providers) {
          ProviderConfig p;
          read_provider(r, entry.first.Scalar(), entry.second, p);
          c.providers.push_back(std::move(p));
        }
      }
    }
    read_models(r, root["models"], c.models);
    read_guard(r, root["guard"], "guard", c.guard);
    check_guard(r, root, c);
    check_references(r, root, c);
  }
  result.problems = std::move(r.problems());
  if (result.problems.empty()) result.config = std::move(c);
  return result;
}

}  // namespace

const ProviderConfig* Config::find_provider(std::string_view name) const {
  for (const auto& p : providers) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

const ModelConfig* Config::find_model(std::string_view name) const {
  for (const auto& m : models) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

Timeouts TimeoutOverrides::apply_to(Timeouts base) const {
  if (connect_ms) base.connect_ms = *connect_ms;
  if (first_token_ms) base.first_token_ms = *first_token_ms;
  if (stall_ms) base.stall_ms = *stall_ms;
  if (total_ms) base.total_ms = *total_ms;
  return base;
}

PiiPolicyConfig merge_pii_policy(const PiiPolicyConfig& global, const PiiPolicyConfig* model) {
  PiiPolicyConfig merged = global;
  if (model == nullptr) return merged;
  if (model->action_set) {
    merged.action = model->action;
    merged.action_set = true;
  }
  if (model->allowed_residency_set) {
    merged.allowed_residency = model->allowed_residency;
    merged.allowed_residency_set = true;
  }
  for (const auto& [type, action] : model->types) merged.types[type] = action;
  return merged;
}

std::string Problem::to_string() const {
  std::string out = file;
  if (line > 0) out += ":" + std::to_string(line);
  out += ": ";
  if (!key.empty()) out += key + ": ";
  out += reason;
  return out;
}

LoadResult load_config_text(const std::string& text, const std::string& display_name) {
  Reader reader(display_name);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    LoadResult result;
    result.problems.push_back({display_name, e.mark.line >= 0 ? e.mark.line + 1 : 0, "", "invalid YAML: " + e.msg});
    return result;
  }
  try {
    return load_from_node(reader, root, display_name);
  } catch (const YAML::Exception& e) {
    // yaml-cpp throws on odd shapes (e.g. a scalar where a map was indexed); report, never crash.
    LoadResult result;
    result.problems = std::move(reader.problems());
    result.problems.push_back({display_name, e.mark.line >= 0 ? e.mark.line + 1 : 0, "", "invalid structure: " + e.msg});
    return result;
  }
}

LoadResult load_config_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    LoadResult result;
    result.problems.push_back({path, 0, "", "cannot open file"});
    return result;
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  return load_config_text(buffer.str(), path);
}

}  // namespace baton::config
