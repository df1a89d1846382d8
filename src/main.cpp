// The `baton` binary: a thin command-line front over libbaton.
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "config/config.hpp"
#include "guard/jsonl.hpp"
#include "guard/policy.hpp"
#include "server/app.hpp"
#include "tenancy/keys_cli.hpp"

namespace {

int serve(const std::string& config_path) {
  baton::config::LoadResult loaded = baton::config::load_config_file(config_path);
  if (!loaded.config) {
    for (const auto& problem : loaded.problems) std::cerr << problem.to_string() << "\n";
    std::cerr << "baton: " << loaded.problems.size() << " problem(s) in " << config_path << "; not starting\n";
    return 2;
  }
  try {
    baton::server::App app(std::move(*loaded.config), config_path);
    return app.run();
  } catch (const std::exception& e) {
    std::cerr << "baton: " << e.what() << "\n";
    return 1;
  }
}

int check(const std::string& config_path) {
  const baton::config::LoadResult loaded = baton::config::load_config_file(config_path);
  for (const auto& problem : loaded.problems) std::cout << problem.to_string() << "\n";
  if (!loaded.config) {
    std::cout << loaded.problems.size() << " problem(s) found\n";
    return 1;
  }
  std::cout << config_path << ": ok (" << loaded.config->providers.size() << " provider(s), "
            << loaded.config->models.size() << " model(s))\n";
  return 0;
}

// `baton guard scan`: JSON lines on stdin -> findings on stdout (ARCHITECTURE §3.1). Exit codes are
// scan_jsonl's (0 ok, 1 a malformed line, 2 I/O failure); 2 also when it cannot start.
int guard_scan(const std::string& config_path) {
  if (!config_path.empty()) {  // accepted now so scripts can pass it once detector settings exist
    const baton::config::LoadResult loaded = baton::config::load_config_file(config_path);
    if (!loaded.config) {
      for (const auto& problem : loaded.problems) std::cerr << problem.to_string() << "\n";
      std::cerr << "baton: " << loaded.problems.size() << " problem(s) in " << config_path << "\n";
      return baton::guard::kJsonlIoError;
    }
  }
  const baton::guard::Scanner* scanner = baton::guard::shared_scanner();
  if (scanner == nullptr) {
    std::cerr << "baton: the PII scanner (Vectorscan) cannot run on this CPU\n";
    return baton::guard::kJsonlIoError;
  }
  std::ios::sync_with_stdio(false);
  if (::isatty(STDIN_FILENO)) std::cout << std::unitbuf;  // typed lines get their answer at once
  return baton::guard::scan_jsonl(*scanner, std::cin, std::cout);
}

}  // namespace

int main(int argc, char** argv) {
  // Diagnostics go to stderr; stdout carries the "listening" line and, by default, the access log.
  spdlog::set_default_logger(spdlog::stderr_logger_mt("baton"));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %l %v");

  CLI::App cli{"baton: one OpenAI-compatible endpoint in front of your own models and external APIs"};
  cli.require_subcommand(1);
  std::string config_path = "examples/baton.yaml";

  CLI::App* serve_cmd = cli.add_subcommand("serve", "run the gateway");
  serve_cmd->add_option("-c,--config", config_path, "configuration file")->capture_default_str();

  CLI::App* config_cmd = cli.add_subcommand("config", "configuration tools");
  config_cmd->require_subcommand(1);
  CLI::App* check_cmd = config_cmd->add_subcommand("check", "validate a configuration file and print every problem");
  check_cmd->add_option("-c,--config", config_path, "configuration file")->capture_default_str();

  CLI::App* guard_cmd = cli.add_subcommand("guard", "PII guard tools");
  guard_cmd->require_subcommand(1);
  CLI::App* scan_cmd = guard_cmd->add_subcommand(
      "scan", "read JSON lines {\"id\",\"text\"} on stdin, print one {\"id\",\"findings\"} line each");
  std::string guard_config_path;
  scan_cmd->add_option("-c,--config", guard_config_path, "configuration file (validated when given)");

  CLI::App* keys_cmd = cli.add_subcommand("keys", "manage virtual keys in the configured store");
  keys_cmd->require_subcommand(1);
  baton::tenancy::KeyCreateOptions create;
  CLI::App* create_cmd = keys_cmd->add_subcommand("create", "create a key and print it (the secret is shown once)");
  create_cmd->add_option("-c,--config", config_path, "configuration file")->capture_default_str();
  create_cmd->add_option("--name", create.name, "a name for people");
  create_cmd->add_option("--team", create.team, "team id the key belongs to");
  create_cmd->add_option("--models", create.models, "allowed models, comma-separated (default: all)");
  create_cmd->add_option("--rpm", create.rpm, "requests per minute");
  create_cmd->add_option("--tpm", create.tpm, "tokens per minute");
  create_cmd->add_option("--max-parallel", create.max_parallel, "requests in flight at once");
  create_cmd->add_option("--budget", create.budget, "budget amount per period");
  create_cmd->add_option("--currency", create.currency, "USD or KRW")->capture_default_str();
  create_cmd->add_option("--period", create.period, "daily, weekly or monthly")->capture_default_str();
  create_cmd->add_option("--expires-in", create.expires_in, "lifetime: 30d, 12h, 15m or seconds");
  create_cmd->add_option("--fail-mode", create.fail_mode, "open or closed when Redis/the database cannot answer");
  CLI::App* list_cmd = keys_cmd->add_subcommand("list", "list keys (previews, never secrets)");
  list_cmd->add_option("-c,--config", config_path, "configuration file")->capture_default_str();
  std::string revoke_id;
  CLI::App* revoke_cmd = keys_cmd->add_subcommand("revoke", "revoke a key by id");
  revoke_cmd->add_option("-c,--config", config_path, "configuration file")->capture_default_str();
  revoke_cmd->add_option("id", revoke_id, "key id (key_…)")->required();

  CLI::App* version_cmd = cli.add_subcommand("version", "print the version");

  CLI11_PARSE(cli, argc, argv);
  if (serve_cmd->parsed()) return serve(config_path);
  if (check_cmd->parsed()) return check(config_path);
  if (scan_cmd->parsed()) return guard_scan(guard_config_path);
  if (create_cmd->parsed()) return baton::tenancy::keys_create(config_path, create);
  if (list_cmd->parsed()) return baton::tenancy::keys_list(config_path);
  if (revoke_cmd->parsed()) return baton::tenancy::keys_revoke(config_path, revoke_id);
  if (version_cmd->parsed()) {
    std::cout << "baton " << BATON_VERSION << "\n";
    return 0;
  }
  return 0;
}
