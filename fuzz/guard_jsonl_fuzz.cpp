// libFuzzer entry point; the target itself is fuzz/guard_jsonl.hpp (shared with the regression test).
#include "guard_jsonl.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return baton::fuzz::guard_jsonl(data, size);
}
