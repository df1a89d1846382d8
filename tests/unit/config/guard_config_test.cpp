// `guard.pii` and `models[].guard.pii`: reading, field-by-field merge, and problems with file:line.

#include <gtest/gtest.h>

#include <string>

#include "config/config.hpp"

namespace baton::config {
namespace {

// A valid config with one model; `guard` and `model_guard` are appended verbatim.
std::string with_guard(const std::string& guard, const std::string& model_guard = "") {
  return "providers:\n"                                                // 1
         "  up: { kind: openai, base_url: \"http://127.0.0.1:1/v1\", residency: kr }\n"  // 2
         "models:\n"                                                   // 3
         "  - name: m\n"                                               // 4
         "    deployments: [ { provider: up, model: x } ]\n"            // 5
         + model_guard + guard;
}

std::vector<std::string> problems_of(const std::string& text) {
  const LoadResult result = load_config_text(text, "g.yaml");
  EXPECT_FALSE(result.config) << text;
  std::vector<std::string> lines;
  for (const Problem& p : result.problems) lines.push_back(p.to_string());
  return lines;
}

::testing::AssertionResult has(const std::vector<std::string>& lines, const std::string& needle) {
  for (const auto& line : lines) {
    if (line.find(needle) != std::string::npos) return ::testing::AssertionSuccess();
  }
  std::string all;
  for (const auto& line : lines) all += "\n  " + line;
  return ::testing::AssertionFailure() << "no problem contains '" << needle << "'; got:" << all;
}

TEST(ConfigGuard, DefaultsWhenAbsent) {
  const LoadResult result = load_config_text(with_guard(""), "g.yaml");
  ASSERT_TRUE(result.config);
  const PiiPolicyConfig& pii = result.config->guard.pii;
  EXPECT_EQ(pii.action, "allow");
  EXPECT_FALSE(pii.action_set);
  EXPECT_TRUE(pii.types.empty());
  EXPECT_FALSE(result.config->models[0].guard);
}

TEST(ConfigGuard, FlowStyleFromTheArchitectureStillWorks) {
  const LoadResult result =
      load_config_text(with_guard("guard:\n  pii: { action: pin, allowed_residency: [onprem, kr] }\n"), "g.yaml");
  ASSERT_TRUE(result.config) << result.problems[0].to_string();
  const PiiPolicyConfig& pii = result.config->guard.pii;
  EXPECT_EQ(pii.action, "pin");
  EXPECT_TRUE(pii.action_set);
  EXPECT_EQ(pii.allowed_residency, (std::vector<std::string>{"onprem", "kr"}));
  EXPECT_TRUE(pii.allowed_residency_set);
}

TEST(ConfigGuard, TypesAndModelOverride) {
  const std::string text = with_guard(
      "guard:\n"
      "  pii:\n"
      "    action: pin\n"
      "    allowed_residency: [onprem, kr]\n"
      "    types: { KR_RRN: block, KR_PHONE: redact }\n",
      "    guard:\n"
      "      pii: { action: redact, types: { KR_PHONE: allow, EMAIL: \"${BATON_TEST_UNSET_GUARD:-block}\" } }\n");
  const LoadResult result = load_config_text(text, "g.yaml");
  ASSERT_TRUE(result.config) << result.problems[0].to_string();
  const Config& c = *result.config;
  EXPECT_EQ(c.guard.pii.types, (std::map<std::string, std::string>{{"KR_RRN", "block"}, {"KR_PHONE", "redact"}}));
  ASSERT_TRUE(c.models[0].guard);
  const PiiPolicyConfig& own = c.models[0].guard->pii;
  EXPECT_EQ(own.action, "redact");
  EXPECT_TRUE(own.action_set);
  EXPECT_FALSE(own.allowed_residency_set);

  const PiiPolicyConfig merged = merge_pii_policy(c.guard.pii, &own);
  EXPECT_EQ(merged.action, "redact");
  EXPECT_EQ(merged.allowed_residency, (std::vector<std::string>{"onprem", "kr"}));
  EXPECT_EQ(merged.types, (std::map<std::string, std::string>{{"KR_RRN", "block"}, {"KR_PHONE", "allow"}, {"EMAIL", "block"}}));
  EXPECT_EQ(merge_pii_policy(c.guard.pii, nullptr).types, c.guard.pii.types);
}

TEST(ConfigGuard, BadNamesAreProblemsWithFileLineAndKey) {
  const auto lines = problems_of(with_guard(
      "guard:\n"                                    // 6
      "  pii:\n"                                    // 7
      "    action: shred\n"                         // 8
      "    mode: strict\n"                          // 9
      "    types:\n"                                // 10
      "      KR_SSN: block\n"                       // 11
      "      KR_PHONE: hide\n"                      // 12
      "      EMAIL: [block]\n"));                   // 13
  EXPECT_TRUE(has(lines, "g.yaml:8: guard.pii.action: must be one of allow, block, redact, pin; got 'shred'"));
  EXPECT_TRUE(has(lines, "g.yaml:9: guard.pii.mode: unknown key"));
  EXPECT_TRUE(has(lines, "g.yaml:11: guard.pii.types.KR_SSN: unknown PII type 'KR_SSN'; expected one of KR_RRN, KR_FRN"));
  EXPECT_TRUE(has(lines, "g.yaml:12: guard.pii.types.KR_PHONE: must be one of allow, block, redact, pin; got 'hide'"));
  EXPECT_TRUE(has(lines, "g.yaml:13: guard.pii.types.EMAIL: must be one of"));
  EXPECT_EQ(lines.size(), 5u);
}

TEST(ConfigGuard, BadShapes) {
  EXPECT_TRUE(has(problems_of(with_guard("guard:\n  pii:\n    types: [KR_RRN]\n")),
                  "g.yaml:8: guard.pii.types: must be a mapping of PII type to action"));
  EXPECT_TRUE(has(problems_of(with_guard("guard:\n  pii: block\n")), "g.yaml:7: guard.pii: must be a mapping"));
  EXPECT_TRUE(has(problems_of(with_guard("guard:\n  pii:\n    allowed_residency: kr\n")),
                  "g.yaml:8: guard.pii.allowed_residency: must be a list of strings"));
  EXPECT_TRUE(has(problems_of(with_guard("guard:\n  pii: {}\n  secrets: {}\n")), "g.yaml:8: guard.secrets: unknown key"));
}

TEST(ConfigGuard, ModelBlockProblemsNameTheModelKey) {
  const auto lines = problems_of(with_guard("", "    guard:\n      pii: { types: { KR_PASSPORT: maybe } }\n      extra: 1\n"));
  EXPECT_TRUE(has(lines, "g.yaml:7: models[0].guard.pii.types.KR_PASSPORT: must be one of allow, block, redact, pin; got 'maybe'"));
  EXPECT_TRUE(has(lines, "g.yaml:8: models[0].guard.extra: unknown key"));
}

TEST(ConfigGuard, PinNeedsAnAllowedResidency) {
  EXPECT_TRUE(has(problems_of(with_guard("guard:\n  pii: { action: pin }\n")),
                  "g.yaml:7: guard.pii.allowed_residency: must name at least one residency when an action is pin"));
  EXPECT_TRUE(has(problems_of(with_guard("guard:\n  pii: { types: { KR_RRN: pin } }\n")),
                  "guard.pii.allowed_residency: must name at least one residency"));
  // The model pins, the global block has no residency: the model's block is where it is missing.
  EXPECT_TRUE(has(problems_of(with_guard("", "    guard: { pii: { action: pin } }\n")),
                  "g.yaml:6: models[0].guard.pii.allowed_residency: must name at least one residency when an action is "
                  "pin (model 'm')"));
  // A model that brings its own residency, or does not pin, is fine.
  EXPECT_TRUE(load_config_text(with_guard("", "    guard: { pii: { action: pin, allowed_residency: [kr] } }\n"), "g.yaml").config);
  EXPECT_TRUE(load_config_text(with_guard("guard:\n  pii: { action: pin }\n",
                                          "    guard: { pii: { allowed_residency: [kr] } }\n"),
                               "g.yaml")
                  .config);
  EXPECT_TRUE(load_config_text(with_guard("guard:\n  pii: { action: pin }\n", "    guard: { pii: { action: redact } }\n"),
                               "g.yaml")
                  .config);
}

}  // namespace
}  // namespace baton::config
