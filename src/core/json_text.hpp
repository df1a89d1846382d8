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
// simdjson reads up to this many bytes past the input (simdjson::SIMDJSON_PADDING, checked in
// json_text.cpp). Bodies that will be parsed reserve it, so they can be parsed where they are.
inline constexpr std::size_t kJsonPadding = 64;

// JSON text with at least kJsonPadding readable bytes after it: `allocated` is what to tell simdjson.
struct PaddedJson {
  std::string_view text;
  std::size_t allocated;
};
// Copies `input` into `scratch` (which keeps its capacity, so per-thread scratch strings make this
// allocation-free) and returns the padded copy.
PaddedJson padded_for_simdjson(std::string_view input, std::string& scratch);
// `input` itself when its capacity already holds the padding (a body whose parser reserved it):
// no copy; else a copy as above.
PaddedJson padded_for_simdjson(const std::string& input, std::string& scratch);
}  // namespace baton
