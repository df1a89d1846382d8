// Turns one raw Vectorscan match into zero or more scored findings.
//
// Vectorscan reports shapes; this is where the real rules live: boundaries (a
// match inside a longer digit run is not a match), checksums, dates, area codes,
// issuer prefixes and context words. Each rule adjusts a confidence score; the
// scanner keeps what clears kReportThreshold and resolves overlaps.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include "guard/patterns.hpp"
#include "guard/pii_type.hpp"
#include "guard/validators.hpp"

namespace baton::guard::detail {

// Below this a candidate is dropped. Chosen so that "shape + checksum" or
// "shape + context" passes, while "shape alone" for weak shapes (bare 13 digits
// next to 주문번호, a 10-digit run with no bank word) does not.
inline constexpr float kReportThreshold = 0.5f;

struct RawMatch {
  PatternKind kind;
  std::size_t from;
  std::size_t to;
};

struct ClassifyEnv {
  std::string_view text;      // the (possibly folded) text that was scanned
  validate::CivilDate today;  // birth dates after this are impossible
};

// Appends every plausible reading of `match` (already above the threshold).
// One span can yield several readings (a bare 13-digit run may be an RRN, a
// card or a bank account); the scanner picks the best.
void classify(const RawMatch& match, const ClassifyEnv& env, std::vector<Finding>& out);

// Tie-break between readings of equal confidence and length: lower wins.
int type_priority(PiiType type);

}  // namespace baton::guard::detail
