#pragma once
// `baton keys create|list|revoke --config FILE`: manages keys directly in the configured store
// (works whether or not a server runs; running replicas pick changes up within
// storage.keys_refresh_ms). Output is the admin API's JSON, one document on stdout.
#include <optional>
#include <string>

namespace baton::tenancy {

struct KeyCreateOptions {
  std::string name;
  std::string team;
  std::string models;  // comma-separated
  std::optional<std::uint32_t> rpm, tpm, max_parallel;
  std::optional<double> budget;
  std::string currency = "USD";
  std::string period = "monthly";
  std::string expires_in;  // "30d", "12h", seconds
  std::string fail_mode;   // open | closed | inherit
};

// Each returns the process exit code: 0 ok, 1 refused (bad option, no such key), 2 store/config failure.
int keys_create(const std::string& config_path, const KeyCreateOptions& options);
int keys_list(const std::string& config_path);
int keys_revoke(const std::string& config_path, const std::string& id);

}  // namespace baton::tenancy
