#include "http/upstream.hpp"

#include <cstdlib>

#include "core/json_text.hpp"
#include "http/socket_write.hpp"

namespace baton::http {

namespace {
// Bounds connecting (name already resolved), the proxy CONNECT and the TLS handshake. It closes
// the socket rather than cancelling it: a range connect would otherwise go on to the next address
// with the deadline already spent.
class ConnectDeadline final : public Deadline {
 public:
  ConnectDeadline(DeadlineSweep& sweep, tcp::socket& socket) : Deadline(sweep), socket_(socket) {}
  ~ConnectDeadline() = default;

 private:
  void expire() override {
    error_code ignored;
    socket_.close(ignored);
  }
  tcp::socket& socket_;
};

constexpr std::size_t kMaxIdlePerOrigin = 512;
constexpr auto kMaxIdleAge = std::chrono::seconds(50);  // below common upstream keep-alive timeouts (60 s)
constexpr auto kNameTtl = std::chrono::seconds(60);
constexpr std::size_t kMinReadSize = 4096;
constexpr std::size_t kMaxReadSize = 64 * 1024;

std::string env_first(std::initializer_list<const char*> names) {
  for (const char* name : names) {
    if (const char* value = std::getenv(name); value != nullptr && *value != '\0') return value;
  }
  return {};
}
}  // namespace

std::string_view to_string(UpstreamError error) {
  switch (error) {
    case UpstreamError::none: return "none";
    case UpstreamError::connect: return "connect";
    case UpstreamError::tls: return "tls";
    case UpstreamError::timeout: return "timeout";
    case UpstreamError::reset: return "reset";
    case UpstreamError::protocol: return "protocol";
    case UpstreamError::too_large: return "too_large";
  }
  return "unknown";
}

ProxySettings ProxySettings::from_environment() {
  ProxySettings settings;
  auto parse = [](const std::string& url) -> std::optional<config::Origin> {
    if (url.empty()) return std::nullopt;
    config::Origin origin;
    const std::string with_scheme = url.find("://") == std::string::npos ? "http://" + url : url;
    if (!config::parse_origin(with_scheme, origin).empty()) return std::nullopt;
    return origin;
  };
  settings.https_proxy = parse(env_first({"HTTPS_PROXY", "https_proxy"}));
  settings.http_proxy = parse(env_first({"HTTP_PROXY", "http_proxy"}));
  const std::string no_proxy = env_first({"NO_PROXY", "no_proxy"});
  std::size_t start = 0;
  while (start <= no_proxy.size()) {
    std::size_t comma = no_proxy.find(',', start);
    if (comma == std::string::npos) comma = no_proxy.size();
    std::string entry = no_proxy.substr(start, comma - start);
    entry.erase(0, entry.find_first_not_of(' '));
    entry.erase(entry.find_last_not_of(' ') + 1);
    if (entry.starts_with('.')) entry.erase(0, 1);
    if (const std::size_t colon = entry.rfind(':'); colon != std::string::npos && entry.find(':') == colon) {
      entry.resize(colon);  // "host:port" entries match the host
    }
    if (!entry.empty()) settings.no_proxy.push_back(entry);
    start = comma + 1;
  }
  return settings;
}

const config::Origin* ProxySettings::proxy_for(const config::Origin& target) const {
  const std::optional<config::Origin>& proxy = target.tls ? https_proxy : http_proxy;
  if (!proxy) return nullptr;
  for (const std::string& entry : no_proxy) {
    if (entry == "*" || target.host == entry) return nullptr;
    if (target.host.size() > entry.size() && target.host.ends_with(entry) &&
        target.host[target.host.size() - entry.size() - 1] == '.') {
      return nullptr;
    }
  }
  return &*proxy;
}

UpstreamConnection::UpstreamConnection(const asio::any_io_executor& executor, std::string pool_key)
    : socket_(executor), pool_key_(std::move(pool_key)) {}

void UpstreamConnection::start_tls(asio::ssl::context& context) {
  tls_ = std::make_unique<asio::ssl::stream<tcp::socket&>>(socket_, context);
}

awaitable<void> UpstreamConnection::write_all(std::span<const asio::const_buffer> buffers, std::size_t skip,
                                              error_code& ec) {
  if (tls_) {
    std::size_t n = 0;
    std::tie(ec, n) = co_await asio::async_write(*tls_, buffers, use_nothrow);
  } else {
    co_await write_rest(socket_, buffers, skip, ec);
  }
}

asio::ssl::context& TlsClientContext::get() {
  std::call_once(once_, [this] {
    context_.emplace(asio::ssl::context::tls_client);
    context_->set_default_verify_paths();  // system CA store; honours SSL_CERT_FILE / SSL_CERT_DIR
    context_->set_verify_mode(asio::ssl::verify_peer);
  });
  return *context_;
}

UpstreamPool::UpstreamPool(const asio::any_io_executor& executor, DeadlineSweep& deadlines,
                           TlsClientContext& tls_context, const ProxySettings& proxies)
    : executor_(executor), deadlines_(deadlines), tls_context_(tls_context), proxies_(proxies), resolver_(executor) {}

void UpstreamPool::write_pool_key(const config::Origin& origin, std::string& key) {
  key = origin.tls ? "https://" : "http://";
  key += origin.host;
  key += ':';
  append_decimal(key, static_cast<std::uint64_t>(origin.port));
}

std::unique_ptr<UpstreamConnection> UpstreamPool::take_idle(const config::Origin& origin) {
  write_pool_key(origin, key_scratch_);  // reuses the scratch's capacity: no allocation per request
  const auto it = idle_.find(key_scratch_);
  if (it == idle_.end()) return nullptr;
  auto& stack = it->second;
  const auto now = Clock::now();
  while (!stack.empty()) {
    std::unique_ptr<UpstreamConnection> connection = std::move(stack.back());
    stack.pop_back();
    --idle_total_;
    if (now - connection->idle_since < kMaxIdleAge) return connection;
  }
  return nullptr;
}

awaitable<std::unique_ptr<UpstreamConnection>> UpstreamPool::connect(const config::Origin& origin,
                                                                     Clock::time_point deadline,
                                                                     UpstreamError& error) {
  std::string key;
  write_pool_key(origin, key);
  std::unique_ptr<UpstreamConnection> fresh = co_await connect_new(origin, key, deadline, error);
  co_return fresh;
}

void UpstreamPool::release(std::unique_ptr<UpstreamConnection> connection) {
  auto& stack = idle_[connection->pool_key()];
  if (stack.size() >= kMaxIdlePerOrigin) return;
  connection->idle_since = Clock::now();
  stack.push_back(std::move(connection));
  ++idle_total_;
}

void UpstreamPool::close_idle() {
  idle_.clear();
  idle_total_ = 0;
}

awaitable<std::vector<tcp::endpoint>> UpstreamPool::resolve(const std::string& host, std::uint16_t port,
                                                            error_code& ec) {
  if (const auto address = asio::ip::make_address(host, ec); !ec) {
    co_return std::vector<tcp::endpoint>{tcp::endpoint(address, port)};
  }
  ec = {};
  const std::string key = host + ":" + std::to_string(port);
  const auto now = Clock::now();
  if (auto it = names_.find(key); it != names_.end() && it->second.expires > now) co_return it->second.endpoints;
  // Asio runs getaddrinfo on its own background thread: the worker's loop keeps serving meanwhile.
  auto [resolve_ec, results] = co_await resolver_.async_resolve(host, std::to_string(port), use_nothrow);
  ec = resolve_ec;
  std::vector<tcp::endpoint> endpoints;
  if (ec) co_return endpoints;
  for (const auto& entry : results) endpoints.push_back(entry.endpoint());
  names_[key] = CachedName{endpoints, now + kNameTtl};
  co_return endpoints;
}

awaitable<std::unique_ptr<UpstreamConnection>> UpstreamPool::connect_new(const config::Origin& origin,
                                                                         const std::string& key,
                                                                         Clock::time_point deadline,
                                                                         UpstreamError& error) {
  const config::Origin* proxy = proxies_.proxy_for(origin);
  const config::Origin& hop = proxy != nullptr ? *proxy : origin;
  error_code ec;
  std::vector<tcp::endpoint> endpoints = co_await resolve(hop.host, hop.port, ec);
  if (ec || endpoints.empty()) {
    error = UpstreamError::connect;
    co_return nullptr;
  }
  auto connection = std::make_unique<UpstreamConnection>(executor_, key);
  tcp::socket& stream = connection->socket();
  ConnectDeadline connect_deadline(deadlines_, stream);
  connect_deadline.arm(deadline);
  auto [connect_ec, endpoint] = co_await asio::async_connect(stream, endpoints, use_nothrow);
  if (connect_ec) {
    error = connect_deadline.expired() ? UpstreamError::timeout : UpstreamError::connect;
    co_return nullptr;
  }
  stream.set_option(tcp::no_delay(true), ec);

  if (proxy != nullptr) {
    // HTTP CONNECT tunnel, then speak to the origin (TLS or not) through it.
    const std::string authority = origin.host + ":" + std::to_string(origin.port);
    const std::string connect_request =
        "CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority + "\r\n\r\n";
    auto [write_ec, written] = co_await asio::async_write(stream, asio::buffer(connect_request), use_nothrow);
    beast::flat_buffer buffer;
    bhttp::response_parser<bhttp::empty_body> reply;
    reply.skip(true);  // a CONNECT answer has no body
    auto [read_ec, read] = write_ec ? std::tuple{write_ec, std::size_t{0}}
                                    : co_await bhttp::async_read_header(stream, buffer, reply, use_nothrow);
    if (read_ec || reply.get().result_int() != 200) {
      error = connect_deadline.expired() ? UpstreamError::timeout : UpstreamError::connect;
      co_return nullptr;
    }
  }

  if (origin.tls) {
    connection->start_tls(tls_context_.get());
    auto& tls = connection->tls_stream();
    if (!SSL_set_tlsext_host_name(tls.native_handle(), origin.host.c_str())) {
      error = UpstreamError::tls;
      co_return nullptr;
    }
    tls.set_verify_mode(asio::ssl::verify_peer);
    tls.set_verify_callback(asio::ssl::host_name_verification(origin.host));
    auto [handshake_ec] = co_await tls.async_handshake(asio::ssl::stream_base::client, use_nothrow);
    if (handshake_ec) {
      error = connect_deadline.expired() ? UpstreamError::timeout : UpstreamError::tls;
      co_return nullptr;
    }
  }
  connect_deadline.disarm();  // from here on the call's Deadline bounds each exchange
  co_return connection;
}

UpstreamCall::~UpstreamCall() = default;

awaitable<UpstreamError> UpstreamCall::send(const config::Origin& origin, std::span<const asio::const_buffer> request,
                                            Clock::time_point connect_deadline, Clock::time_point head_deadline) {
  for (int attempt = 0; attempt < 2 && !cancelled_; ++attempt) {
    UpstreamError error = UpstreamError::none;
    connection_ = pool_.take_idle(origin);
    reused_ = connection_ != nullptr;
    if (!connection_) connection_ = co_await pool_.connect(origin, connect_deadline, error);
    if (!connection_) co_return error;
    parser_.emplace();
    buffer().clear();
    stash_size_ = 0;
    parser_starved_ = false;
    error_code ec;
    const std::size_t sent = connection_->tls() ? 0 : write_now(connection_->socket(), request, ec);
    if (!ec && sent < total_size(request)) {
      deadline_.arm(head_deadline);
      co_await connection_->write_all(request, sent, ec);
      deadline_.disarm();
    }
    if (!ec) {
      while (!parser_->is_header_done()) {
        error = co_await read_more(head_deadline);
        if (error != UpstreamError::none) break;
      }
      if (error == UpstreamError::none) co_return UpstreamError::none;
    } else {
      error = failure(ec);
    }
    // A kept-alive connection the upstream had already closed: retry once on a fresh one.
    const bool stale = reused_ && error == UpstreamError::reset && !parser_->got_some();
    connection_.reset();
    if (!stale) co_return error;
  }
  co_return UpstreamError::reset;
}

awaitable<UpstreamError> UpstreamCall::read_more(Clock::time_point deadline) {
  std::size_t want = kMinReadSize;
  if (parser_->is_header_done()) {
    if (auto remaining = parser_->content_length_remaining()) {
      want = std::clamp<std::size_t>(*remaining, kMinReadSize, kMaxReadSize);
    }
  }
  if (stash_size_ > 0) {
    asio::buffer_copy(buffer().prepare(stash_size_ + want), asio::buffer(stash_.data(), stash_size_));
    buffer().commit(stash_size_);
    stash_size_ = 0;
  }
  error_code ec;
  std::size_t n = 0;
  deadline_.arm(deadline);
  if (connection_->tls()) {
    std::tie(ec, n) = co_await connection_->tls_stream().async_read_some(buffer().prepare(want), use_nothrow);
  } else {
    std::tie(ec, n) = co_await connection_->socket().async_read_some(buffer().prepare(want), use_nothrow);
  }
  deadline_.disarm();
  if (ec) {
    if (ec == asio::error::eof && parser_->is_header_done()) {
      parser_->put_eof(ec);  // a body delimited by connection close ends here
      if (!ec) co_return UpstreamError::none;
    }
    co_return failure(ec);
  }
  buffer().commit(n);
  last_read_drained_ = n < want;
  parser_starved_ = true;
  while (buffer().size() > 0 && !parser_->is_done()) {
    const std::size_t used = parser_->put(buffer().data(), ec);
    buffer().consume(used);
    if (ec == bhttp::error::need_more) break;
    if (ec) co_return UpstreamError::protocol;
    if (used == 0) {
      parser_starved_ = false;  // not expected of the parser; then never wait on these bytes
      break;
    }
  }
  co_return UpstreamError::none;
}

awaitable<UpstreamError> UpstreamCall::read_body_some(Clock::time_point deadline, bool& done) {
  done = parser_->is_done();
  if (done) co_return UpstreamError::none;
  const UpstreamError error = co_await read_more(deadline);
  done = parser_->is_done();
  co_return error;
}

bool UpstreamCall::can_wait_readable() const {
  // Epoll is edge-triggered: readability is only signalled for bytes that arrive after the last
  // read. A read that filled its whole buffer may have left bytes behind, so only a short read
  // (the socket was drained) makes waiting safe; otherwise read again straight away. Bytes the
  // parser could not use yet (a partial chunk-size line) are no reason to read again.
  return connection_ && !connection_->tls() && last_read_drained_ && (buffered() == 0 || parser_starved_);
}

awaitable<std::tuple<error_code>> UpstreamCall::wait_readable(Clock::time_point deadline) {
  deadline_.arm(deadline);
  return connection_->socket().async_wait(tcp::socket::wait_read, use_nothrow_long_wait());
}

UpstreamError UpstreamCall::wait_readable_result(const error_code& ec) {
  deadline_.disarm();
  if (ec) return failure(ec);
  return UpstreamError::none;
}

UpstreamError UpstreamCall::failure(const error_code&) const {
  return deadline_.expired() ? UpstreamError::timeout : UpstreamError::reset;
}

void UpstreamCall::CallDeadline::expire() {
  if (!call_.connection_) return;
  error_code ignored;
  call_.connection_->socket().cancel(ignored);
}

void UpstreamCall::release_memory() {
  if (connection_ && stash_size_ == 0 && buffer().size() <= stash_.size()) {
    stash_size_ = static_cast<std::uint8_t>(asio::buffer_copy(asio::buffer(stash_), buffer().data()));
    buffer().clear();
    buffer().shrink_to_fit();
  }
  if (parser_ && parser_->body().empty()) parser_->body().shrink_to_fit();
}

awaitable<UpstreamError> UpstreamCall::read_body_all(Clock::time_point deadline, std::size_t max_bytes) {
  while (!parser_->is_done()) {
    const UpstreamError error = co_await read_more(deadline);
    if (error != UpstreamError::none) co_return error;
    if (parser_->body().size() > max_bytes) co_return UpstreamError::too_large;
  }
  co_return UpstreamError::none;
}

void UpstreamCall::finish() {
  if (!connection_) return;
  if (parser_ && parser_->is_done() && parser_->keep_alive() && buffered() == 0) {
    ++connection_->exchanges;
    pool_.release(std::move(connection_));
  }
  connection_.reset();
}

void UpstreamCall::abort() { connection_.reset(); }

void UpstreamCall::cancel() {
  cancelled_ = true;
  if (connection_) {
    error_code ignored;
    connection_->socket().close(ignored);
  }
}

}  // namespace baton::http
