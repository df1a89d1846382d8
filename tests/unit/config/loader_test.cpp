#include <gtest/gtest.h>

#include <cstdlib>

#include "config/config.hpp"

namespace baton::config {
namespace {

const std::string kData = std::string(BATON_TEST_DATA_DIR) + "/data/config/";

TEST(ConfigLoader, GoodFile) {
  ::unsetenv("BATON_TEST_KEY");
  const LoadResult result = load_config_file(kData + "good.yaml");
  ASSERT_TRUE(result.config) << (result.problems.empty() ? "" : result.problems[0].to_string());
  const Config& c = *result.config;
  EXPECT_EQ(c.server.listen_port, 9090);
  EXPECT_EQ(c.server.workers, 2U);
  EXPECT_EQ(c.server.max_body_bytes, 2048U);
  const ProviderConfig* up = c.find_provider("up");
  ASSERT_NE(up, nullptr);
  EXPECT_EQ(up->api_key, "fallback-key");
  EXPECT_TRUE(up->origin.tls);
  EXPECT_EQ(up->origin.host, "api.example.com");
  EXPECT_EQ(up->origin.port, 8443);
  EXPECT_EQ(up->origin.path_prefix, "/v1");
  EXPECT_EQ(up->timeouts.connect_ms, 100U);
  EXPECT_EQ(up->timeouts.first_token_ms, 200U);
  EXPECT_EQ(up->timeouts.stall_ms, Timeouts{}.stall_ms);
  const ProviderConfig* local = c.find_provider("local");
  ASSERT_NE(local, nullptr);
  EXPECT_EQ(local->kind, ProviderKind::llama_server);
  EXPECT_EQ(local->args, std::vector<std::string>{"--no-webui"});
  ASSERT_EQ(c.models.size(), 2U);
  EXPECT_EQ(c.models[0].strategy, "weighted");
  EXPECT_EQ(c.models[0].deployments[0].weight, 3U);
  EXPECT_DOUBLE_EQ(c.models[0].deployments[0].price.output_per_mtok, 1.5);
  EXPECT_EQ(c.guard.pii.action, "pin");
  EXPECT_EQ(c.guard.pii.allowed_residency, (std::vector<std::string>{"onprem", "kr"}));
}

TEST(ConfigLoader, BadFileReportsEveryProblemWithLineAndKey) {
  const LoadResult result = load_config_file(kData + "bad.yaml");
  EXPECT_FALSE(result.config);
  std::vector<std::string> lines;
  for (const Problem& p : result.problems) lines.push_back(p.to_string());
  auto has = [&](const std::string& needle) {
    for (const auto& line : lines) {
      if (line.find(needle) != std::string::npos) return true;
    }
    return false;
  };
  EXPECT_TRUE(has("bad.yaml:2: server.listen: must be HOST:PORT"));
  EXPECT_TRUE(has("bad.yaml:3: server.wrkers: unknown key"));
  EXPECT_TRUE(has("bad.yaml:4: server.max_body_bytes: must be a non-negative integer"));
  EXPECT_TRUE(has("providers.up.kind: must be one of"));
  EXPECT_TRUE(has("providers.up.base_url: must start with http:// or https://"));
  EXPECT_TRUE(has("providers.local.model_path: is required for kind llama-server"));
  EXPECT_TRUE(has("models[0].strategy: must be one of"));
  EXPECT_TRUE(has("models[0].deployments[0].provider: names unknown provider 'missing'"));
  EXPECT_TRUE(has("models[0].fallbacks[0]: names unknown model 'nope'"));
  EXPECT_TRUE(has("models[1].name: duplicate model name 'm'"));
  EXPECT_TRUE(has("models[1].deployments: must be a non-empty list"));
  EXPECT_TRUE(has("guard.pii.action: must be one of allow, block, redact, pin"));
  EXPECT_GE(lines.size(), 12U);
}

TEST(ConfigLoader, SyntaxErrorNamesTheLine) {
  const LoadResult result = load_config_text("server:\n  listen: [unclosed\n", "inline.yaml");
  ASSERT_FALSE(result.config);
  ASSERT_EQ(result.problems.size(), 1U);
  EXPECT_EQ(result.problems[0].file, "inline.yaml");
  EXPECT_GT(result.problems[0].line, 0);
  EXPECT_NE(result.problems[0].reason.find("invalid YAML"), std::string::npos);
}

TEST(ConfigLoader, WrongShapesAreProblemsNotCrashes) {
  for (const char* text : {"42", "server: 5", "providers: [a, b]", "models: {a: 1}", "models: [5]",
                           "providers: {p: {kind: openai, base_url: http://x, headers: [1]}}", ""}) {
    const LoadResult result = load_config_text(text, "shape.yaml");
    EXPECT_FALSE(result.config) << text;
    EXPECT_FALSE(result.problems.empty()) << text;
  }
}

TEST(ConfigLoader, MissingFile) {
  const LoadResult result = load_config_file(kData + "does-not-exist.yaml");
  ASSERT_EQ(result.problems.size(), 1U);
  EXPECT_EQ(result.problems[0].reason, "cannot open file");
}

TEST(ConfigLoader, EnabledFollowsAnEnvironmentVariable) {
  const std::string text =
      "providers:\n  o: { kind: openai, enabled: \"${BATON_TEST_ON:+true}\", base_url: \"http://x/v1\" }\n";
  ::unsetenv("BATON_TEST_ON");
  EXPECT_FALSE(load_config_text(text, "e.yaml").config->providers[0].enabled);
  ::setenv("BATON_TEST_ON", "sk-1", 1);
  EXPECT_TRUE(load_config_text(text, "e.yaml").config->providers[0].enabled);
  ::unsetenv("BATON_TEST_ON");
}

TEST(ConfigLoader, BreakerSettings) {
  const std::string head = "providers:\n  o: { kind: openai, base_url: \"http://x/v1\" }\nmodels:\n  - name: m\n"
                           "    deployments: [ { provider: o, model: x } ]\n";
  const LoadResult defaults = load_config_text(head, "b.yaml");
  ASSERT_TRUE(defaults.config);
  EXPECT_DOUBLE_EQ(defaults.config->models[0].breaker.failure_ratio, 0.5);
  EXPECT_EQ(defaults.config->models[0].breaker.min_requests, 20U);
  EXPECT_EQ(defaults.config->models[0].breaker.window_ms, 30'000U);

  const LoadResult set = load_config_text(
      head + "    breaker: { consecutive_failures: 3, failure_ratio: 0, min_requests: 5, window_ms: 10000 }\n", "b.yaml");
  ASSERT_TRUE(set.config) << set.problems[0].to_string();
  EXPECT_DOUBLE_EQ(set.config->models[0].breaker.failure_ratio, 0.0);
  EXPECT_EQ(set.config->models[0].breaker.min_requests, 5U);
  EXPECT_EQ(set.config->models[0].breaker.window_ms, 10'000U);

  const LoadResult bad = load_config_text(head + "    breaker: { failure_ratio: 1.5, window_ms: 10 }\n", "b.yaml");
  ASSERT_FALSE(bad.config);
  ASSERT_EQ(bad.problems.size(), 2U);
  EXPECT_EQ(bad.problems[0].to_string(), "b.yaml:6: models[0].breaker.failure_ratio: must be between 0 (off) and 1");
  EXPECT_NE(bad.problems[1].to_string().find("models[0].breaker.window_ms: must be between 1000"), std::string::npos);
}

TEST(EnvExpansion, Forms) {
  ::setenv("BATON_T1", "one", 1);
  ::setenv("BATON_EMPTY", "", 1);
  ::unsetenv("BATON_UNSET");
  std::string out;
  std::string error;
  ASSERT_TRUE(expand_env("a-${BATON_T1}-b", out, error));
  EXPECT_EQ(out, "a-one-b");
  ASSERT_TRUE(expand_env("${BATON_UNSET:-dflt}", out, error));
  EXPECT_EQ(out, "dflt");
  ASSERT_TRUE(expand_env("${BATON_EMPTY:-dflt}", out, error));
  EXPECT_EQ(out, "dflt");
  ASSERT_TRUE(expand_env("${BATON_T1:+yes}/${BATON_UNSET:+yes}", out, error));
  EXPECT_EQ(out, "yes/");
  ASSERT_TRUE(expand_env("cost $$5 and $HOME", out, error));
  EXPECT_EQ(out, "cost $5 and $HOME");
  EXPECT_FALSE(expand_env("${BATON_UNSET}", out, error));
  EXPECT_NE(error.find("BATON_UNSET is not set"), std::string::npos);
  EXPECT_FALSE(expand_env("${BATON_T1", out, error));
}

TEST(ParseOrigin, Forms) {
  Origin o;
  EXPECT_EQ(parse_origin("http://[::1]:8000/v1", o), "");
  EXPECT_EQ(o.host, "::1");
  EXPECT_EQ(o.port, 8000);
  EXPECT_EQ(parse_origin("https://h", o), "");
  EXPECT_EQ(o.port, 443);
  EXPECT_EQ(o.path_prefix, "");
  EXPECT_NE(parse_origin("http://h:99999", o), "");
  EXPECT_NE(parse_origin("http://user:pw@h", o), "");
  EXPECT_NE(parse_origin("h:80", o), "");
}

}  // namespace
}  // namespace baton::config

namespace baton::config {
namespace {

TEST(ConfigLoader, StorageAndPricingSettings) {
  const LoadResult good = load_config_text(
      "storage: { url: \"postgresql://baton@127.0.0.1:5432/baton\", redis: \"redis://127.0.0.1:6379/0\", fail_mode: closed,\n"
      "           redis_timeout_ms: 50, usage_queue: 5000, usage_batch: 100, usage_flush_ms: 20, keys_refresh_ms: 100 }\n"
      "pricing: { krw_per_usd: 1350, models: { my-model: { input_per_mtok: 1, output_per_mtok: 2 } } }\n",
      "s.yaml");
  ASSERT_TRUE(good.config) << (good.problems.empty() ? "" : good.problems[0].to_string());
  EXPECT_TRUE(good.config->storage.fail_closed);
  EXPECT_EQ(good.config->storage.redis_timeout_ms, 50U);
  EXPECT_EQ(good.config->storage.usage_queue, 5000U);
  EXPECT_DOUBLE_EQ(good.config->pricing.krw_per_usd, 1350);
  EXPECT_DOUBLE_EQ(good.config->pricing.models.at("my-model").output_per_mtok, 2);

  const LoadResult bad = load_config_text(
      "storage:\n  url: \"mysql://x/y\"\n  redis: \"localhost:6379\"\n  fail_mode: maybe\n  colour: red\n"
      "pricing:\n  krw_per_usd: 0\n",
      "bad.yaml");
  ASSERT_FALSE(bad.config);
  std::vector<std::string> keys;
  for (const Problem& p : bad.problems) keys.push_back(p.key + "@" + std::to_string(p.line));
  EXPECT_EQ(keys, (std::vector<std::string>{"storage.colour@5", "storage.url@2", "storage.redis@3",
                                            "storage.fail_mode@4", "pricing.krw_per_usd@7"}));
}

}  // namespace
}  // namespace baton::config
