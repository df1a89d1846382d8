#include "store/redis_client.hpp"

extern "C" {
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
}
#include <openssl/evp.h>
#include <spdlog/spdlog.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>

#include <algorithm>
#include <boost/container/small_vector.hpp>
#include <charconv>
#include <cstdint>
#include <thread>
#include <unordered_map>

namespace baton::store {

using std::chrono::milliseconds;

RedisReply RedisReply::unavailable(std::string why) {
  RedisReply reply;
  reply.type = Type::unavailable;
  reply.str = std::move(why);
  return reply;
}

// ---------------------------------------------------------------------------------------------- URL

namespace {

bool parse_int(std::string_view text, int& out) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

// %XX escapes in the user-info part: passwords often hold characters a URL must escape.
std::string percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    int value = 0;
    if (text[i] == '%' && i + 2 < text.size() &&
        std::from_chars(text.data() + i + 1, text.data() + i + 3, value, 16).ptr == text.data() + i + 3) {
      out.push_back(static_cast<char>(value));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

}  // namespace

std::optional<RedisUrl> RedisUrl::parse(std::string_view url, std::string* error) {
  const auto fail = [&](const char* why) -> std::optional<RedisUrl> {
    if (error != nullptr) *error = why;
    return std::nullopt;
  };
  constexpr std::string_view kScheme = "redis://";
  if (!url.starts_with(kScheme)) return fail("redis URL must start with redis://");
  std::string_view rest = url.substr(kScheme.size());
  RedisUrl out;
  const std::size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) {
    const std::string_view db = rest.substr(slash + 1);
    if (!db.empty() && (!parse_int(db, out.db) || out.db < 0)) return fail("redis URL: the path must be a database number");
  }
  if (const std::size_t at = authority.rfind('@'); at != std::string_view::npos) {
    const std::string_view userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    if (const std::size_t colon = userinfo.find(':'); colon != std::string_view::npos) {
      out.user = percent_decode(userinfo.substr(0, colon));
      out.password = percent_decode(userinfo.substr(colon + 1));
    } else {
      out.password = percent_decode(userinfo);  // redis://secret@host: the older, password-only form
    }
  }
  std::string_view port;
  if (authority.starts_with('[')) {  // [::1]:6379
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return fail("redis URL: unterminated [IPv6] host");
    out.host = std::string(authority.substr(1, close - 1));
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':') return fail("redis URL: junk after the host");
    if (!after.empty()) port = after.substr(1);
  } else if (const std::size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    out.host = std::string(authority.substr(0, colon));
    port = authority.substr(colon + 1);
  } else {
    out.host = std::string(authority);
  }
  if (out.host.empty()) return fail("redis URL: missing host");
  if (!port.empty() && (!parse_int(port, out.port) || out.port <= 0 || out.port > 65535)) {
    return fail("redis URL: bad port");
  }
  return out;
}

RedisScript::RedisScript(std::string lua) : source(std::move(lua)) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(source.data(), source.size(), digest, &length, EVP_sha1(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  sha1.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) {
    sha1.push_back(kHex[digest[i] >> 4]);
    sha1.push_back(kHex[digest[i] & 0xf]);
  }
}

// ------------------------------------------------------------------------------------ Asio adapter

namespace {

// Drives one redisAsyncContext from an io_context: hiredis says when it wants to read or write
// (ev.addRead ...), and we call redisAsyncHandleRead/Write when the socket is ready.
//
// Asio's reactor is edge-triggered and a descriptor wait only completes on a new edge, so:
//  - after a read-readiness wakeup we keep calling redisAsyncHandleRead (16 KiB per call) while the
//    socket still has bytes or an EOF to report, instead of waiting for an edge that already passed;
//  - writes are attempted directly (posted, so commands issued in one turn go out in one write) and
//    only when hiredis could not write everything -- the send buffer is full, so an edge will come --
//    do we wait for writability. While connecting, writability is the connect completing.
// The fd belongs to hiredis: cleanup() release()s it from Asio and hiredis closes it. Pending waits
// hold a shared_ptr to the watcher, so it outlives the context hiredis frees.
class Watcher : public std::enable_shared_from_this<Watcher> {
 public:
  Watcher(asio::io_context& io, redisAsyncContext* context) : context_(context), descriptor_(io, context->c.fd) {}

