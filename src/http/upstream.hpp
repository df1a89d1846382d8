#pragma once
// The upstream HTTP/1.1 client. Each worker thread owns one UpstreamPool (shared-nothing: no locks),
// which keeps idle keep-alive connections per origin, resolves names asynchronously with a small
// cache, speaks TLS with SNI and certificate verification, and tunnels through HTTPS_PROXY.
//
// An UpstreamCall is one request/response exchange. It owns its connection while in flight; on
// completion the connection goes back to the pool only if the response was read to its end and the
// upstream allows keep-alive. Destroying a call early (client left, timeout) closes the connection,
// which is how an upstream request is cancelled.
#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "config/config.hpp"
#include "http/asio.hpp"
#include "http/deadline_sweep.hpp"
#include "http/response_parser.hpp"

namespace baton::http {

enum class UpstreamError : std::uint8_t { none, connect, tls, timeout, reset, protocol, too_large };
std::string_view to_string(UpstreamError error);

// Proxy settings read once from HTTPS_PROXY / HTTP_PROXY / NO_PROXY (and lower-case forms).
struct ProxySettings {
  std::optional<config::Origin> https_proxy;
  std::optional<config::Origin> http_proxy;
  std::vector<std::string> no_proxy;  // host suffixes; "*" disables proxies
  static ProxySettings from_environment();
  const config::Origin* proxy_for(const config::Origin& target) const;
};

// The client TLS context (system CA store, peer verification), made on first use: loading the CA
// store parses ~150 certificates (about 1 MB of heap, and OpenSSL's initialisation touches more of
// libcrypto), which a baton whose upstreams are all plain HTTP (on-prem model servers) never
// needs. Thread-safe: every worker's pool shares one.
class TlsClientContext {
 public:
  asio::ssl::context& get();

 private:
  std::once_flag once_;
  std::optional<asio::ssl::context> context_;
};

class UpstreamConnection {
 public:
  UpstreamConnection(const asio::any_io_executor& executor, std::string pool_key);
  tcp::socket& socket() { return socket_; }
  const std::string& pool_key() const { return pool_key_; }
  bool tls() const { return tls_ != nullptr; }
  void start_tls(asio::ssl::context& context);
  asio::ssl::stream<tcp::socket&>& tls_stream() { return *tls_; }

  // Writes `buffers` after their first `skip` bytes (plain TCP: what write_now() already sent).
  awaitable<void> write_all(std::span<const asio::const_buffer> buffers, std::size_t skip, error_code& ec);

  Clock::time_point idle_since;
  std::uint64_t exchanges = 0;
  // Lives with the pooled connection, so a request reuses its capacity instead of allocating.
  beast::flat_buffer read_buffer;

 private:
  tcp::socket socket_;
  std::unique_ptr<asio::ssl::stream<tcp::socket&>> tls_;
  std::string pool_key_;
};

class UpstreamPool {
 public:
  UpstreamPool(const asio::any_io_executor& executor, DeadlineSweep& deadlines, TlsClientContext& tls_context,
               const ProxySettings& proxies);
  DeadlineSweep& deadlines() { return deadlines_; }

  // An idle pooled connection to `origin` (young enough to trust), or null. No coroutine: the
  // usual case, a warm pool, costs a map lookup.
  std::unique_ptr<UpstreamConnection> take_idle(const config::Origin& origin);
  // A new connected (and TLS-established) connection to `origin`, made before `deadline`.
  awaitable<std::unique_ptr<UpstreamConnection>> connect(const config::Origin& origin, Clock::time_point deadline,
                                                         UpstreamError& error);
  void release(std::unique_ptr<UpstreamConnection> connection);
  // Read by the metrics scrape from another thread.
  std::size_t idle_connections() const { return idle_total_.load(std::memory_order_relaxed); }
  void close_idle();

  static void write_pool_key(const config::Origin& origin, std::string& key);

 private:
  awaitable<std::vector<tcp::endpoint>> resolve(const std::string& host, std::uint16_t port, error_code& ec);
  awaitable<std::unique_ptr<UpstreamConnection>> connect_new(const config::Origin& origin, const std::string& key,
                                                             Clock::time_point deadline, UpstreamError& error);

