// libFuzzer entry point; the target itself is fuzz/pii_guard.hpp (shared with the regression test).
#include "pii_guard.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return baton::fuzz::pii_guard(data, size);
}