  void attach() {
    context_->ev.data = this;
    context_->ev.addRead = [](void* self) { static_cast<Watcher*>(self)->want_read(true); };
    context_->ev.delRead = [](void* self) { static_cast<Watcher*>(self)->want_read(false); };
    context_->ev.addWrite = [](void* self) { static_cast<Watcher*>(self)->want_write(true); };
    context_->ev.delWrite = [](void* self) { static_cast<Watcher*>(self)->want_write(false); };
    context_->ev.cleanup = [](void* self) { static_cast<Watcher*>(self)->detach(); };
  }

 private:
  void want_read(bool on) {
    want_read_ = on;
    if (on) arm_read();
  }

  void want_write(bool on) {
    want_write_ = on;
    if (!on || context_ == nullptr) return;
    if (in_write_) {
      write_again_ = true;  // called from inside redisAsyncHandleWrite: some bytes did not fit
    } else if ((context_->c.flags & REDIS_CONNECTED) == 0) {
      arm_write();
    } else if (!write_posted_ && !write_armed_) {
      write_posted_ = true;
      asio::post(descriptor_.get_executor(), [self = shared_from_this()] {
        self->write_posted_ = false;
        self->write();
      });
    }
  }

  // hiredis is freeing the context (and will close the fd): stop touching both.
  void detach() {
    context_ = nullptr;
    want_read_ = want_write_ = false;
    descriptor_.release();  // cancels our waits without closing the fd
  }

  void arm_read() {
    if (context_ == nullptr || read_armed_ || !want_read_) return;
    read_armed_ = true;
    descriptor_.async_wait(asio::posix::descriptor_base::wait_read, [self = shared_from_this()](error_code ec) {
      self->read_armed_ = false;
      if (!ec) self->read();
    });
  }

  void arm_write() {
    if (context_ == nullptr || write_armed_) return;
    write_armed_ = true;
    descriptor_.async_wait(asio::posix::descriptor_base::wait_write, [self = shared_from_this()](error_code ec) {
      self->write_armed_ = false;
      if (!ec) self->write();
    });
  }

  void read() {
    while (context_ != nullptr && want_read_) {
      redisAsyncHandleRead(context_);  // may run callbacks, and free the context on EOF or error
      if (context_ == nullptr || !socket_has_more()) break;
    }
    arm_read();
  }

