// The guard's line-oriented CLI/admin contract.
//
// Input:  one JSON object per line, {"id": "...", "text": "..."}.
// Output: one JSON object per input line, in order,
//         {"id":"...","findings":[{"type":"KR_RRN","start":12,"end":26}]}
//         with UTF-8 byte offsets into "text", sorted by start.
// A malformed line yields {"id":null,"error":"..."} and the scan continues.
// Blank lines are skipped without output.
#pragma once

#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include "guard/pii_type.hpp"
#include "guard/scanner.hpp"

namespace baton::guard {

// Exit codes of scan_jsonl().
inline constexpr int kJsonlOk = 0;             // every line scanned
inline constexpr int kJsonlMalformedLine = 1;  // at least one line produced an error object
inline constexpr int kJsonlIoError = 2;        // reading or writing failed

int scan_jsonl(const Scanner& scanner, std::istream& in, std::ostream& out);

// One compact JSON line (no trailing newline).
std::string findings_to_json(std::string_view id, const std::vector<Finding>& findings);

// {"id":null,"error":"..."} — exposed so other front ends report errors alike.
std::string error_to_json(std::string_view message);

}  // namespace baton::guard
