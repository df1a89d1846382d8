// The candidate patterns compiled into the single Vectorscan database.
//
// Patterns are deliberately loose about *values* (any digits) and strict about
// *shape* (group lengths, separators): Vectorscan finds every shape in one pass,
// and the C++ classifier (classifier.hpp) applies checksums, dates, area codes,
// context words and boundaries. Keeping the values out of the regexes keeps the
// automaton small and the fast path fast.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace baton::guard {

// The pattern id reported by Vectorscan is the enum value.
enum class PatternKind : std::uint32_t {
  resident_separated,  // NNNNNN-NNNNNNN / NNNNNN NNNNNNN   (RRN, FRN, CRN)
  bare_digits,         // 9-19 digits without separators    (many kinds, decided by length)
  business_separated,  // NNN-NN-NNNNN                      (BRN)
  license_separated,   // NN-NN-NNNNNN-NN                   (driver's licence)
  license_legacy,      // NN-NNNNNN-NN after an area name    (driver's licence, pre-2011 style)
  phone_domestic,      // 0X(X)-XXX(X)-XXXX, separators optional
  phone_parenthesised, // (0X) XXX-XXXX
  phone_international, // +82 10-XXXX-XXXX, +82-2-XXX-XXXX, +82 (0)10...
  bank_grouped,        // 2-4 hyphenated digit groups       (bank account, context only)
  card_grouped,        // 4-4-4-(1..7) digits
  card_grouped_long,   // 4-4-4-4-(1..3) digits
  card_amex,           // 4-6-4/5 digits (Amex, Diners)
  passport_legacy,     // M12345678
  passport_2021,       // M123A4567
  email,
  ipv4,
  ipv6,
  ipv6_mapped_v4,      // ::ffff:192.0.2.1
};

struct PatternSpec {
  PatternKind kind;
  std::string_view regex;
  // The pattern ends in a digit and may only match where the digit run ends:
  // compiled as (?:regex)(?:[^0-9]|$). Without this a 16-digit order number
  // would report every end offset of every digit pattern inside it; with it,
  // each run yields at most one report per pattern. The extra byte is trimmed
  // off again in the match callback.
  bool digit_bounded;
  // Needs HS_FLAG_SOM_LEFTMOST. Bare digit runs find their own start (walk
  // back over digits), which is ~5x cheaper than SOM on digit-heavy text.
  bool start_of_match;
  // The IPv6 counterpart of digit_bounded: (?:regex)(?:[^0-9A-Fa-f:]|$), so
  // a run like "a:b:c:d:…" reports once at its end instead of at every group
  // (a colon flood cost 280 ms/MB before).
  bool hex_bounded;
};

std::span<const PatternSpec> pattern_specs();

// The expression handed to Vectorscan for `spec` (regex plus boundary).
std::string compiled_expression(const PatternSpec& spec);

}  // namespace baton::guard
