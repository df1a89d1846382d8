// libFuzzer entry point; the target itself is fuzz/outbound_url.hpp (shared with the regression test).
#include "outbound_url.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return baton::fuzz::outbound_url(data, size);
}
