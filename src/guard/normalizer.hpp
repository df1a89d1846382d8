// Full-width / typographic folding for the byte-oriented pattern scan.
//
// Vectorscan matches bytes, so "０１０-１２３４-５６７８" (U+FF10.. digits) would
// never hit an ASCII pattern. Text that contains such characters is folded to
// ASCII into a side buffer together with a map from each folded byte back to its
// original byte offset; findings are translated back through that map, so the
// offsets callers see always index the original UTF-8 text.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace baton::guard {

class FoldedText {
 public:
  // Cheap check (SIMD where available) for any character fold() would change.
  // Plain ASCII/Hangul text returns false without allocating.
  static bool needs_folding(std::string_view text);

  // Folds `text` into this object, reusing its buffers.
  void fold(std::string_view text);

  std::string_view text() const { return text_; }

  // Original byte offset of folded offset `folded` (0 <= folded <= text().size()).
  std::size_t original_offset(std::size_t folded) const;

  // Drops oversized buffers after an unusually large input.
  void trim(std::size_t max_bytes);

 private:
  // One entry per folded character, in order: its index in text_ and the
  // bytes removed by folding up to and including it. The map is sparse
  // because folded characters are rare even in text that has some.
  struct FoldPoint {
    std::uint32_t folded;
    std::uint32_t removed;
  };

  std::string text_;
  std::vector<FoldPoint> points_;
};

// The ASCII byte a UTF-8 sequence starting at text[pos] folds to, and its length;
// length 0 when the sequence is left alone. Exposed for tests.
struct FoldedChar {
  char ascii;
  std::size_t length;
};
FoldedChar fold_char_at(std::string_view text, std::size_t pos);

}  // namespace baton::guard
