// Every input under fuzz/regressions/<target>/ (a crash or broken invariant libFuzzer found, now
// fixed) and fuzz/corpus/<target>/ (the seeds) goes through the same function as the fuzz target,
// so the GCC build checks them on every `make test` without clang or libFuzzer.
#define BATON_FUZZ_THROW
#include "../../fuzz/admin_json.hpp"
#include "../../fuzz/config_text.hpp"
#include "../../fuzz/guard_jsonl.hpp"
#include "../../fuzz/http_request.hpp"
#include "../../fuzz/http_response.hpp"
#include "../../fuzz/openai_request.hpp"
#include "../../fuzz/outbound_url.hpp"
#include "../../fuzz/pii_guard.hpp"
#include "../../fuzz/sse_stream.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

namespace {

using Target = int (*)(const std::uint8_t*, std::size_t);

struct FuzzTarget {
  const char* name;
  Target run;
};

constexpr FuzzTarget kTargets[] = {
    {"admin_json", baton::fuzz::admin_json},         {"config_text", baton::fuzz::config_text},
    {"guard_jsonl", baton::fuzz::guard_jsonl},       {"http_request", baton::fuzz::http_request},
    {"http_response", baton::fuzz::http_response},
    {"openai_request", baton::fuzz::openai_request}, {"pii_guard", baton::fuzz::pii_guard},
    {"outbound_url", baton::fuzz::outbound_url},     {"sse_stream", baton::fuzz::sse_stream},
};

std::size_t run_folder(const FuzzTarget& target, const std::filesystem::path& folder) {
  if (!std::filesystem::is_directory(folder)) return 0;
  std::size_t count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(folder)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_NO_THROW(target.run(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()))
        << target.name << ": " << entry.path();
    ++count;
  }
  return count;
}

class FuzzRegressions : public ::testing::TestWithParam<FuzzTarget> {};

TEST_P(FuzzRegressions, RegressionsAndSeedsKeepTheirInvariants) {
  const std::filesystem::path fuzz_dir = std::filesystem::path(BATON_SOURCE_DIR) / "fuzz";
  run_folder(GetParam(), fuzz_dir / "regressions" / GetParam().name);
  EXPECT_GT(run_folder(GetParam(), fuzz_dir / "corpus" / GetParam().name), 0u) << "no seeds for " << GetParam().name;
}

TEST_P(FuzzRegressions, EmptyAndTinyInputs) {
  const std::uint8_t bytes[] = {0, '{', '}', '\n', 0xff};
  for (std::size_t size = 0; size <= sizeof bytes; ++size) EXPECT_NO_THROW(GetParam().run(bytes, size));
}

INSTANTIATE_TEST_SUITE_P(Fuzz, FuzzRegressions, ::testing::ValuesIn(kTargets),
                         [](const ::testing::TestParamInfo<FuzzTarget>& param_info) { return std::string(param_info.param.name); });

}  // namespace
