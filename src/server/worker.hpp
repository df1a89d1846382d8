#pragma once
// One worker = one thread running one io_context with its own listening socket (SO_REUSEPORT, the
// kernel spreads connections) and its own upstream pool. Nothing here is shared with other workers
// except the App's read-only snapshot and atomic counters.
#include <list>
#include <memory>
#include <thread>

#include "config/config.hpp"
#include "core/errors.hpp"
#include "http/asio.hpp"
#include "http/deadline_sweep.hpp"
#include "http/upstream.hpp"
#include "routing/router.hpp"
#include "tenancy/keys.hpp"

namespace baton::server {

class App;

class Worker {
 public:
  Worker(App& app, unsigned index);
  ~Worker();

  // Binds the listening socket (throws on failure: startup only). Returns the bound port.
  std::uint16_t listen(const tcp::endpoint& endpoint);
  void start();
  void join();
  // Thread-safe: stop accepting, close idle connections, let busy ones finish their request.
  void begin_drain();
  // Thread-safe: close every connection now.
  void force_close();

  App& app() { return app_; }
  http::UpstreamPool& pool() { return pool_; }
  http::DeadlineSweep& deadlines() { return deadlines_; }
  routing::StrategyStates& strategies() { return strategies_; }
  // This worker's copy of the key directory, refreshed when governance swaps it.
  const std::shared_ptr<const tenancy::KeyDirectory>& key_directory();
  const config::ServerConfig& server_config() const;
  std::size_t open_sessions() const { return sessions_.size(); }

 private:
  struct SessionSlot {
    tcp::socket* socket;
    bool busy;
  };

  awaitable<void> accept_loop();
  awaitable<void> session(tcp::socket socket);
  Error read_failure(const error_code& ec) const;
  awaitable<void> reject_request(tcp::socket& socket, http::SocketDeadline& deadline, error_code read_error);
  std::string next_request_id();
  void write_request_id(std::string& id);  // next_request_id() into `id`, reusing its capacity

  App& app_;
  unsigned index_;
  asio::io_context io_{1};
  tcp::acceptor acceptor_;
  http::DeadlineSweep deadlines_;
  http::UpstreamPool pool_;
  routing::StrategyStates strategies_;
  std::list<SessionSlot> sessions_;
  bool draining_ = false;
  std::uint64_t request_counter_ = 0;
  std::string request_id_prefix_;
  std::shared_ptr<const tenancy::KeyDirectory> key_directory_;
  std::uint64_t key_directory_generation_ = 0;
  std::thread thread_;
};

}  // namespace baton::server
