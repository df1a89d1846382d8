#include "providers/llama_server.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <algorithm>
#include <thread>

namespace baton::providers {

namespace {
constexpr auto kPollWhileStarting = std::chrono::milliseconds(100);
constexpr auto kPollWhileReady = std::chrono::seconds(2);
constexpr auto kStableAfter = std::chrono::seconds(30);  // healthy this long: backoff starts over
constexpr auto kStartupTimeout = std::chrono::seconds(120);  // loading a big GGUF can take a while
constexpr unsigned kFailedProbesBeforeKill = 3;  // a ready server that stops answering (hung) is replaced

std::uint16_t pick_free_loopback_port(asio::io_context& io) {
  tcp::acceptor probe(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  return probe.local_endpoint().port();
}

std::chrono::milliseconds backoff(unsigned failures) {
  const unsigned shift = std::min(failures, 6U);  // 250 ms · 2^n, at most 16 s
  return std::chrono::milliseconds(250U << shift);
}
}  // namespace

std::string default_llama_server_binary() {
  if (const char* env = std::getenv("BATON_LLAMA_SERVER"); env != nullptr && *env != '\0') return env;
#ifdef BATON_SOURCE_DIR
  const std::string pinned = std::string(BATON_SOURCE_DIR) + "/.cache/llama/3.22.1/bin/llama-server";
  if (std::filesystem::exists(pinned)) return pinned;
#endif
  return "llama-server";
}

std::string LlamaServer::fingerprint_of(const config::ProviderConfig& p) {
  std::string f = p.binary + '\n' + p.model_path + '\n' + std::to_string(p.threads) + '\n' + std::to_string(p.ctx_size);
  for (const std::string& arg : p.args) f += '\n' + arg;
  return f;
}

LlamaServer::LlamaServer(asio::io_context& io, config::ProviderConfig provider)
    : io_(io), provider_(std::move(provider)), fingerprint_(fingerprint_of(provider_)), restart_timer_(io) {
  if (provider_.binary.empty()) provider_.binary = default_llama_server_binary();
}

LlamaServer::~LlamaServer() = default;

void LlamaServer::start() { spawn(); }

void LlamaServer::spawn() {
  if (stopping_) return;
  ++generation_;
  state_->ready = false;
  std::uint16_t port = 0;
  try {
    port = pick_free_loopback_port(io_);
  } catch (const std::exception& e) {
    spdlog::error("provider {}: no free loopback port: {}", name(), e.what());
    schedule_restart();
    return;
  }
  std::vector<std::string> args = {provider_.binary,       "--model", provider_.model_path, "--host", "127.0.0.1",
                                   "--port",               std::to_string(port), "--threads", std::to_string(provider_.threads),
                                   "--ctx-size",           std::to_string(provider_.ctx_size)};
  // Answer with the provider's name as the model, not the GGUF file's path on this host.
  if (std::find(provider_.args.begin(), provider_.args.end(), "--alias") == provider_.args.end()) {
    args.insert(args.end(), {"--alias", provider_.name});
  }
  args.insert(args.end(), provider_.args.begin(), provider_.args.end());
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) {
    spdlog::error("provider {}: pipe failed: {}", name(), std::strerror(errno));
    schedule_restart();
    return;
  }
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) {
    // Child: only async-signal-safe calls until exec.
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive baton, even after kill -9
    if (getppid() != parent) _exit(127);
    dup2(out[1], STDOUT_FILENO);
    dup2(out[1], STDERR_FILENO);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execvp(argv[0], argv.data());
    _exit(127);
  }
  close(out[1]);
  if (pid < 0) {
    close(out[0]);
    spdlog::error("provider {}: fork failed: {}", name(), std::strerror(errno));
    schedule_restart();
    return;
  }
  state_->pid = pid;
  state_->port = port;
  spdlog::info("provider {}: started llama-server pid {} on 127.0.0.1:{} ({})", name(), pid, port, provider_.model_path);
  auto pipe = std::make_shared<asio::posix::stream_descriptor>(io_, out[0]);
  auto self = shared_from_this();
  asio::co_spawn(io_, [self, pipe, g = generation_]() { return self->pump_output(pipe, g); }, asio::detached);
  asio::co_spawn(io_, [self, g = generation_]() { return self->watch_health(g); }, asio::detached);
}

awaitable<void> LlamaServer::pump_output(std::shared_ptr<asio::posix::stream_descriptor> pipe, std::uint64_t generation) {
  auto self = shared_from_this();
  std::string buffer;
  for (;;) {
    auto [ec, n] = co_await asio::async_read_until(*pipe, asio::dynamic_buffer(buffer, 1 << 20), '\n', use_nothrow);
    if (ec) break;
    std::string_view line(buffer.data(), n - 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!line.empty()) spdlog::info("[{}] {}", name(), line);
    buffer.erase(0, n);
  }
  (void)generation;
}

