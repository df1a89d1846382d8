// libFuzzer entry point; the target itself is fuzz/sse_stream.hpp (shared with the regression test).
#include "sse_stream.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return baton::fuzz::sse_stream(data, size);
}
