#include "guard/normalizer.hpp"

#include <algorithm>
#include <cstring>
#include <iterator>


#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace baton::guard {

namespace {

// Only these lead bytes can start a foldable character: C2 (NBSP), E2 (dashes,
// minus sign), E3 (ideographic space), EF (full-width forms, small hyphen).
// Hangul syllables lead with EA-ED, so Korean text almost never reaches the
// slower per-character check.
bool is_candidate_lead(unsigned char byte) {
  return byte == 0xC2 || byte == 0xE2 || byte == 0xE3 || byte == 0xEF;
}

}  // namespace

FoldedChar fold_char_at(std::string_view text, std::size_t pos) {
  const auto byte = [&](std::size_t k) -> unsigned {
    return pos + k < text.size() ? static_cast<unsigned char>(text[pos + k]) : 0u;
  };
  const unsigned b0 = byte(0);
  const unsigned b1 = byte(1);
  const unsigned b2 = byte(2);
  switch (b0) {
    case 0xC2:
      if (b1 == 0xA0) return {' ', 2};  // U+00A0 no-break space
      break;
    case 0xE2:
      // U+2010..U+2013 hyphens, figure and en dash. Em dash and bar are prose
      // punctuation, not number separators; folding them would only send
      // ordinary English text down the slower path.
      if (b1 == 0x80 && b2 >= 0x90 && b2 <= 0x93) return {'-', 3};
      if (b1 == 0x88 && b2 == 0x92) return {'-', 3};                 // U+2212 minus sign
      break;
    case 0xE3:
      if (b1 == 0x80 && b2 == 0x80) return {' ', 3};  // U+3000 ideographic space
      break;
    case 0xEF:
      // U+FF01..U+FF5E map one-to-one onto ASCII 0x21..0x7E.
      if (b1 == 0xBC && b2 >= 0x81 && b2 <= 0xBF) return {static_cast<char>(b2 - 0x81 + 0x21), 3};
      if (b1 == 0xBD && b2 >= 0x80 && b2 <= 0x9E) return {static_cast<char>(b2 - 0x80 + 0x60), 3};
      if (b1 == 0xB9 && b2 == 0xA3) return {'-', 3};  // U+FE63 small hyphen-minus
      break;
    default:
      break;
  }
  return {0, 0};
}

bool FoldedText::needs_folding(std::string_view text) {
  const auto* data = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t size = text.size();
  std::size_t i = 0;
#if defined(__SSE2__)
  const __m128i c2 = _mm_set1_epi8(static_cast<char>(0xC2));
  const __m128i e2 = _mm_set1_epi8(static_cast<char>(0xE2));
  const __m128i e3 = _mm_set1_epi8(static_cast<char>(0xE3));
  const __m128i ef = _mm_set1_epi8(static_cast<char>(0xEF));
  for (; i + 16 <= size; i += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(data + i));
    const __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, c2), _mm_cmpeq_epi8(v, e2)),
                                     _mm_or_si128(_mm_cmpeq_epi8(v, e3), _mm_cmpeq_epi8(v, ef)));
    auto mask = static_cast<unsigned>(_mm_movemask_epi8(hit));
    while (mask != 0) {
      const auto bit = static_cast<std::size_t>(__builtin_ctz(mask));
      if (fold_char_at(text, i + bit).length != 0) return true;
      mask &= mask - 1;
    }
  }
#endif
  for (; i < size; ++i) {
    if (is_candidate_lead(data[i]) && fold_char_at(text, i).length != 0) return true;
  }
  return false;
}

void FoldedText::fold(std::string_view text) {
  // Unfolded stretches are copied in bulk; folded text is never longer.
  text_.resize(text.size());
  points_.clear();
  char* out = text_.data();
  std::size_t written = 0;
  std::size_t removed = 0;
  std::size_t copied = 0;
  for (std::size_t i = 0; i < text.size();) {
    if (!is_candidate_lead(static_cast<unsigned char>(text[i]))) {
      ++i;
      continue;
    }
    const FoldedChar folded = fold_char_at(text, i);
    if (folded.length == 0) {
      ++i;
      continue;
    }
    std::memcpy(out + written, text.data() + copied, i - copied);
    written += i - copied;
    removed += folded.length - 1;
    points_.push_back(FoldPoint{static_cast<std::uint32_t>(written), static_cast<std::uint32_t>(removed)});
    out[written++] = folded.ascii;
    i += folded.length;
    copied = i;
  }
  std::memcpy(out + written, text.data() + copied, text.size() - copied);
  written += text.size() - copied;
  text_.resize(written);
}

std::size_t FoldedText::original_offset(std::size_t folded) const {
  // Bytes removed by all folded characters that start before `folded`.
  const auto after = std::lower_bound(points_.begin(), points_.end(), folded,
                                      [](const FoldPoint& point, std::size_t f) { return point.folded < f; });
  return folded + (after == points_.begin() ? 0 : std::prev(after)->removed);
}

void FoldedText::trim(std::size_t max_bytes) {
  if (text_.capacity() > max_bytes) {
    std::string().swap(text_);
    std::vector<FoldPoint>().swap(points_);
  }
}

}  // namespace baton::guard
