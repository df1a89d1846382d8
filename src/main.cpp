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

  CLI::App* version_cmd = cli.add_subcommand("version", "print the version");

  CLI11_PARSE(cli, argc, argv);
  if (serve_cmd->parsed()) return serve(config_path);
  if (check_cmd->parsed()) return check(config_path);
  if (scan_cmd->parsed()) return guard_scan(guard_config_path);
  if (version_cmd->parsed()) {
    std::cout << "baton " << BATON_VERSION << "\n";
    return 0;
  }
  return 0;
}
