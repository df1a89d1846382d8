#include "server/app.hpp"

#include <malloc.h>
#include <sched.h>
#include <sys/resource.h>
#include <spdlog/spdlog.h>

#include <iostream>
#include <set>

#include "obs/metrics.hpp"
#include "tenancy/redis_limiter.hpp"
#include "server/worker.hpp"

namespace baton::server {

unsigned usable_cores() {
  // hardware_concurrency() ignores taskset/cgroup affinity; the affinity mask is what we may use.
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1U, std::thread::hardware_concurrency());
}

App::App(config::Config config, std::string config_path)
    : config_path_(std::move(config_path)),
      server_(config.server),

      proxies_(http::ProxySettings::from_environment()) {
  std::string log_error;
  access_log_ = obs::AccessLog::open(config.server.access_log, worker_count(), log_error);
  if (!access_log_) throw std::runtime_error(log_error);
  governance_ = std::make_unique<tenancy::Governance>(config);
  spdlog::info("storage: {} ({}){}", governance_->backend(), config.storage.url,
               config.storage.redis.empty() ? ", limits exact per process" : ", limits shared through Redis");
  install(std::move(config));
}

// Starts/stops local model servers for `config`, then publishes its route table.
void App::install(config::Config config) {
  local_servers_.apply(config);
  auto routes = std::make_shared<const routing::RouteTable>(
      std::move(config), [this](const std::string& provider) { return local_servers_.state_for(provider); });
  log_providers(*routes);
  routes_.store(std::move(routes));
  if (!readiness_polling_) refresh_readiness();
}

void App::refresh_readiness() {
  local_ready_ = local_servers_.all_ready();
  readiness_polling_ = !local_servers_.empty() && !draining_;
  if (!readiness_polling_) return;
  readiness_timer_.expires_after(std::chrono::milliseconds(50));
  readiness_timer_.async_wait([this](const error_code& timer_ec) {
    if (!timer_ec) refresh_readiness();
  });
}

void App::log_providers(const routing::RouteTable& routes) const {
  if (routes.config().auth.master_key.empty() && governance_->directory()->empty()) {
    spdlog::warn("auth.master_key is not set and no keys exist: every endpoint is open (dev mode)");
  } else if (routes.config().auth.master_key.empty()) {
    spdlog::warn("auth.master_key is not set: admin endpoints are open");
  }
  for (const config::ProviderConfig& p : routes.config().providers) {
    if (!p.enabled) {
      spdlog::info("provider {}: disabled", p.name);
    } else if (p.kind == config::ProviderKind::llama_server) {
      spdlog::info("provider {}: local llama-server for {} (starting)", p.name, p.model_path);
    } else {
      spdlog::info("provider {}: live at {}", p.name, p.base_url);
    }
  }
}

App::~App() = default;

void App::worker_stopped() {
  asio::post(main_io_, [this] {
    if (--running_workers_ == 0) main_io_.stop();
  });
}

void App::reload() {
  config::LoadResult loaded = config::load_config_file(config_path_);
  auto& registry = obs::Registry::instance();
  if (!loaded.config) {
    registry.config_reload_failures.fetch_add(1);
    for (const auto& problem : loaded.problems) spdlog::error("config reload rejected: {}", problem.to_string());
    spdlog::error("config reload rejected: keeping the running configuration");
    return;
  }
  const config::StorageConfig& running = governance_->storage();
  if (loaded.config->storage.url != running.url || loaded.config->storage.redis != running.redis) {
    spdlog::warn("config reload: storage.url / storage.redis changes take effect only after a restart");
  }
  // New requests see the new table; requests in flight keep the one they pinned.
  install(std::move(*loaded.config));
  registry.config_reloads.fetch_add(1);
  spdlog::info("config reloaded from {}", config_path_);
}

void App::drain() {
  if (draining_) return;
  draining_ = true;
  readiness_timer_.cancel();
  spdlog::info("draining: no new connections; in-flight requests get {} ms", server_.drain_timeout_ms);
  for (auto& worker : workers_) worker->begin_drain();
  auto deadline = std::make_shared<asio::steady_timer>(main_io_, ms(server_.drain_timeout_ms));
  deadline->async_wait([this, deadline](const error_code& ec) {
    if (ec) return;
    spdlog::warn("drain deadline reached: closing remaining connections");
    for (auto& worker : workers_) worker->force_close();
  });
}

routing::HealthView App::shared_deployments() const {
  // Health objects live for the whole process (routing::health_for), so the table is held only to
  // read its deployment list. Managed local servers are per replica: their breakers stay local.
  routing::HealthView view;
  std::shared_ptr<const routing::RouteTable> table = routes();
  std::set<std::string_view> seen;
  for (const routing::ModelGroup& group : table->groups()) {
    for (const routing::Deployment& d : group.deployments) {
      if (d.local != nullptr || !seen.insert(d.id).second) continue;
      view.deployments.emplace_back(d.id, d.health);
    }
  }
  view.keep_alive = std::move(table);
  return view;
}

