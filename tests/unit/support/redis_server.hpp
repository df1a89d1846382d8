#pragma once
// A throwaway redis-server for tests: started on a free loopback port with persistence off, ready
// once it answers PING, killed on destruction. pause()/resume() (SIGSTOP/SIGCONT) make it stall
// without closing connections -- the timeout path -- and stop()/start() make it go away and come
// back on the same port -- the reconnect path.
//
// Also sync_await(): tests drive coroutines on their own io_context.
#include <sys/types.h>

#include <chrono>
#include <exception>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "http/asio.hpp"

namespace baton::test {

class RedisServer {
 public:
  // Throws std::runtime_error when redis-server is missing or does not answer within 10 s.
  explicit RedisServer(std::vector<std::string> extra_args = {});
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  int port() const { return port_; }
  std::string url(int db = 0) const;  // redis://127.0.0.1:<port>/<db>

  void pause();   // SIGSTOP: connections stay open, nothing is answered
  void resume();  // SIGCONT
  void stop();    // SIGKILL and reap: connections drop, the port refuses
  void start();   // again, on the same port; returns once it answers PING
  bool running() const { return pid_ > 0; }

  // A blocking one-off command on a fresh connection (test setup and checks, not the code under
  // test). Returns the reply as text (integers in decimal, nil as ""), or nullopt on error.
  std::optional<std::string> query(const std::vector<std::string>& args) const;

 private:
  void wait_ready(std::chrono::milliseconds deadline);

  std::vector<std::string> extra_args_;
  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
  bool paused_ = false;
};

// Runs `task` on a fresh io_context until it completes and returns its result (rethrows).
template <class T>
T sync_await(asio::awaitable<T> task) {
  asio::io_context io;
  std::optional<T> result;
  std::exception_ptr error;
  asio::co_spawn(io, std::move(task), [&](std::exception_ptr e, T value) {
    error = e;
    if (!e) result.emplace(std::move(value));
  });
  io.run();
  if (error) std::rethrow_exception(error);
  return std::move(*result);
}

}  // namespace baton::test
