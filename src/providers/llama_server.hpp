#pragma once
// Managed local llama.cpp servers (`kind: llama-server`). baton starts one `llama-server` process per
// such provider on a free loopback port, polls its /health until it says ok, and only then routes
// to it; it restarts the process with backoff when it dies and stops it on shutdown or when a
// reload removes or changes the provider.
//
// Threading: supervisors run on the App's main io_context. Workers read only LocalServerState's
// atomics (is it ready, which port).
#include <atomic>
#include <map>
#include <memory>
#include <string>

#include "config/config.hpp"
#include "http/asio.hpp"

namespace baton::providers {

struct LocalServerState {
  std::atomic<std::uint16_t> port{0};
  std::atomic<bool> ready{false};
  std::atomic<std::uint32_t> restarts{0};
  std::atomic<int> pid{0};
};

// The llama-server binary baton uses when a provider names none: $BATON_LLAMA_SERVER, else the
// pinned build in <source>/.cache/llama, else `llama-server` on PATH.
std::string default_llama_server_binary();

class LlamaServer : public std::enable_shared_from_this<LlamaServer> {
 public:
  LlamaServer(asio::io_context& io, config::ProviderConfig provider);
  ~LlamaServer();

  void start();
  // Stops supervising and terminates the process (SIGTERM, then SIGKILL after `grace`).
  void stop(std::chrono::milliseconds grace);
  // SIGCHLD arrived: reap our process if it exited and schedule a restart.
  void reap();

  const std::shared_ptr<LocalServerState>& state() const { return state_; }
  const std::string& fingerprint() const { return fingerprint_; }
  const std::string& name() const { return provider_.name; }

  static std::string fingerprint_of(const config::ProviderConfig& provider);

 private:
  void spawn();
  void schedule_restart();
  awaitable<void> watch_health(std::uint64_t generation);
  awaitable<void> pump_output(std::shared_ptr<asio::posix::stream_descriptor> pipe, std::uint64_t generation);
  awaitable<bool> probe_health(std::uint16_t port);

  asio::io_context& io_;
  config::ProviderConfig provider_;
  std::string fingerprint_;
  std::shared_ptr<LocalServerState> state_ = std::make_shared<LocalServerState>();
  asio::steady_timer restart_timer_;
  std::uint64_t generation_ = 0;  // bumps on every spawn; stale coroutines notice and exit
  unsigned consecutive_failures_ = 0;
  Clock::time_point ready_since_{};
  bool stopping_ = false;
};

class LocalServers {
 public:
  explicit LocalServers(asio::io_context& io) : io_(io) {}
  // Starts servers for new or changed llama-server providers, stops those removed or changed.
  void apply(const config::Config& config);
  std::shared_ptr<LocalServerState> state_for(const std::string& provider) const;
  void reap();
  void stop_all();
  bool all_ready() const;
  bool empty() const { return servers_.empty(); }

 private:
  asio::io_context& io_;
  std::map<std::string, std::shared_ptr<LlamaServer>> servers_;
};

}  // namespace baton::providers