void App::add_governance_metrics() {
  auto& registry = obs::Registry::instance();
  tenancy::UsageWriter& usage = governance_->usage();
  registry.add_gauge("baton_usage_records_written", "Usage records written to the store.",
                     [&usage] { return static_cast<double>(usage.written()); });
  registry.add_gauge("baton_usage_records_dropped", "Usage records lost: the queue was full, or shutdown could not write them.",
                     [&usage] { return static_cast<double>(usage.dropped()); });
  registry.add_gauge("baton_usage_records_pending", "Usage records queued or being written (lost if the process is killed).",
                     [&usage] { return static_cast<double>(usage.pending()); });
  registry.add_gauge("baton_usage_write_failures", "Failed usage batch writes (retried).",
                     [&usage] { return static_cast<double>(usage.write_failures()); });
  if (auto* redis_limiter = dynamic_cast<tenancy::RedisLimiter*>(&governance_->limiter())) {
    registry.add_gauge("baton_limiter_fail_open_total", "Requests admitted uncounted because Redis did not answer.",
                       [redis_limiter] { return static_cast<double>(redis_limiter->fail_open_count()); });
    registry.add_gauge("baton_limiter_fail_closed_total", "Requests refused (503) because Redis did not answer.",
                       [redis_limiter] { return static_cast<double>(redis_limiter->fail_closed_count()); });
  }
}

namespace {
// Every client stream holds two descriptors (client + upstream): lift the soft limit to the hard
// one, and the hard one too when privileged (as nginx's worker_rlimit_nofile does).
void raise_fd_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  constexpr rlim_t kWanted = 262144;
  if (limit.rlim_max < kWanted) {
    rlimit raised{kWanted, kWanted};
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) return;
  }
  limit.rlim_cur = limit.rlim_max;
  setrlimit(RLIMIT_NOFILE, &limit);
}

// glibc raises its mmap threshold each time a large block is freed (up to 32 MiB), after which huge
// upstream answers (up to 64 MiB) land in the workers' arenas and stay there when freed: RSS climbed
// 32 -> 101 MiB over three rounds of the fault suite without any leak. A fixed 1 MiB threshold hands
// every large buffer back to the kernel on free; request-sized allocations never reach it.
void return_large_buffers_to_the_kernel() {
  constexpr int kLargeBuffer = 1024 * 1024;
  mallopt(M_MMAP_THRESHOLD, kLargeBuffer);
}
}  // namespace

int App::run() {
  raise_fd_limit();
  return_large_buffers_to_the_kernel();
  const unsigned count = worker_count();
  error_code ec;
  const auto address = asio::ip::make_address(server_.listen_host, ec);
  if (ec) {
    spdlog::error("server.listen: '{}' is not an IP address", server_.listen_host);
    return 1;
  }
  tcp::endpoint endpoint(address, server_.listen_port);
  try {
    if (endpoint.port() != 0) {
      // SO_REUSEPORT would let a second baton (or anything else) on this port silently take half
      // the connections. A plain bind first fails if anyone already listens here.
      tcp::acceptor probe(main_io_);
      probe.open(endpoint.protocol());
      probe.set_option(asio::socket_base::reuse_address(true));
      probe.bind(endpoint);
    }
    for (unsigned i = 0; i < count; ++i) {
      auto worker = std::make_unique<Worker>(*this, i);
      // Port 0: the first listener picks a free port and the others join it.
      endpoint.port(worker->listen(endpoint));
      workers_.push_back(std::move(worker));
    }
  } catch (const std::exception& e) {
    spdlog::error("cannot listen on {}:{}: {}", server_.listen_host, server_.listen_port, e.what());
    return 1;
  }
  obs::Registry::instance().add_gauge("baton_upstream_pool_idle_connections", "Idle keep-alive upstream connections.",
                                      [this] {
                                        double idle = 0;
                                        for (const auto& worker : workers_) idle += static_cast<double>(worker->pool().idle_connections());
                                        return idle;
                                      });
  obs::Registry::instance().add_gauge("baton_access_log_dropped_lines",
                                      "Access log lines dropped because the writer fell behind.",
                                      [this] { return static_cast<double>(access_log_->dropped()); });

  add_governance_metrics();
  if (governance_->redis() != nullptr) {
    shared_health_ = std::make_unique<routing::SharedHealth>(*governance_->redis(), [this] { return shared_deployments(); });
    shared_health_->start();
  }

  asio::signal_set signals(main_io_, SIGTERM, SIGINT, SIGHUP);
  signals.add(SIGCHLD);
  std::function<void(const error_code&, int)> on_signal = [&](const error_code& signal_ec, int signal) {
    if (signal_ec) return;
    if (signal == SIGCHLD) {
      local_servers_.reap();
    } else if (signal == SIGHUP) {
      reload();
    } else {
      drain();
    }
    signals.async_wait(on_signal);
  };
  signals.async_wait(on_signal);

  running_workers_ = count;
  for (auto& worker : workers_) worker->start();
  spdlog::info("{} worker(s); {} model(s) configured", count, routes()->groups().size());
  std::cout << "baton listening on " << endpoint.address().to_string() << ":" << endpoint.port() << std::endl;

  main_io_.run();
  for (auto& worker : workers_) worker->join();
  local_servers_.stop_all();
  workers_.clear();
  // Every request has ended: write the usage records still queued before exiting.
  governance_->stop(ms(server_.drain_timeout_ms));
  spdlog::info("usage: {} record(s) written, {} dropped", governance_->usage().written(), governance_->usage().dropped());
  access_log_.reset();
  spdlog::info("stopped");
  return 0;
}

}  // namespace baton::server
