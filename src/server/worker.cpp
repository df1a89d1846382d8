#include "server/worker.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <random>

#include "api/context.hpp"
#include "api/governance_stage.hpp"
#include "http/request_framing.hpp"
#include "http/request_reader.hpp"
#include "obs/metrics.hpp"
#include "server/app.hpp"

namespace baton::server {

namespace {
using reuse_port = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

// Room in a session's read buffer beyond the largest head: one read's worth (Beast reads 64 KiB).
constexpr std::size_t kReadSlackBytes = 64 * 1024;

bool valid_request_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}
}  // namespace

Worker::Worker(App& app, unsigned index)
    : app_(app),
      index_(index),
      acceptor_(io_),
      deadlines_(io_.get_executor()),
      pool_(io_.get_executor(), deadlines_, app.tls_context(), app.proxies()),
      strategies_(std::random_device{}()) {
  std::random_device random;
  request_id_prefix_ = fmt::format("req_{:08x}{:02x}", random(), index_ & 0xff);
  deadlines_.hold_when_idle(true);  // released by begin_drain() (force_close() only follows it)
}

Worker::~Worker() { join(); }

const config::ServerConfig& Worker::server_config() const { return app_.server_config(); }

std::uint16_t Worker::listen(const tcp::endpoint& endpoint) {
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(asio::socket_base::reuse_address(true));
  acceptor_.set_option(reuse_port(true));
  acceptor_.bind(endpoint);
  acceptor_.listen(asio::socket_base::max_listen_connections);
  return acceptor_.local_endpoint().port();
}

void Worker::start() {
  asio::co_spawn(io_, accept_loop(), asio::detached);
  thread_ = std::thread([this] {
    try {
      io_.run();
    } catch (const std::exception& e) {
      spdlog::critical("worker {} stopped: {}", index_, e.what());
    }
    app_.worker_stopped();
  });
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::begin_drain() {
  asio::post(io_, [this] {
    draining_ = true;
    deadlines_.hold_when_idle(false);  // the loop must be able to run out of work
    error_code ignored;
    acceptor_.close(ignored);
    for (SessionSlot& slot : sessions_) {
      if (!slot.busy) slot.socket->cancel(ignored);
    }
    pool_.close_idle();
  });
}

void Worker::force_close() {
  asio::post(io_, [this] {
    error_code ignored;
    for (SessionSlot& slot : sessions_) slot.socket->close(ignored);
    pool_.close_idle();
  });
}

void Worker::write_request_id(std::string& id) {
  static constexpr char kHex[] = "0123456789abcdef";
  id = request_id_prefix_;
  const std::uint64_t n = ++request_counter_;
  for (int shift = 36; shift >= 0; shift -= 4) id.push_back(kHex[(n >> shift) & 0xF]);
}

std::string Worker::next_request_id() {
  std::string id;
  write_request_id(id);
  return id;
}

awaitable<void> Worker::accept_loop() {
  auto& registry = obs::Registry::instance();
  while (!draining_) {
    auto [ec, socket] = co_await acceptor_.async_accept(use_nothrow);
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
      continue;  // EMFILE and friends: keep serving the connections we have
    }
    if (registry.connections_open.load(std::memory_order_relaxed) >=
        static_cast<std::int64_t>(server_config().max_connections)) {
      registry.connections_rejected.fetch_add(1, std::memory_order_relaxed);
      continue;  // socket closes as it goes out of scope
    }
    error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    asio::co_spawn(io_, session(std::move(socket)), asio::detached);
  }
}

