#pragma once
// ASCII case folding for protocol tokens (header values, URL schemes). Not beast::iequals: Boost
// 1.81's reads one byte past the end of its arguments when they differ only in case (the
// outbound_url fuzz target found it), which is out of bounds for views into a larger buffer.
#include <cstdint>
#include <cstring>
#include <string_view>

namespace baton {

// Eight bytes of text at `p` as one word, for checks that look at a word at a time.
inline std::uint64_t load_word(const char* p) {
  std::uint64_t word = 0;
  std::memcpy(&word, p, sizeof word);
  return word;
}
// Classic bit tricks: the high bit of each byte of the result is set where `word`'s byte is zero,
// or below `n` (n <= 0x80). Exact as a whole (any byte?), not necessarily byte by byte.
constexpr std::uint64_t kByteOnes = 0x0101010101010101ULL;
constexpr std::uint64_t kByteHighs = 0x8080808080808080ULL;
constexpr std::uint64_t bytes_below(std::uint64_t word, unsigned n) { return (word - kByteOnes * n) & ~word & kByteHighs; }
constexpr std::uint64_t zero_bytes(std::uint64_t word) { return bytes_below(word, 1); }

constexpr char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// HTTP's optional whitespace (spaces and tabs) off both ends of a field value.
constexpr std::string_view trim_ows(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

constexpr bool ascii_iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

}  // namespace baton
