// libFuzzer entry point; the target itself is fuzz/openai_request.hpp (shared with the regression test).
#include "openai_request.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return baton::fuzz::openai_request(data, size);
}