Error Worker::read_failure(const error_code& ec) const {
  if (ec == bhttp::error::body_limit) {
    return {ErrorCode::body_too_large,
            fmt::format("request body exceeds server.max_body_bytes ({} bytes)", server_config().max_body_bytes), {}};
  }
  if (ec == bhttp::error::header_limit) return {ErrorCode::header_too_large, "request header too large", {}};
  if (ec == beast::error::timeout) return {ErrorCode::request_timeout, "request not received in time", {}};
  if (ec == bhttp::error::bad_transfer_encoding) {
    return {ErrorCode::bad_request, "unsupported Transfer-Encoding: only a single 'chunked' is accepted", {}};
  }
  if (ec == bhttp::error::buffer_overflow) {
    return {ErrorCode::bad_request, "malformed HTTP request: a chunk-size line longer than the read buffer", {}};
  }
  return {ErrorCode::bad_request, "malformed HTTP request: " + ec.message(), {}};
}

awaitable<void> Worker::reject_request(tcp::socket& socket, http::SocketDeadline& deadline, error_code read_error) {
  // The request could not be read: answer once, then close (the rest of the stream is unusable).
  // Its locals live here, not in session()'s frame, which every open connection holds.
  const std::string request_id = next_request_id();
  const Error error = read_failure(read_error);
  const std::string body = openai_error_body(error);
  const unsigned status = http_status(error.code);
  const std::string response =
      fmt::format("HTTP/1.1 {} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nx-request-id: {}\r\n"
                  "connection: close\r\n\r\n{}",
                  status, api::reason_phrase(status), body.size(), request_id, body);
  obs::Registry::instance().unrouted().count_status(status);
  deadline.arm_lenient(Clock::now(), std::chrono::seconds(5));
  auto [write_ec, written] = co_await asio::async_write(socket, asio::buffer(response), use_nothrow);
  if (write_ec) co_return;
  // Lingering close (as nginx does): closing with unread request bytes makes the kernel send a
  // RST that can destroy the answer before the client reads it. Stop sending, then discard what
  // the client still sends, for a bounded time.
  error_code ignored;
  socket.shutdown(tcp::socket::shutdown_send, ignored);
  std::array<char, 16384> sink;
  deadline.arm_lenient(Clock::now(), std::chrono::seconds(5));
  for (std::size_t drained = 0; drained < 256 * 1024 * 1024;) {
    auto [read_ec, n] = co_await socket.async_read_some(asio::buffer(sink), use_nothrow);
    if (read_ec) break;
    drained += n;
  }
}

