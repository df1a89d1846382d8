#pragma once
// A throwaway PostgreSQL cluster for tests, so the PostgreSQL backend is tested against the real
// server rather than a fake: initdb into a temporary folder, start on a free loopback port, and on
// destruction stop it and delete the folder. initdb and postgres refuse to run as root, so as root
// (containers, CI) they run as the `postgres` user through runuser.
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace baton::test {

class PostgresServer {
 public:
  // The cluster every test in this binary shares, started on first use (about a second).
  // Throws std::runtime_error saying why it cannot start, e.g. no binaries (the message names
  // `scripts/install-deps.sh test`); every later call throws the same.
  static PostgresServer& shared();

  PostgresServer();  // starts the cluster; throws std::runtime_error
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  int port() const { return port_; }
  // postgresql://baton@127.0.0.1:<port>/baton_test
  std::string url() const { return url_for("baton_test"); }
  std::string url_for(const std::string& database) const;
  // Creates a new, empty database (a unique name) and returns its URL: tests stay independent
  // without paying for a cluster each.
  std::string create_database();

 private:
  // Runs argv[0] with the arguments (as the postgres user when we are root), output appended to
  // the cluster's log; throws with the log's tail when it exits non-zero.
  void run(const std::vector<std::string>& argv) const;
  void execute(const std::string& database, const std::string& sql) const;
  void shutdown();  // stops the cluster if it runs and deletes the folder; idempotent

  std::string bin_dir_;   // /usr/lib/postgresql/<version>/bin
  std::string root_dir_;  // temporary: data/, the socket, tool.log, postgres.log
  int port_ = 0;
  bool started_ = false;
  std::mutex mutex_;  // create_database may be called from several test threads
  int databases_ = 0;
};

}  // namespace baton::test
