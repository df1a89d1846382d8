#pragma once
// An asynchronous Redis client for state that replicas must agree on (rate windows, budget
// reservations, breaker state). One connection, pipelined: any number of commands in flight, replies
// matched in order by hiredis.
//
// Threads: the client owns one thread running its own io_context; the hiredis context and every
// callback live on that thread only. command() may be awaited from any executor (each worker runs its
// own io_context): the command is handed to the Redis thread and the reply is posted back to the
// awaiting coroutine's executor. Commands posted from one thread reach Redis in the order posted, so
// a fire-and-forget send() is executed before any command the same thread issues after it.
//
// Failure: a command that gets no reply within its timeout completes with an `unavailable` reply (a
// late reply is dropped when it comes). While disconnected, commands complete as unavailable at once
// and the client reconnects with exponential backoff; only the very first connection attempt after
// construction queues commands, so a freshly started server does not fail its first requests.
//
// Lifetime: destroy the client before the io_contexts of the coroutines that use it stop for good; a
// pending command keeps its caller's io_context busy (tracked work) until it completes.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/asio.hpp"

namespace baton::store {

struct RedisReply {
  // unavailable: no reply (timeout, disconnected, client stopping); `str` says which.
  enum class Type : std::uint8_t { nil, status, string, integer, array, error, unavailable };
  Type type = Type::nil;
  std::int64_t integer = 0;
  std::string str;  // string and status values, error text, or why unavailable
  std::vector<RedisReply> elements;

  static constexpr std::string_view kTimeout = "redis: timeout";

  bool is_error() const { return type == Type::error; }
  bool is_unavailable() const { return type == Type::unavailable; }
  // No reply in time: unlike "not connected", the command may still run on the server.
  bool timed_out() const { return type == Type::unavailable && str == kTimeout; }
  // A reply from Redis that is not an error.
  bool ok() const { return type != Type::error && type != Type::unavailable; }
  static RedisReply unavailable(std::string why);
};

// `redis://[[user]:password@]host[:port][/db]`
struct RedisUrl {
  std::string host = "127.0.0.1";
  int port = 6379;
  int db = 0;
  std::string user;
  std::string password;
  static std::optional<RedisUrl> parse(std::string_view url, std::string* error = nullptr);
};

// A Lua script run with EVALSHA; its source is sent (EVAL) only when Redis does not know the digest.
struct RedisScript {
  explicit RedisScript(std::string lua);
  std::string source;
  std::string sha1;  // hex, as SCRIPT LOAD returns it
};

namespace detail {
// Where a reply goes. complete() runs on the Redis thread, exactly once per command.
class RedisCompletion {
 public:
  virtual ~RedisCompletion() = default;
  virtual void complete(RedisReply&& reply) = 0;
};

// Hands the reply to an Asio completion handler on the handler's own executor, keeping that
// executor's io_context from running out of work while the command is in flight.
template <class Handler, class Fallback>
class HandlerCompletion final : public RedisCompletion {
 public:
  HandlerCompletion(Handler&& handler, const Fallback& fallback)
      : work_(asio::prefer(asio::get_associated_executor(handler, fallback),
                           asio::execution::outstanding_work.tracked)),
        handler_(std::move(handler)) {}
  void complete(RedisReply&& reply) override {
    asio::post(work_, [handler = std::move(handler_), reply = std::move(reply)]() mutable {
      std::move(handler)(std::move(reply));
    });
  }

 private:
  using Executor = std::decay_t<decltype(asio::prefer(std::declval<asio::associated_executor_t<Handler, Fallback>>(),
                                                       asio::execution::outstanding_work.tracked))>;
  Executor work_;
  Handler handler_;
};
}  // namespace detail

class RedisClient {
 public:
  struct Options {
    std::chrono::milliseconds connect_timeout{1000};
    std::chrono::milliseconds reconnect_min{50};   // first retry after a lost connection ...
    std::chrono::milliseconds reconnect_max{2000};  // ... doubling up to this
    // Commands sent but not answered (a stalled server): past this, new ones fail at once rather
    // than queue without bound.
    std::size_t max_in_flight = 100'000;
  };
  struct Stats {
    std::uint64_t commands = 0;     // sent to Redis
    std::uint64_t timeouts = 0;     // completed as unavailable because no reply came in time
    std::uint64_t rejected = 0;     // failed at once: disconnected, or too many in flight
    std::uint64_t reconnects = 0;   // connections established after the first
  };

  explicit RedisClient(RedisUrl url);
  RedisClient(RedisUrl url, Options options);
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // Runs one command (`{"SET", "k", "v"}`) and completes with its reply. Pass a named vector with
  // std::move (GCC 12: no non-trivial temporaries inside a co_await expression).
  template <class CompletionToken>
  auto async_command(std::vector<std::string>&& args, std::chrono::milliseconds timeout, CompletionToken&& token) {
    return asio::async_initiate<CompletionToken, void(RedisReply)>(
        [this](auto handler, std::vector<std::string> command_args, std::chrono::milliseconds limit) {
          using Handler = decltype(handler);
          start(std::move(command_args), limit,
                std::make_unique<detail::HandlerCompletion<Handler, asio::io_context::executor_type>>(
                    std::move(handler), io_executor()));
        },
        token, std::move(args), timeout);
  }
  awaitable<RedisReply> command(std::vector<std::string>&& args, std::chrono::milliseconds timeout) {
    return async_command(std::move(args), timeout, asio::use_awaitable);
  }
  // EVALSHA, falling back to EVAL on NOSCRIPT. `keys_and_args` holds the keys first (`numkeys` of
  // them), then the arguments. The caller keeps `script` and `keys_and_args` alive until it resumes.
  awaitable<RedisReply> eval(const RedisScript& script, const std::vector<std::string>& keys_and_args,
                             std::size_t numkeys, std::chrono::milliseconds timeout);

  // Fire-and-forget: no reply, no timeout; dropped (and counted as rejected) while disconnected.
  void send(std::vector<std::string>&& args);
  // Fire-and-forget EVALSHA that re-sends as EVAL if Redis answers NOSCRIPT. Scripts registered
  // with load_script() are loaded on every connection, so that happens only after a SCRIPT FLUSH;
  // then (only then) the re-sent EVAL runs after commands issued in the meantime. `script` must
  // have been registered with load_script(): the fallback finds its source there.
  void send_eval(const RedisScript& script, std::vector<std::string>&& keys_and_args, std::size_t numkeys);
  // Loads `script` on this and every later connection, so EVALSHA rarely meets NOSCRIPT.
  void load_script(const RedisScript& script);

  bool connected() const { return connected_.load(std::memory_order_acquire); }
  Stats stats() const;
  // The Redis thread's executor: for work that should share it (e.g. routing::SharedHealth).
  asio::any_io_executor executor();

 private:
  struct Impl;
  asio::io_context::executor_type io_executor();
  void start(std::vector<std::string>&& args, std::chrono::milliseconds timeout,
             std::unique_ptr<detail::RedisCompletion> done);

  std::unique_ptr<Impl> impl_;
  std::atomic<bool> connected_{false};
};

}  // namespace baton::store