awaitable<void> Worker::session(tcp::socket socket) {
  auto& registry = obs::Registry::instance();
  registry.connections_open.fetch_add(1, std::memory_order_relaxed);
  const auto slot = sessions_.insert(sessions_.end(), SessionSlot{&socket, false});
  const config::ServerConfig& limits = server_config();
  // Bounded: the parser consumes body bytes as they arrive, so only a head (max_header_bytes) or one
  // chunk-size line plus a read's worth of bytes ever waits here. Unbounded, a chunk extension that
  // never ends grew the process by 300 MB within the header timeout.
  beast::flat_buffer buffer(limits.max_header_bytes + kReadSlackBytes);
  // Bounds the idle wait, the request read and every response write (the socket's pending
  // operation is cancelled when it passes).
  http::SocketDeadline deadline(deadlines_, socket);
  Clock::time_point last_done = Clock::now();  // when the previous request ended (clock reads add up)
  std::string request_id;  // the current request's; its capacity serves every request on the connection
  tenancy::TokenDigestMemo token_memo;  // the connection's last bearer token, hashed once
  tenancy::Ticket ticket;  // the current request's limiter ticket; its storage serves the connection
  bool peer_closed = false;  // the client ended the connection between requests

  while (!draining_) {
    if (buffer.size() == 0) {
      // Idle keep-alive wait. Once the first byte is here the whole request gets header_timeout_ms,
      // so a slow sender cannot hold a connection open indefinitely.
      deadline.arm_lenient(last_done, ms(limits.idle_timeout_ms));
      auto [ec, n] = co_await socket.async_read_some(buffer.prepare(4096), use_nothrow);
      if (ec) {
        peer_closed = ec == asio::error::eof;
        break;
      }
      buffer.commit(n);
    }
    slot->busy = true;
    // Cancelling only the read (not closing the socket) leaves the 408 a way out to the client.
    Clock::time_point read_at = Clock::now();
    // Armed only for a wait: a request that is all here already needs no deadline of its own.
    const Clock::time_point read_started = read_at;
    http::RequestParser parser;
    parser.header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
    parser.body_limit(limits.max_body_bytes);
    error_code ec;
    if (!http::parse_buffered(parser, buffer, http::ReadUntil::header, ec)) {
      deadline.arm_lenient(read_started, ms(limits.header_timeout_ms));
      co_await http::read_request_more(socket, buffer, parser, http::ReadUntil::header, ec);
      read_at = Clock::time_point{};  // waited: the request starts when it is all here
    }
    if (!ec && !http::acceptable_transfer_encoding(parser.get())) ec = bhttp::error::bad_transfer_encoding;
    if (!ec && !parser.is_done() && parser.get().expect() == "100-continue") {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      deadline.arm_lenient(read_started, ms(limits.header_timeout_ms));
      std::tie(ec, std::ignore) = co_await asio::async_write(socket, asio::buffer(kContinue), use_nothrow);
      read_at = Clock::time_point{};
    }
    if (!ec && !parser.is_done()) {
      parser.eager(true);  // the body in as few put() calls as the reads allow
      if (!http::parse_buffered(parser, buffer, http::ReadUntil::message, ec)) {
        deadline.arm_lenient(read_started, ms(limits.header_timeout_ms));
        co_await http::read_request_more(socket, buffer, parser, http::ReadUntil::message, ec);
        read_at = Clock::time_point{};
      }
    }
    deadline.disarm();
    if (deadline.expired() && (ec || !parser.is_done())) ec = beast::error::timeout;
    if (ec) {
      if (ec != asio::error::eof && ec != asio::error::connection_reset && ec != asio::error::operation_aborted) {
        co_await reject_request(socket, deadline, ec);
      }
      break;
    }
    api::Request& request = parser.get();
    const std::string_view incoming_id = request.request_id();
    if (valid_request_id(incoming_id)) {
      request_id.assign(incoming_id);
    } else {
      write_request_id(request_id);
    }
    api::RequestContext ctx{.worker = *this,
                            .client = socket,
                            .client_deadline = deadline,
                            .client_buffer = buffer,
                            .request = request,
                            .routes = app_.routes(),
                            .request_id = request_id,
                            .ticket = ticket,
                            .started = read_at != Clock::time_point{} ? read_at : Clock::now()};
    ctx.token_memo = &token_memo;
    ctx.keep_alive = parser.keep_alive();
    ctx.draining = draining_;
    ctx.log.request_id = ctx.request_id;
    ctx.log.method = request.method_string();
    ctx.log.path = request.target();
    co_await api::dispatch(ctx);

    last_done = Clock::now();
    const double seconds = std::chrono::duration<double>(last_done - ctx.started).count();
    obs::RouteMetrics& metrics = ctx.metrics != nullptr ? *ctx.metrics : registry.unrouted();
    metrics.count_status(ctx.log.status);
    if (ctx.metrics != nullptr) metrics.duration.observe(seconds);
    ctx.log.duration_ms = seconds * 1000;
    ctx.log.overhead_us = ctx.overhead_us();
    api::finish(ctx);
    app_.access_log().write(index_, ctx.log);

    slot->busy = false;
    if (!ctx.keep_alive) break;
  }
  if (!peer_closed) {
    // Our side ends it: say so before the close (a client that already hung up needs no FIN first).
    error_code ignored;
    socket.shutdown(tcp::socket::shutdown_send, ignored);
  }
  sessions_.erase(slot);
  registry.connections_open.fetch_sub(1, std::memory_order_relaxed);
}

const std::shared_ptr<const tenancy::KeyDirectory>& Worker::key_directory() {
  tenancy::Governance& governance = app_.governance();
  const std::uint64_t generation = governance.directory_generation();
  if (generation != key_directory_generation_) {
    key_directory_ = governance.directory();
    key_directory_generation_ = generation;
  }
  return key_directory_;
}

}  // namespace baton::server