  struct CachedName {
    std::vector<tcp::endpoint> endpoints;
    Clock::time_point expires;
  };
  asio::any_io_executor executor_;
  DeadlineSweep& deadlines_;
  TlsClientContext& tls_context_;
  const ProxySettings& proxies_;
  tcp::resolver resolver_;
  std::unordered_map<std::string, std::vector<std::unique_ptr<UpstreamConnection>>> idle_;
  std::unordered_map<std::string, CachedName> names_;
  std::atomic<std::size_t> idle_total_{0};
  std::string key_scratch_;
};

// One request/response exchange with an upstream.
class UpstreamCall {
 public:
  explicit UpstreamCall(UpstreamPool& pool) : pool_(pool), deadline_(pool.deadlines(), *this) {}
  ~UpstreamCall();
  UpstreamCall(const UpstreamCall&) = delete;
  UpstreamCall& operator=(const UpstreamCall&) = delete;

  // Sends the request and waits for the response head. A pooled connection that turns out to be
  // closed before any response byte arrived is replaced by a fresh one once, transparently.
  awaitable<UpstreamError> send(const config::Origin& origin, std::span<const asio::const_buffer> request,
                                Clock::time_point connect_deadline, Clock::time_point head_deadline);
  // Reads at least one more piece of the body into parser().body(). Sets `done` at end of message.
  awaitable<UpstreamError> read_body_some(Clock::time_point deadline, bool& done);
  // Waiting until the upstream has bytes for us (or `deadline`) without holding a read buffer, so
  // a stream idle between tokens costs no buffer memory. Three steps, so that a wait (once per
  // token) costs no coroutine frame of its own:
  //   if (call.can_wait_readable()) { auto [ec] = co_await call.wait_readable(deadline);
  //                                   error = call.wait_readable_result(ec); }
  // Plain TCP only (TLS may hold decrypted bytes): then can_wait_readable() is false.
  bool can_wait_readable() const;
  awaitable<std::tuple<error_code>> wait_readable(Clock::time_point deadline);
  UpstreamError wait_readable_result(const error_code& ec);
  // Gives back buffer capacity while the call waits (long-lived streams). A few unparsed bytes (a
  // chunk's closing CRLF or a chunk-size line not yet complete) move to a small inline stash, so a
  // stream between chunks holds no read buffer either.
  void release_memory();
  // Reads the rest of the body (bounded by `max_bytes`).
  awaitable<UpstreamError> read_body_all(Clock::time_point deadline, std::size_t max_bytes);

  ResponseParser& parser() { return *parser_; }
  // Hands the connection back to the pool when the exchange ended cleanly; otherwise it closes.
  void finish();
  // Closes the connection now (cancel).
  void abort();
  // Cancels from outside the coroutine that drives the call (the socket closes, the object stays
  // valid): pending reads complete with an error.
  void cancel();
  bool connection_reused() const { return reused_; }
  // The last read filled its buffer: more bytes are already waiting in the socket.
  bool more_pending() const { return !last_read_drained_; }
  bool cancelled() const { return cancelled_; }

 private:
  awaitable<UpstreamError> read_more(Clock::time_point deadline);
  beast::flat_buffer& buffer() { return connection_->read_buffer; }
  std::size_t buffered() const { return connection_->read_buffer.size() + stash_size_; }

  UpstreamPool& pool_;
  std::unique_ptr<UpstreamConnection> connection_;
  std::optional<ResponseParser> parser_;  // one per exchange (Beast parsers cannot be reset)
  bool reused_ = false;
  bool cancelled_ = false;
  bool last_read_drained_ = false;  // the last read returned less than asked: nothing left unread
  bool parser_starved_ = false;     // what is buffered cannot be parsed further without more bytes
  std::array<char, 32> stash_{};    // unparsed bytes kept while the read buffer is given back
  std::uint8_t stash_size_ = 0;
  // Bounds the pending write, read or readiness wait: when it passes, the connection's pending
  // operation is cancelled and the call reports a timeout.
  class CallDeadline final : public Deadline {
   public:
    CallDeadline(DeadlineSweep& sweep, UpstreamCall& call) : Deadline(sweep), call_(call) {}
    ~CallDeadline() = default;

   private:
    void expire() override;
    UpstreamCall& call_;
  };
  // What a failed operation means: a timeout when the deadline cancelled it.
  UpstreamError failure(const error_code& ec) const;
  CallDeadline deadline_;
};

}  // namespace baton::http
