// libFuzzer entry point; the target itself is fuzz/admin_json.hpp (shared with the regression test).
#include "admin_json.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return baton::fuzz::admin_json(data, size);
}
