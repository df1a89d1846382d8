#pragma once
// What a request cost: token counts × a deployment's price. Prices are USD per million tokens,
// resolved once per route table (deployment `price`, else `pricing.models`, else the built-in table).
#include <cstdint>
#include <string_view>

#include "config/config.hpp"

namespace baton::tenancy {

// The built-in list price of a well-known upstream model id ("gpt-4o-mini", "claude-3-5-haiku-...").
// Matches exact ids first, then the longest known prefix (dated snapshots share their family's price).
// Returns an empty Price for unknown models (self-hosted models cost nothing per token).
config::Price builtin_price(std::string_view upstream_model);

config::Price resolve_price(const config::Config& config, const config::DeploymentConfig& deployment);

struct TokenCounts {
  std::int64_t input = 0;         // includes cached
  std::int64_t cached_input = 0;
  std::int64_t output = 0;
};

double cost_usd(const config::Price& price, const TokenCounts& tokens);

// A budget's amount in USD (KRW converts at `krw_per_usd`).
double to_usd(double amount, std::string_view currency, const config::PricingConfig& pricing);

}  // namespace baton::tenancy
