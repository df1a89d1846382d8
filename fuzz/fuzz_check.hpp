// Shared by the fuzz targets and tests/unit/fuzz_regressions_test.cpp: each target's body is an
// inline function in fuzz/<target>.hpp so the GCC unit build runs the same code on the committed
// regressions and seeds. A broken invariant aborts under libFuzzer (a crash it saves) and throws
// in the unit test (a failed expectation).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#ifdef BATON_FUZZ_THROW
#define BATON_FUZZ_CHECK(cond)                                                                      \
  do {                                                                                              \
    if (!(cond)) throw std::logic_error(std::string("invariant broken: ") + #cond + " at " + __FILE__ + \
                                        ":" + std::to_string(__LINE__));                           \
  } while (false)
#else
#define BATON_FUZZ_CHECK(cond)                                                                 \
  do {                                                                                         \
    if (!(cond)) {                                                                             \
      std::fprintf(stderr, "invariant broken: %s at %s:%d\n", #cond, __FILE__, __LINE__);     \
      std::abort();                                                                            \
    }                                                                                          \
  } while (false)
#endif

namespace baton::fuzz {

// Cuts `bytes` into pieces whose lengths (1..selector) follow a small LCG seeded by `selector`:
// 0 means one piece. Used to feed incremental parsers the way a socket would.
inline std::vector<std::string_view> split_pieces(std::string_view bytes, std::uint8_t selector) {
  std::vector<std::string_view> pieces;
  if (selector == 0) {
    pieces.push_back(bytes);
    return pieces;
  }
  std::uint32_t state = selector;
  std::size_t pos = 0;
  while (pos < bytes.size()) {
    state = state * 1103515245u + 12345u;
    const std::size_t length = 1 + (state >> 16) % selector;
    pieces.push_back(bytes.substr(pos, length));
    pos += pieces.back().size();
  }
  return pieces;
}

}  // namespace baton::fuzz
