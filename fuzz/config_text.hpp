// Any YAML (or not-YAML) as a config file: either a config or problems, never a crash.
#pragma once

#include "fuzz_check.hpp"

#include "config/config.hpp"

namespace baton::fuzz {

inline int config_text(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  config::LoadResult result = config::load_config_text(text, "fuzz.yaml");
  BATON_FUZZ_CHECK(result.config.has_value() == result.problems.empty());
  for (const config::Problem& problem : result.problems) BATON_FUZZ_CHECK(!problem.to_string().empty());
  return 0;
}

}  // namespace baton::fuzz
