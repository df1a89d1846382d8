#include "tenancy/pricing.hpp"

#include <algorithm>
#include <array>

namespace baton::tenancy {

namespace {

struct ListPrice {
  std::string_view model;
  double input, cached_input, output;  // USD per million tokens
};

// Public list prices (standard tier), as published by the vendors. Overridable per deployment
// (`price:`) or per model id (`pricing.models`); keep this list to widely used models.
constexpr std::array kListPrices = {
    ListPrice{"gpt-4o", 2.50, 1.25, 10.00},
    ListPrice{"gpt-4o-mini", 0.15, 0.075, 0.60},
    ListPrice{"gpt-4.1", 2.00, 0.50, 8.00},
    ListPrice{"gpt-4.1-mini", 0.40, 0.10, 1.60},
    ListPrice{"gpt-4.1-nano", 0.10, 0.025, 0.40},
    ListPrice{"gpt-5", 1.25, 0.125, 10.00},
    ListPrice{"gpt-5-mini", 0.25, 0.025, 2.00},
    ListPrice{"gpt-5-nano", 0.05, 0.005, 0.40},
    ListPrice{"o3", 2.00, 0.50, 8.00},
    ListPrice{"o4-mini", 1.10, 0.275, 4.40},
    ListPrice{"text-embedding-3-small", 0.02, 0.02, 0},
    ListPrice{"text-embedding-3-large", 0.13, 0.13, 0},
    ListPrice{"claude-3-5-haiku", 0.80, 0.08, 4.00},
    ListPrice{"claude-3-7-sonnet", 3.00, 0.30, 15.00},
    ListPrice{"claude-sonnet-4", 3.00, 0.30, 15.00},
    ListPrice{"claude-opus-4", 15.00, 1.50, 75.00},
    ListPrice{"claude-haiku-4-5", 1.00, 0.10, 5.00},
    ListPrice{"solar-pro", 0.25, 0.25, 0.25},
    ListPrice{"solar-mini", 0.15, 0.15, 0.15},
};

}  // namespace

config::Price builtin_price(std::string_view upstream_model) {
  const ListPrice* best = nullptr;
  for (const ListPrice& p : kListPrices) {
    if (upstream_model == p.model) {
      best = &p;
      break;
    }
    // "gpt-4o-mini-2024-07-18" → "gpt-4o-mini": the family prefix must end at a '-' boundary.
    const bool prefix = upstream_model.size() > p.model.size() && upstream_model.starts_with(p.model) &&
                        upstream_model[p.model.size()] == '-';
    if (prefix && (best == nullptr || p.model.size() > best->model.size())) best = &p;
  }
  if (best == nullptr) return {};
  return {best->input, best->cached_input, best->output};
}

config::Price resolve_price(const config::Config& config, const config::DeploymentConfig& deployment) {
  if (!deployment.price.empty()) return deployment.price;
  if (const auto it = config.pricing.models.find(deployment.model); it != config.pricing.models.end()) return it->second;
  return builtin_price(deployment.model);
}

double cost_usd(const config::Price& price, const TokenCounts& tokens) {
  const std::int64_t cached = std::clamp<std::int64_t>(tokens.cached_input, 0, std::max<std::int64_t>(tokens.input, 0));
  const std::int64_t uncached = std::max<std::int64_t>(tokens.input, 0) - cached;
  const double cached_rate = price.cached_input_per_mtok > 0 ? price.cached_input_per_mtok : price.input_per_mtok;
  return (static_cast<double>(uncached) * price.input_per_mtok + static_cast<double>(cached) * cached_rate +
          static_cast<double>(std::max<std::int64_t>(tokens.output, 0)) * price.output_per_mtok) /
         1e6;
}

double to_usd(double amount, std::string_view currency, const config::PricingConfig& pricing) {
  return currency == "KRW" ? amount / pricing.krw_per_usd : amount;
}

}  // namespace baton::tenancy
