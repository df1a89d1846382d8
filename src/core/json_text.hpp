#pragma once
// Small helpers for writing JSON text by hand on the hot path (no DOM, no allocation beyond `out`).
#include <cstdint>
#include <string>
#include <string_view>

namespace baton {

// Appends the decimal digits of `value` (no allocation, unlike fmt::format into a new string).
void append_decimal(std::string& out, std::uint64_t value);
void append_decimal(std::string& out, std::int64_t value);

// Appends `value` with `digits` digits after the point (fmt's "{:.3f}" for digits = 3), and with
// `digits` significant digits, shortest form (fmt's "{:.9g}"). Not finite values append 0 (JSON has no NaN).
void append_fixed(std::string& out, double value, int digits);
void append_general(std::string& out, double value, int digits);

// Appends `value` as a quoted, escaped JSON string.
void append_json_string(std::string& out, std::string_view value);

}  // namespace baton

namespace baton {
// simdjson reads up to SIMDJSON_PADDING bytes past the input: copies `input` into `scratch` (which
// keeps its capacity, so per-thread scratch strings make this allocation-free) and returns a view
// whose backing storage is padded. Pass scratch.capacity() as the allocated size.
std::string_view padded_for_simdjson(std::string_view input, std::string& scratch);
}  // namespace baton