  // More bytes, or an EOF, that a wakeup already reported: peek without consuming.
  bool socket_has_more() const {
    char byte = 0;
    const ssize_t n = ::recv(context_->c.fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
  }

  void write() {
    if (context_ == nullptr || !want_write_) return;
    in_write_ = true;
    write_again_ = false;
    redisAsyncHandleWrite(context_);  // also completes the connect; may free the context on error
    in_write_ = false;
    if (context_ != nullptr && write_again_ && want_write_) arm_write();
  }

  redisAsyncContext* context_;  // null once hiredis has cleaned up
  asio::posix::stream_descriptor descriptor_;
  bool want_read_ = false;
  bool want_write_ = false;
  bool read_armed_ = false;
  bool write_armed_ = false;
  bool write_posted_ = false;
  bool in_write_ = false;
  bool write_again_ = false;
};

RedisReply convert(const redisReply& r) {
  RedisReply out;
  switch (r.type) {
    case REDIS_REPLY_STRING:
      out.type = RedisReply::Type::string;
      out.str.assign(r.str, r.len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = RedisReply::Type::status;
      out.str.assign(r.str, r.len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = RedisReply::Type::error;
      out.str.assign(r.str, r.len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::Type::integer;
      out.integer = r.integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::Type::array;
      out.elements.reserve(r.elements);
      for (std::size_t i = 0; i < r.elements; ++i) out.elements.push_back(convert(*r.element[i]));
      break;
    default:
      out.type = RedisReply::Type::nil;
  }
  return out;
}

bool is_noscript(const RedisReply& reply) { return reply.is_error() && reply.str.starts_with("NOSCRIPT"); }

std::vector<std::string> script_command(const char* verb, const std::string& body,
                                        const std::vector<std::string>& keys_and_args, std::size_t numkeys) {
  std::vector<std::string> cmd;
  cmd.reserve(keys_and_args.size() + 3);
  cmd.emplace_back(verb);
  cmd.push_back(body);
  cmd.push_back(std::to_string(numkeys));
  cmd.insert(cmd.end(), keys_and_args.begin(), keys_and_args.end());
  return cmd;
}

}  // namespace

// ------------------------------------------------------------------------------------------ client

struct RedisClient::Impl {
  struct Pending {
    std::unique_ptr<detail::RedisCompletion> done;
    std::optional<asio::steady_timer> timer;  // none for internal commands that wait as long as it takes
  };

  // A fire-and-forget EVALSHA that turns into an EVAL when Redis lost the script (restart, FLUSH).
  class EvalFallback final : public detail::RedisCompletion {
   public:
    EvalFallback(Impl& impl, std::vector<std::string>&& command) : impl_(impl), command_(std::move(command)) {}
    const std::vector<std::string>& command() const { return command_; }
    void complete(RedisReply&& reply) override {
      if (!is_noscript(reply)) {
        if (reply.is_error()) spdlog::warn("redis: script failed: {}", reply.str);
        return;
      }
      const std::string* source = impl_.script_source(command_[1]);
      if (source == nullptr) {
        spdlog::error("redis: script {} unknown to Redis and never registered with load_script(); dropped", command_[1]);
        return;
      }
      command_[0] = "EVAL";
      command_[1] = *source;
      // Sent from inside the reply callback (hiredis allows it): a post could land behind commands
      // other threads queue meanwhile.
      impl_.send_now(command_);
    }

   private:
    Impl& impl_;
    std::vector<std::string> command_;
  };

  Impl(RedisClient& owner_in, RedisUrl url_in, Options options_in)
      : owner(owner_in), url(std::move(url_in)), options(options_in), backoff(options.reconnect_min) {}

  // ----- Redis thread only below -----

  bool accepting() const {
    return !stopping && context != nullptr && (ready || first_attempt) && in_flight < options.max_in_flight;
  }

  // Hands one command to hiredis; `id` 0 means nobody waits for the reply.
  bool send_argv(const std::vector<std::string>& args, std::uint64_t id) {
    boost::container::small_vector<const char*, 16> argv;
    boost::container::small_vector<std::size_t, 16> lengths;
    for (const std::string& arg : args) {
      argv.push_back(arg.data());
      lengths.push_back(arg.size());
    }
    // The id travels as hiredis' privdata: a late reply finds no pending entry, never a dangling pointer.
    void* privdata = reinterpret_cast<void*>(static_cast<std::uintptr_t>(id));
    if (redisAsyncCommandArgv(context, &Impl::on_reply, privdata, static_cast<int>(argv.size()), argv.data(),
                              lengths.data()) != REDIS_OK) {
      return false;
    }
    ++in_flight;
    commands.fetch_add(1, std::memory_order_relaxed);
    return true;
  }

  void send_now(const std::vector<std::string>& args) {
    if (!accepting() || !send_argv(args, 0)) rejected.fetch_add(1, std::memory_order_relaxed);
  }

  void issue(const std::vector<std::string>& args, milliseconds timeout, std::unique_ptr<detail::RedisCompletion> done) {
    const std::uint64_t id = next_id++;
    if (!accepting() || !send_argv(args, id)) {
      rejected.fetch_add(1, std::memory_order_relaxed);
      const char* why = context == nullptr || !ready ? "redis: not connected" : "redis: too many commands in flight";
      done->complete(RedisReply::unavailable(why));
      return;
    }
    Pending& pending_command = pending[id];
    pending_command.done = std::move(done);
    if (timeout.count() > 0) {
      asio::steady_timer& timer = pending_command.timer.emplace(io, timeout);
      timer.async_wait([this, id](error_code ec) {
        if (!ec) expire(id);
      });
    }
  }

  void finish(std::uint64_t id, const redisReply* reply) {
    const auto it = pending.find(id);
    if (it == pending.end()) return;  // timed out already: the caller has moved on
    std::unique_ptr<detail::RedisCompletion> done = std::move(it->second.done);
    pending.erase(it);
    done->complete(reply != nullptr ? convert(*reply) : RedisReply::unavailable("redis: connection lost"));
  }

  void expire(std::uint64_t id) {
    const auto it = pending.find(id);
    if (it == pending.end()) return;
    std::unique_ptr<detail::RedisCompletion> done = std::move(it->second.done);
    pending.erase(it);
    timeouts.fetch_add(1, std::memory_order_relaxed);
    done->complete(RedisReply::unavailable(std::string(RedisReply::kTimeout)));
  }

  const std::string* script_source(const std::string& sha1) const {
    for (const RedisScript& script : scripts) {
      if (script.sha1 == sha1) return &script.source;
    }
    return nullptr;
  }

  void connect() {
    if (stopping) return;
    ++generation;
    redisAsyncContext* fresh = redisAsyncConnect(url.host.c_str(), url.port);
    if (fresh == nullptr || fresh->err != 0) {
      log_lost(fresh != nullptr ? fresh->errstr : "out of memory");
      if (fresh != nullptr) redisAsyncFree(fresh);
      lost();
      return;
    }
    context = fresh;
    context->data = this;
    watcher = std::make_shared<Watcher>(io, context);
    watcher->attach();
    redisAsyncSetConnectCallback(context, &Impl::on_connect);  // waits for writability: the connect
    redisAsyncSetDisconnectCallback(context, &Impl::on_disconnect);
    // Queued before any command, so they are the first things the server reads on this connection.
    if (!url.password.empty()) {
      std::vector<std::string> auth{"AUTH"};
      if (!url.user.empty()) auth.push_back(url.user);
      auth.push_back(url.password);
      send_argv(auth, 0);
    }
    if (url.db != 0) send_argv({"SELECT", std::to_string(url.db)}, 0);
    for (const RedisScript& script : scripts) send_argv({"SCRIPT", "LOAD", script.source}, 0);
    connect_timer.expires_after(options.connect_timeout);
    connect_timer.async_wait([this, attempt = generation](error_code ec) {
      if (ec || attempt != generation || ready || context == nullptr) return;
      log_lost("connect timed out");
      redisAsyncContext* stale = std::exchange(context, nullptr);
      redisAsyncFree(stale);  // fails what was queued; no disconnect callback (never connected)
      lost();
    });
  }

  // The connection is gone (or never came): retry after a growing pause.
  void lost() {
    context = nullptr;
    ready = false;
    first_attempt = false;
    owner.connected_.store(false, std::memory_order_release);
    if (stopping) return;
    reconnect_timer.expires_after(backoff);
    backoff = std::min(backoff * 2, options.reconnect_max);
    reconnect_timer.async_wait([this](error_code ec) {
      if (!ec) connect();
    });
  }

  // One warning per outage, not one per retry.
  void log_lost(const char* why) {
    if (quiet) return;
    spdlog::warn("redis {}:{}: {} (reconnecting with backoff)", url.host, url.port, why);
    quiet = true;
  }

  static Impl& of(const redisAsyncContext* context) { return *static_cast<Impl*>(context->data); }

  static void on_reply(redisAsyncContext* context, void* reply, void* privdata) {
    Impl& self = of(context);
    if (self.in_flight > 0) --self.in_flight;
    const auto id = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(privdata));
    const auto* r = static_cast<const redisReply*>(reply);
    if (id != 0) {
      self.finish(id, r);
    } else if (r != nullptr && r->type == REDIS_REPLY_ERROR) {
      spdlog::warn("redis: {}", std::string_view(r->str, r->len));
    }
  }

  static void on_connect(const redisAsyncContext* context, int status) {
    Impl& self = of(context);
    if (status != REDIS_OK) {  // hiredis frees the context when we return
      self.log_lost(context->errstr);
      self.lost();
      return;
    }
    self.connect_timer.cancel();
    if (self.ever_connected) self.reconnects.fetch_add(1, std::memory_order_relaxed);
    if (self.quiet || self.ever_connected) spdlog::info("redis {}:{}: connected", self.url.host, self.url.port);
    self.ever_connected = true;
    self.quiet = false;
    self.ready = true;
    self.backoff = self.options.reconnect_min;
    self.owner.connected_.store(true, std::memory_order_release);
  }

  static void on_disconnect(const redisAsyncContext* context, int status) {
    Impl& self = of(context);
    if (status != REDIS_OK) self.log_lost(context->errstr);
    self.lost();
  }

  void shutdown() {
    stopping = true;
    reconnect_timer.cancel();
    connect_timer.cancel();
    if (redisAsyncContext* open = std::exchange(context, nullptr)) redisAsyncFree(open);  // fails what is in flight
    auto left = std::move(pending);
    for (auto& [id, command] : left) command.done->complete(RedisReply::unavailable("redis: client stopped"));
    owner.connected_.store(false, std::memory_order_release);
    io.stop();  // anything still queued (cancelled waits) is destroyed with the io_context
  }

  RedisClient& owner;
  const RedisUrl url;
  const Options options;
  asio::io_context io{1};
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  asio::steady_timer reconnect_timer{io};
  asio::steady_timer connect_timer{io};
  redisAsyncContext* context = nullptr;
  std::shared_ptr<Watcher> watcher;
  std::unordered_map<std::uint64_t, Pending> pending;
  std::vector<RedisScript> scripts;
  milliseconds backoff;
  std::uint64_t next_id = 1;
  std::uint64_t generation = 0;
  std::size_t in_flight = 0;  // sent to hiredis, reply callback not yet run
  bool ready = false;         // connected
  bool first_attempt = true;  // before the first connect resolves, commands queue rather than fail
  bool ever_connected = false;
  bool quiet = false;  // the current outage was logged
  bool stopping = false;
  std::atomic<std::uint64_t> commands{0}, timeouts{0}, rejected{0}, reconnects{0};
  std::thread thread;
};

RedisClient::RedisClient(RedisUrl url) : RedisClient(std::move(url), Options{}) {}

RedisClient::RedisClient(RedisUrl url, Options options)
    : impl_(std::make_unique<Impl>(*this, std::move(url), options)) {
  Impl* impl = impl_.get();
  asio::post(impl->io, [impl] { impl->connect(); });
  impl->thread = std::thread([impl] {
    // hiredis writes with write(2): a server that went away would raise SIGPIPE and kill the process.
    // Blocked on this thread (the only one that writes to the socket), write just fails with EPIPE.
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
    for (;;) {
      try {
        impl->io.run();
        return;
      } catch (const std::exception& e) {
        spdlog::error("redis client thread: {}", e.what());
      }
    }
  });
}

RedisClient::~RedisClient() {
  Impl* impl = impl_.get();
  asio::post(impl->io, [impl] { impl->shutdown(); });
  impl->work.reset();
  impl->thread.join();
}

asio::io_context::executor_type RedisClient::io_executor() { return impl_->io.get_executor(); }
asio::any_io_executor RedisClient::executor() { return impl_->io.get_executor(); }

void RedisClient::start(std::vector<std::string>&& args, milliseconds timeout,
                        std::unique_ptr<detail::RedisCompletion> done) {
  asio::post(impl_->io, [impl = impl_.get(), args = std::move(args), timeout, done = std::move(done)]() mutable {
    impl->issue(args, timeout, std::move(done));
  });
}

awaitable<RedisReply> RedisClient::eval(const RedisScript& script, const std::vector<std::string>& keys_and_args,
                                        std::size_t numkeys, milliseconds timeout) {
  const Clock::time_point deadline = Clock::now() + timeout;
  std::vector<std::string> by_digest = script_command("EVALSHA", script.sha1, keys_and_args, numkeys);
  RedisReply reply = co_await command(std::move(by_digest), timeout);
  if (!is_noscript(reply)) co_return reply;
  // Redis restarted or its scripts were flushed: send the source (which also caches it again).
  const milliseconds left =
      std::max(milliseconds(1), std::chrono::duration_cast<milliseconds>(deadline - Clock::now()));
  std::vector<std::string> by_source = script_command("EVAL", script.source, keys_and_args, numkeys);
  RedisReply second = co_await command(std::move(by_source), left);
  co_return second;
}

void RedisClient::send(std::vector<std::string>&& args) {
  asio::post(impl_->io, [impl = impl_.get(), args = std::move(args)] { impl->send_now(args); });
}

void RedisClient::send_eval(const RedisScript& script, std::vector<std::string>&& keys_and_args, std::size_t numkeys) {
  std::vector<std::string> cmd = script_command("EVALSHA", script.sha1, keys_and_args, numkeys);
  asio::post(impl_->io, [impl = impl_.get(), cmd = std::move(cmd)]() mutable {
    auto fallback = std::make_unique<Impl::EvalFallback>(*impl, std::move(cmd));
    const std::vector<std::string>& args = fallback->command();  // sent before `fallback` moves on
    impl->issue(args, milliseconds(0), std::move(fallback));
  });
}

void RedisClient::load_script(const RedisScript& script) {
  asio::post(impl_->io, [impl = impl_.get(), script] {
    if (impl->script_source(script.sha1) != nullptr) return;
    impl->scripts.push_back(script);
    // While connecting too: hiredis queues it, and the next connection loads every script anyway.
    if (impl->context != nullptr) impl->send_argv({"SCRIPT", "LOAD", script.source}, 0);
  });
}

RedisClient::Stats RedisClient::stats() const {
  Stats out;
  out.commands = impl_->commands.load(std::memory_order_relaxed);
  out.timeouts = impl_->timeouts.load(std::memory_order_relaxed);
  out.rejected = impl_->rejected.load(std::memory_order_relaxed);
  out.reconnects = impl_->reconnects.load(std::memory_order_relaxed);
  return out;
}

}  // namespace baton::store
