#include "guard/patterns.hpp"

#include <array>

namespace baton::guard {

namespace {

// Separator classes: resident/business/licence numbers are written with hyphens
// or spaces; phones also use dots ("010.1234.5678"). Cards use spaces/hyphens.
constexpr std::array<PatternSpec, 18> kPatterns = {{
    {PatternKind::resident_separated, "[0-9]{6}[ \\-][0-9]{7}", true, true, false},
    {PatternKind::bare_digits, "[0-9]{9,19}", true, false, false},
    {PatternKind::business_separated, "[0-9]{3}[ \\-][0-9]{2}[ \\-][0-9]{5}", true, true, false},
    {PatternKind::license_separated, "[0-9]{2}[ \\-][0-9]{2}[ \\-][0-9]{6}[ \\-][0-9]{2}", true, true, false},
    {PatternKind::license_legacy, "[0-9]{2}-[0-9]{6}-[0-9]{2}", true, true, false},
    {PatternKind::phone_domestic, "0[0-9]{1,2}[ .\\-]?[0-9]{3,4}[ .\\-]?[0-9]{4}", true, true, false},
    {PatternKind::phone_parenthesised, "\\(0[0-9]{1,2}\\) ?[0-9]{3,4}[ .\\-]?[0-9]{4}", true, true, false},
    {PatternKind::phone_international,
     "\\+ ?82[ .\\-]?(\\(0\\) ?)?[0-9]{1,3}[ .\\-]?[0-9]{3,4}[ .\\-]?[0-9]{4}", true, true, false},
    {PatternKind::bank_grouped, "[0-9]{2,6}-[0-9]{2,7}(-[0-9]{1,7}){0,2}", true, true, false},
    {PatternKind::card_grouped, "[0-9]{4}[ \\-][0-9]{4}[ \\-][0-9]{4}[ \\-][0-9]{1,7}", true, true, false},
    {PatternKind::card_grouped_long, "[0-9]{4}[ \\-][0-9]{4}[ \\-][0-9]{4}[ \\-][0-9]{4}[ \\-][0-9]{1,3}", true, true, false},
    {PatternKind::card_amex, "[0-9]{4}[ \\-][0-9]{6}[ \\-][0-9]{4,5}", true, true, false},
    {PatternKind::passport_legacy, "[MSRODG][0-9]{8}", true, true, false},
    {PatternKind::passport_2021, "[MSRODG][0-9]{3}[A-Z][0-9]{4}", true, true, false},
    {PatternKind::email, "@[A-Za-z0-9\\-]+(\\.[A-Za-z0-9\\-]+)*\\.[A-Za-z]{2,24}", false, true, false},
    {PatternKind::ipv4, "[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}", true, true, false},
    {PatternKind::ipv6, "[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}(:[0-9A-Fa-f]{0,4}){0,5}", false, true, true},
    {PatternKind::ipv6_mapped_v4,
     "[0-9A-Fa-f]{0,4}(:[0-9A-Fa-f]{0,4}){1,6}:[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}", true, true, false},
}};

}  // namespace

std::span<const PatternSpec> pattern_specs() { return kPatterns; }

std::string compiled_expression(const PatternSpec& spec) {
  std::string expression;
  if (spec.digit_bounded) {
    expression.append("(?:").append(spec.regex).append(")(?:[^0-9]|$)");
  } else if (spec.hex_bounded) {
    expression.append("(?:").append(spec.regex).append(")(?:[^0-9A-Fa-f:]|$)");
  } else {
    expression.append(spec.regex);
  }
  return expression;
}

}  // namespace baton::guard
