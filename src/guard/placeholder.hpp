// Placeholder syntax shared by Redaction (whole-text restore) and
// StreamRestorer (chunked restore): "[" TYPE "_" N "]", e.g. "[KR_RRN_2]".
// Both restore paths must agree byte for byte, so the grammar lives here once.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "guard/pii_type.hpp"

namespace baton::guard {

// N is 1-based, without leading zeros, at most this many digits.
inline constexpr std::size_t kMaxPlaceholderDigits = 9;

std::string make_placeholder(PiiType type, std::size_t number);

enum class PlaceholderState : unsigned char {
  none,      // text at this '[' can never become a placeholder
  partial,   // text ends inside something that may still become one
  complete,  // a full placeholder of `length` bytes starts here
};

struct PlaceholderMatch {
  PlaceholderState state;
  std::size_t length;  // only for complete
};

// `text` must start with '['. Only the bytes up to the closing ']' are read.
PlaceholderMatch match_placeholder(std::string_view text);

}  // namespace baton::guard
