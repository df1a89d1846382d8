#pragma once
// Process wiring: config snapshot, worker threads, signals (SIGTERM/SIGINT drain, SIGHUP reload).
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/snapshot.hpp"
#include "http/asio.hpp"
#include "http/upstream.hpp"
#include "obs/access_log.hpp"
#include "providers/llama_server.hpp"
#include "routing/route_table.hpp"
#include "routing/shared_health.hpp"
#include "tenancy/governance.hpp"

namespace baton::server {

class Worker;
unsigned usable_cores();

class App {
 public:
  App(config::Config config, std::string config_path);
  ~App();

  // Binds, serves, and returns the process exit code once drained.
  int run();

  std::shared_ptr<const routing::RouteTable> routes() const { return routes_.load(); }
  const config::ServerConfig& server_config() const { return server_; }
  obs::AccessLog& access_log() { return *access_log_; }
  http::TlsClientContext& tls_context() { return tls_context_; }
  const http::ProxySettings& proxies() const { return proxies_; }
  tenancy::Governance& governance() { return *governance_; }

  unsigned worker_count() const { return server_.workers == 0 ? usable_cores() : server_.workers; }
  // Called by a worker thread when its loop has ended.
  void worker_stopped();
  // Every managed local model server is up (readiness).
  bool local_models_ready() const { return local_ready_.load(std::memory_order_relaxed); }

 private:
  void reload();
  void drain();
  void install(config::Config config);
  // Mirrors the local model servers' readiness into local_ready_, every 50 ms while there are any
  // (an instance without them has no timer waking it).
  void refresh_readiness();
  void log_providers(const routing::RouteTable& routes) const;
  void add_governance_metrics();
  routing::HealthView shared_deployments() const;

  std::string config_path_;
  config::ServerConfig server_;  // listen/workers/limits: fixed for the life of the process
  Snapshot<routing::RouteTable> routes_;
  std::unique_ptr<obs::AccessLog> access_log_;
  std::unique_ptr<tenancy::Governance> governance_;  // storage settings are fixed for the process
  std::unique_ptr<routing::SharedHealth> shared_health_;  // with Redis: breakers agree across replicas
  http::TlsClientContext tls_context_;
  http::ProxySettings proxies_;
  asio::io_context main_io_{1};  // signals and local model supervision; declared before their users
  providers::LocalServers local_servers_{main_io_};
  asio::steady_timer readiness_timer_{main_io_};
  bool readiness_polling_ = false;
  std::atomic<bool> local_ready_{false};
  std::vector<std::unique_ptr<Worker>> workers_;
  std::atomic<unsigned> running_workers_{0};
  bool draining_ = false;
};

unsigned usable_cores();

}  // namespace baton::server
