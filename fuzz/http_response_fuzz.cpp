// libFuzzer entry point; the target itself is fuzz/http_response.hpp (shared with the regression test).
#include "http_response.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return baton::fuzz::http_response(data, size);
}
