#include "redis_server.hpp"

#include <arpa/inet.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace baton::test {

namespace {

// Binds port 0 on loopback and gives the port back: free now, and almost surely still free when
// redis-server binds it a moment later.
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t length = sizeof(addr);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length) != 0) {
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("redis test server: cannot find a free port");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::string read_tail(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  const std::string all = text.str();
  return all.size() > 2000 ? all.substr(all.size() - 2000) : all;
}

std::string password_of(const std::vector<std::string>& args) {
  for (std::size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == "--requirepass") return args[i + 1];
  }
  return {};
}

std::string reply_text(const redisReply& reply) {
  switch (reply.type) {
    case REDIS_REPLY_INTEGER: return std::to_string(reply.integer);
    case REDIS_REPLY_NIL: return "";
    case REDIS_REPLY_ARRAY: {
      std::string out;
      for (std::size_t i = 0; i < reply.elements; ++i) out += (i ? "," : "") + reply_text(*reply.element[i]);
      return out;
    }
    default: return std::string(reply.str, reply.len);
  }
}

}  // namespace

RedisServer::RedisServer(std::vector<std::string> extra_args) : extra_args_(std::move(extra_args)) {
  std::string pattern = (std::filesystem::temp_directory_path() / "baton-redis-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("redis test server: mkdtemp failed");
  dir_ = pattern;
  port_ = free_port();
  start();
}

RedisServer::~RedisServer() {
  stop();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string RedisServer::url(int db) const { return "redis://127.0.0.1:" + std::to_string(port_) + "/" + std::to_string(db); }

void RedisServer::start() {
  if (pid_ > 0) return;
  std::vector<std::string> args{"redis-server", "--port",   std::to_string(port_), "--bind",     "127.0.0.1",
                                "--save",       "",         "--appendonly",        "no",         "--dir",
                                dir_,           "--daemonize", "no"};
  args.insert(args.end(), extra_args_.begin(), extra_args_.end());
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);

  const std::string log = dir_ + "/redis.log";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, "redis-server", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    throw std::runtime_error("redis test server: cannot run redis-server (install it: scripts/install-deps.sh test)");
  }
  pid_ = pid;
  paused_ = false;
  wait_ready(std::chrono::seconds(10));
}

void RedisServer::wait_ready(std::chrono::milliseconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < until) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("redis test server exited at startup:\n" + read_tail(dir_ + "/redis.log"));
    }
    // Any reply (even NOAUTH) means it is listening and serving.
    const timeval timeout{0, 200'000};
    if (redisContext* c = redisConnectWithTimeout("127.0.0.1", port_, timeout)) {
      const bool up = c->err == 0 && [&] {
        auto* reply = static_cast<redisReply*>(redisCommand(c, "PING"));
        if (reply != nullptr) freeReplyObject(reply);
        return reply != nullptr;
      }();
      redisFree(c);
      if (up) return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // poll interval, not a readiness guess
  }
  stop();
  throw std::runtime_error("redis test server did not answer PING in time:\n" + read_tail(dir_ + "/redis.log"));
}

void RedisServer::pause() {
  if (pid_ > 0 && !paused_) ::kill(pid_, SIGSTOP);
  paused_ = true;
}

void RedisServer::resume() {
  if (pid_ > 0 && paused_) ::kill(pid_, SIGCONT);
  paused_ = false;
}

void RedisServer::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);  // works on a stopped process too
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  paused_ = false;
}

std::optional<std::string> RedisServer::query(const std::vector<std::string>& args) const {
  const timeval timeout{2, 0};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", port_, timeout);
  if (c == nullptr) return std::nullopt;
  std::optional<std::string> out;
  const auto run = [&](const std::vector<std::string>& command) -> redisReply* {
    std::vector<const char*> argv;
    std::vector<std::size_t> lengths;
    for (const std::string& arg : command) {
      argv.push_back(arg.data());
      lengths.push_back(arg.size());
    }
    return static_cast<redisReply*>(
        redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lengths.data()));
  };
  if (c->err == 0) {
    if (const std::string password = password_of(extra_args_); !password.empty()) {
      if (redisReply* auth = run({"AUTH", password})) freeReplyObject(auth);
    }
    if (redisReply* reply = run(args)) {
      if (reply->type != REDIS_REPLY_ERROR) out = reply_text(*reply);
      freeReplyObject(reply);
    }
  }
  redisFree(c);
  return out;
}

}  // namespace baton::test
