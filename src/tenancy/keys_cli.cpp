#include "tenancy/keys_cli.hpp"

#include <boost/json.hpp>
#include <iostream>
#include <memory>

#include "config/config.hpp"
#include "store/store.hpp"
#include "tenancy/keys.hpp"
#include "tenancy/periods.hpp"
#include "tenancy/records_json.hpp"

namespace baton::tenancy {

namespace {

namespace json = boost::json;

// Loads the config and opens + migrates its store; prints the reason and returns nullptr on failure.
std::unique_ptr<store::Store> open_configured_store(const std::string& config_path) {
  const config::LoadResult loaded = config::load_config_file(config_path);
  if (!loaded.config) {
    for (const auto& problem : loaded.problems) std::cerr << problem.to_string() << "\n";
    std::cerr << "baton: " << loaded.problems.size() << " problem(s) in " << config_path << "\n";
    return nullptr;
  }
  try {
    std::unique_ptr<store::Store> s = store::open_store(loaded.config->storage.url);
    s->migrate();
    return s;
  } catch (const std::exception& e) {
    std::cerr << "baton: " << e.what() << "\n";
    return nullptr;
  }
}

}  // namespace

int keys_create(const std::string& config_path, const KeyCreateOptions& o) {
  // Build the same JSON body the admin API takes, so both paths validate identically.
  json::object body;
  if (!o.name.empty()) body["name"] = o.name;
  if (!o.team.empty()) body["team"] = o.team;
  if (!o.models.empty()) {
    json::array models;
    std::string_view rest = o.models;
    while (!rest.empty()) {
      const std::string_view model = rest.substr(0, rest.find(','));
      rest.remove_prefix(std::min(rest.size(), model.size() + 1));
      if (!model.empty()) models.emplace_back(model);
    }
    body["models"] = std::move(models);
  }
  if (o.rpm) body["rpm"] = *o.rpm;
  if (o.tpm) body["tpm"] = *o.tpm;
  if (o.max_parallel) body["max_parallel"] = *o.max_parallel;
  if (o.budget) body["budget"] = json::object{{"amount", *o.budget}, {"currency", o.currency}, {"period", o.period}};
  if (!o.expires_in.empty()) body["expires_in"] = o.expires_in;
  if (!o.fail_mode.empty()) body["fail_mode"] = o.fail_mode;

  const std::int64_t now = unix_now_ms();
  store::KeyRecord key;
  key.created_at_ms = now;
  if (std::string error = read_key_fields(body, key, now); !error.empty()) {
    std::cerr << "baton keys create: " << error << "\n";
    return 1;
  }
  std::unique_ptr<store::Store> s = open_configured_store(config_path);
  if (s == nullptr) return 2;
  try {
    if (!key.team_id.empty()) {
      bool found = false;
      for (const store::TeamRecord& t : s->list_teams()) found = found || t.id == key.team_id;
      if (!found) {
        std::cerr << "baton keys create: no team with id '" << key.team_id << "'\n";
        return 1;
      }
    }
    const std::string secret = generate_secret();
    key.id = new_id("key");
    key.hash = hash_secret(secret);
    key.preview = secret_preview(secret);
    s->put_key(key);
    json::object out = key_to_json(key);
    out["key"] = secret;  // shown this once; the store keeps only its hash
    std::cout << json::serialize(out) << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "baton: " << e.what() << "\n";
    return 2;
  }
}

int keys_list(const std::string& config_path) {
  std::unique_ptr<store::Store> s = open_configured_store(config_path);
  if (s == nullptr) return 2;
  try {
    json::array data;
    for (const store::KeyRecord& key : s->list_keys()) data.emplace_back(key_to_json(key));
    std::cout << json::serialize(json::object{{"object", "list"}, {"data", std::move(data)}}) << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "baton: " << e.what() << "\n";
    return 2;
  }
}

int keys_revoke(const std::string& config_path, const std::string& id) {
  std::unique_ptr<store::Store> s = open_configured_store(config_path);
  if (s == nullptr) return 2;
  try {
    if (!s->revoke_key(id, unix_now_ms())) {
      std::cerr << "baton keys revoke: no live key with id '" << id << "'\n";
      return 1;
    }
    std::cout << json::serialize(json::object{{"id", id}, {"object", "key"}, {"revoked", true}}) << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "baton: " << e.what() << "\n";
    return 2;
  }
}

}  // namespace baton::tenancy
