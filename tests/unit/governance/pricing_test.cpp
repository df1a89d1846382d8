#include "tenancy/pricing.hpp"

#include <gtest/gtest.h>

#include "tenancy/periods.hpp"
#include "tenancy/records_json.hpp"

namespace baton::tenancy {
namespace {

TEST(Pricing, BuiltinTableMatchesExactIdsAndDatedSnapshots) {
  EXPECT_DOUBLE_EQ(builtin_price("gpt-4o-mini").input_per_mtok, 0.15);
  EXPECT_DOUBLE_EQ(builtin_price("gpt-4o-mini-2024-07-18").output_per_mtok, 0.60);
  EXPECT_DOUBLE_EQ(builtin_price("gpt-4o-2024-08-06").input_per_mtok, 2.50);  // not gpt-4o-mini
  EXPECT_TRUE(builtin_price("gpt-4omni").empty());                            // no "-" boundary
  EXPECT_TRUE(builtin_price("tiny").empty());                                 // self-hosted: free
}

TEST(Pricing, ResolveOrderIsDeploymentThenConfigThenBuiltin) {
  config::Config c;
  c.pricing.models["gpt-4o-mini"] = {1, 0, 2};
  config::DeploymentConfig d;
  d.model = "gpt-4o-mini";
  EXPECT_DOUBLE_EQ(resolve_price(c, d).input_per_mtok, 1);
  d.price = {5, 0, 6};
  EXPECT_DOUBLE_EQ(resolve_price(c, d).input_per_mtok, 5);
  d.price = {};
  d.model = "gpt-4.1-nano";
  EXPECT_DOUBLE_EQ(resolve_price(c, d).input_per_mtok, 0.10);
}

TEST(Pricing, CostCountsCachedInputAtItsOwnRate) {
  const config::Price p{2.0, 0.5, 8.0};
  EXPECT_DOUBLE_EQ(cost_usd(p, {1'000'000, 0, 0}), 2.0);
  EXPECT_DOUBLE_EQ(cost_usd(p, {1'000'000, 400'000, 0}), 600'000 * 2e-6 + 400'000 * 0.5e-6);
  EXPECT_DOUBLE_EQ(cost_usd(p, {0, 0, 500'000}), 4.0);
  EXPECT_DOUBLE_EQ(cost_usd({2.0, 0, 0}, {100, 100, 0}), 100 * 2e-6);  // no cached price: input rate
  EXPECT_DOUBLE_EQ(cost_usd(p, {-1, 0, -1}), 0);                       // unreported counts cost nothing
}

TEST(Pricing, KrwBudgetsConvert) {
  config::PricingConfig pricing;
  pricing.krw_per_usd = 1400;
  EXPECT_DOUBLE_EQ(to_usd(14'000, "KRW", pricing), 10);
  EXPECT_DOUBLE_EQ(to_usd(10, "USD", pricing), 10);
}

TEST(Periods, DailyWeeklyMonthlyInUtc) {
  const std::int64_t t = 1'795'348'800'000;  // 2026-11-22T12:00Z, a Sunday
  const PeriodWindow day = period_at(store::BudgetPeriod::daily, t);
  EXPECT_EQ(day.id, "d2026-11-22");
  EXPECT_EQ(day.end_ms - day.start_ms, 86'400'000);
  EXPECT_LE(day.start_ms, t);
  EXPECT_GT(day.end_ms, t);
  const PeriodWindow week = period_at(store::BudgetPeriod::weekly, t);
  EXPECT_EQ(week.id, "w2026-11-16");  // the Monday before
  EXPECT_EQ(week.end_ms - week.start_ms, 7 * 86'400'000LL);
  const PeriodWindow month = period_at(store::BudgetPeriod::monthly, t);
  EXPECT_EQ(month.id, "m2026-11");
  EXPECT_EQ(month.end_ms - month.start_ms, 30 * 86'400'000LL);
  EXPECT_EQ(period_at(store::BudgetPeriod::monthly, month.end_ms).id, "m2026-12");
  EXPECT_EQ(period_at(store::BudgetPeriod::monthly, month.end_ms - 1).id, "m2026-11");
}

TEST(RecordsJson, LimitsRoundTripAndErrorsNameTheField) {
  namespace json = boost::json;
  store::KeyRecord key;
  const json::object body = json::parse(R"({"name":"bot","team":"team_a","models":["local"],"rpm":60,"tpm":1000,
      "max_parallel":2,"budget":{"amount":50000,"currency":"KRW","period":"daily"},"fail_mode":"closed",
      "metadata":{"owner":"kim"},"expires_in":"30d"})").as_object();
  ASSERT_EQ(read_key_fields(body, key, 1'000), "");
  EXPECT_EQ(key.limits.rpm, 60U);
  EXPECT_EQ(key.limits.budget_currency, "KRW");
  EXPECT_EQ(key.limits.budget_period, store::BudgetPeriod::daily);
  EXPECT_EQ(key.limits.fail_mode, store::FailMode::closed);
  EXPECT_EQ(key.expires_at_ms, 1'000 + 30 * 86'400'000LL);
  const json::object out = key_to_json(key);
  EXPECT_EQ(out.at("budget").at("amount").as_double(), 50000);
  EXPECT_EQ(out.at("metadata").at("owner").as_string(), "kim");
  EXPECT_FALSE(out.contains("hash"));

  auto error_for = [](const char* text) {
    store::KeyRecord k;
    return read_key_fields(json::parse(text).as_object(), k, 0);
  };
  EXPECT_NE(error_for(R"({"rpm":-1})").find("rpm"), std::string::npos);
  EXPECT_NE(error_for(R"({"budget":{"amount":5,"currency":"EUR"}})").find("currency"), std::string::npos);
  EXPECT_NE(error_for(R"({"budget":{"amount":5,"period":"hourly"}})").find("period"), std::string::npos);
  EXPECT_NE(error_for(R"({"colour":"red"})").find("colour"), std::string::npos);
  EXPECT_NE(error_for(R"({"expires_in":"soon"})").find("expires_in"), std::string::npos);
  EXPECT_NE(error_for(R"({"guard":{"pii":{"action":"shred"}}})").find("action"), std::string::npos);
  EXPECT_EQ(parse_duration_ms("12h"), 12 * 3'600'000);
  EXPECT_EQ(parse_duration_ms("90"), 90'000);
  EXPECT_EQ(parse_duration_ms("0"), -1);
}

}  // namespace
}  // namespace baton::tenancy
