#include "postgres_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace baton::test {
namespace {

namespace fs = std::filesystem;

const std::string kInstallHint = "run `scripts/install-deps.sh test` (it installs postgresql)";

// The newest /usr/lib/postgresql/<version>/bin that has the server programs (Debian's layout;
// several versions may sit side by side during an upgrade).
std::string find_bin_dir() {
  std::string best;
  int best_version = -1;
  std::error_code error;
  for (const fs::directory_entry& entry : fs::directory_iterator("/usr/lib/postgresql", error)) {
    const std::string name = entry.path().filename().string();
    int version = 0;
    const auto [end, parse_error] = std::from_chars(name.data(), name.data() + name.size(), version);
    if (parse_error != std::errc() || end != name.data() + name.size()) continue;
    const fs::path bin = entry.path() / "bin";
    if (!fs::exists(bin / "initdb") || !fs::exists(bin / "pg_ctl") || !fs::exists(bin / "postgres")) continue;
    if (version > best_version) {
      best_version = version;
      best = bin.string();
    }
  }
  if (best.empty()) {
    throw std::runtime_error("PostgreSQL server programs (initdb, pg_ctl, postgres) not found in "
                             "/usr/lib/postgresql/*/bin: " + kInstallHint);
  }
  return best;
}

// A loopback port nobody listens on right now: bind port 0 and let the kernel choose.
int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
                  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
  close(fd);
  if (!ok) throw std::runtime_error(std::string("cannot find a free port: ") + std::strerror(errno));
  return ntohs(address.sin_port);
}

std::string tail_of(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  const std::string all = text.str();
  return all.size() > 3000 ? all.substr(all.size() - 3000) : all;
}

}  // namespace

PostgresServer& PostgresServer::shared() {
  static std::once_flag once;
  static std::unique_ptr<PostgresServer> server;  // destroyed at exit: stops the cluster
  static std::string failure;
  std::call_once(once, [] {
    try {
      server = std::make_unique<PostgresServer>();
    } catch (const std::exception& error) {
      failure = error.what();
    }
  });
  if (!server) throw std::runtime_error(failure);
  return *server;
}

PostgresServer::PostgresServer() : bin_dir_(find_bin_dir()) {
  const passwd* owner = nullptr;
  if (geteuid() == 0) {
    owner = getpwnam("postgres");
    if (owner == nullptr) {
      throw std::runtime_error("running as root, and there is no `postgres` user to run PostgreSQL as: " +
                               kInstallHint);
    }
  }
  std::string pattern = (fs::temp_directory_path() / "baton-pg-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp: " + std::string(std::strerror(errno)));
  root_dir_ = pattern;
  try {
    if (owner != nullptr && chown(root_dir_.c_str(), owner->pw_uid, owner->pw_gid) != 0) {
      throw std::runtime_error("chown " + root_dir_ + ": " + std::strerror(errno));
    }
    const std::string data = root_dir_ + "/data";
    // --no-sync and -F (fsync off): a test cluster never needs to survive a power cut.
    run({bin_dir_ + "/initdb", "-D", data, "-A", "trust", "-U", "baton", "--no-sync", "-E", "UTF8", "--locale=C"});
    for (int attempt = 1;; ++attempt) {
      port_ = free_port();
      try {
        run({bin_dir_ + "/pg_ctl", "-D", data, "-l", root_dir_ + "/postgres.log", "-w", "-t", "60", "-o",
             "-p " + std::to_string(port_) + " -k " + root_dir_ + " -c listen_addresses=127.0.0.1 -F", "start"});
        break;
      } catch (const std::runtime_error& error) {
        // Another process may have taken the port between our probe and postgres' bind.
        if (attempt == 3) throw std::runtime_error(error.what() + ("\npostgres.log:\n" + tail_of(root_dir_ + "/postgres.log")));
      }
    }
    started_ = true;
    execute("postgres", "CREATE DATABASE baton_test");
  } catch (...) {
    shutdown();
    throw;
  }
}

PostgresServer::~PostgresServer() { shutdown(); }

void PostgresServer::shutdown() {
  if (started_) {
    started_ = false;
    try {
      run({bin_dir_ + "/pg_ctl", "-D", root_dir_ + "/data", "-m", "immediate", "-w", "stop"});
    } catch (const std::exception&) {
      // Best effort: the folder goes below either way, and a leftover postgres exits once it notices.
    }
  }
  if (!root_dir_.empty()) {
    std::error_code ignored;
    fs::remove_all(root_dir_, ignored);
    root_dir_.clear();
  }
}

std::string PostgresServer::url_for(const std::string& database) const {
  return "postgresql://baton@127.0.0.1:" + std::to_string(port_) + "/" + database;
}

std::string PostgresServer::create_database() {
  std::string name;
  {
    std::lock_guard lock(mutex_);
    name = "baton_test_" + std::to_string(++databases_);
  }
  execute("postgres", "CREATE DATABASE " + name);
  return url_for(name);
}

void PostgresServer::run(const std::vector<std::string>& argv) const {
  std::vector<std::string> command;
  if (geteuid() == 0) command = {"runuser", "-u", "postgres", "--"};
  command.insert(command.end(), argv.begin(), argv.end());
  std::vector<char*> args;
  for (std::string& arg : command) args.push_back(arg.data());
  args.push_back(nullptr);

  const std::string log = root_dir_ + "/tool.log";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  // The postgres user may not be allowed into our working directory; the cluster folder is its own.
  posix_spawn_file_actions_addchdir_np(&actions, root_dir_.c_str());
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot start " + command[0] + ": " + std::strerror(rc));
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw std::runtime_error(argv[0] + " failed (output in " + log + "):\n" + tail_of(log));
  }
}

void PostgresServer::execute(const std::string& database, const std::string& sql) const {
  PGconn* conn = PQconnectdb(url_for(database).c_str());
  std::string error;
  if (PQstatus(conn) != CONNECTION_OK) {
    error = PQerrorMessage(conn);
  } else {
    PGresult* result = PQexec(conn, sql.c_str());
    if (PQresultStatus(result) != PGRES_COMMAND_OK) error = PQresultErrorMessage(result);
    PQclear(result);
  }
  PQfinish(conn);
  if (!error.empty()) throw std::runtime_error("PostgreSQL test cluster: " + sql + ": " + error);
}

}  // namespace baton::test