awaitable<bool> LlamaServer::probe_health(std::uint16_t port) {
  beast::tcp_stream stream(io_);
  stream.expires_after(std::chrono::seconds(2));
  auto [connect_ec] = co_await stream.async_connect(tcp::endpoint(asio::ip::address_v4::loopback(), port), use_nothrow);
  if (connect_ec) co_return false;
  static constexpr std::string_view kRequest = "GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n";
  auto [write_ec, written] = co_await asio::async_write(stream, asio::buffer(kRequest), use_nothrow);
  if (write_ec) co_return false;
  beast::flat_buffer buffer;
  bhttp::response<bhttp::string_body> response;
  auto [read_ec, read] = co_await bhttp::async_read(stream, buffer, response, use_nothrow);
  co_return !read_ec && response.result_int() == 200;
}

awaitable<void> LlamaServer::watch_health(std::uint64_t generation) {
  auto self = shared_from_this();
  asio::steady_timer timer(io_);
  const auto started = Clock::now();
  unsigned failed_probes = 0;
  while (!stopping_ && generation == generation_) {
    const bool healthy = co_await probe_health(state_->port.load());
    if (stopping_ || generation != generation_) break;
    failed_probes = healthy ? 0 : failed_probes + 1;
    const bool hung = state_->ready && failed_probes >= kFailedProbesBeforeKill;
    const bool never_started = !state_->ready && !healthy && Clock::now() - started > kStartupTimeout;
    if (hung || never_started) {
      // Alive but useless: kill it; reap() sees the exit and restarts it with backoff.
      spdlog::error("provider {}: llama-server pid {} {}; killing it", name(), state_->pid.load(),
                    hung ? "stopped answering /health" : "did not become ready in time");
      state_->ready = false;
      if (const int pid = state_->pid.load(); pid > 0) kill(pid, SIGKILL);
      break;
    }
    const bool was_ready = state_->ready.exchange(healthy);
    if (healthy && !was_ready) {
      ready_since_ = Clock::now();
      spdlog::info("provider {}: llama-server ready on 127.0.0.1:{}", name(), state_->port.load());
    } else if (!healthy && was_ready) {
      spdlog::warn("provider {}: llama-server stopped answering /health", name());
    }
    if (healthy && consecutive_failures_ > 0 && Clock::now() - ready_since_ > kStableAfter) consecutive_failures_ = 0;
    timer.expires_after(state_->ready ? std::chrono::milliseconds(kPollWhileReady) : kPollWhileStarting);
    co_await timer.async_wait(use_nothrow);
  }
}

void LlamaServer::reap() {
  const int pid = state_->pid.load();
  if (pid <= 0) return;
  int status = 0;
  if (waitpid(pid, &status, WNOHANG) != pid) return;
  state_->pid = 0;
  state_->ready = false;
  ++generation_;  // retire this process's health watcher
  if (stopping_) return;
  const std::string how = WIFSIGNALED(status) ? "signal " + std::to_string(WTERMSIG(status))
                                              : "exit code " + std::to_string(WEXITSTATUS(status));
  spdlog::error("provider {}: llama-server pid {} died ({})", name(), pid, how);
  schedule_restart();
}

void LlamaServer::schedule_restart() {
  if (stopping_) return;
  const auto delay = backoff(consecutive_failures_++);
  state_->restarts.fetch_add(1);
  spdlog::info("provider {}: restarting llama-server in {} ms", name(), delay.count());
  restart_timer_.expires_after(delay);
  restart_timer_.async_wait([self = shared_from_this()](const error_code& ec) {
    if (!ec) self->spawn();
  });
}

void LlamaServer::stop(std::chrono::milliseconds grace) {
  stopping_ = true;
  ++generation_;
  state_->ready = false;
  restart_timer_.cancel();
  const int pid = state_->pid.exchange(0);
  if (pid <= 0) return;
  kill(pid, SIGTERM);
  const auto deadline = Clock::now() + grace;
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (Clock::now() >= deadline) {
      spdlog::warn("provider {}: llama-server pid {} ignored SIGTERM; killing", name(), pid);
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // shutdown path only
  }
  spdlog::info("provider {}: llama-server pid {} stopped", name(), pid);
}

void LocalServers::apply(const config::Config& config) {
  std::map<std::string, std::shared_ptr<LlamaServer>> next;
  for (const config::ProviderConfig& provider : config.providers) {
    if (provider.kind != config::ProviderKind::llama_server || !provider.enabled) continue;
    auto it = servers_.find(provider.name);
    if (it != servers_.end() && it->second->fingerprint() == LlamaServer::fingerprint_of(provider)) {
      next.emplace(provider.name, it->second);  // unchanged: keep the running process
      continue;
    }
    auto server = std::make_shared<LlamaServer>(io_, provider);
    server->start();
    next.emplace(provider.name, std::move(server));
  }
  for (auto& [name, server] : servers_) {
    if (auto it = next.find(name); it == next.end() || it->second != server) server->stop(std::chrono::seconds(5));
  }
  servers_ = std::move(next);
}

std::shared_ptr<LocalServerState> LocalServers::state_for(const std::string& provider) const {
  const auto it = servers_.find(provider);
  return it == servers_.end() ? nullptr : it->second->state();
}

void LocalServers::reap() {
  for (auto& [name, server] : servers_) server->reap();
}

void LocalServers::stop_all() {
  for (auto& [name, server] : servers_) server->stop(std::chrono::seconds(5));
  servers_.clear();
}

bool LocalServers::all_ready() const {
  for (const auto& [name, server] : servers_) {
    if (!server->state()->ready) return false;
  }
  return true;
}

}  // namespace baton::providers
