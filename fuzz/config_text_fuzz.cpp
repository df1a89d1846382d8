// libFuzzer entry point; the target itself is fuzz/config_text.hpp (shared with the regression test).
#include "config_text.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return baton::fuzz::config_text(data, size);
}
