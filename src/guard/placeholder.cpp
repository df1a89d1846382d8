#include "guard/placeholder.hpp"

namespace baton::guard {

std::string make_placeholder(PiiType type, std::size_t number) {
  std::string placeholder;
  placeholder.reserve(24);
  placeholder += '[';
  placeholder += to_string(type);
  placeholder += '_';
  placeholder += std::to_string(number);
  placeholder += ']';
  return placeholder;
}

PlaceholderMatch match_placeholder(std::string_view text) {
  if (text.empty() || text.front() != '[') return {PlaceholderState::none, 0};
  bool partial = false;
  const std::string_view body = text.substr(1);
  for (const PiiType type : kAllPiiTypes) {
    const std::string_view name = to_string(type);
    if (body.size() < name.size()) {
      if (name.starts_with(body)) partial = true;
      continue;
    }
    if (!body.starts_with(name)) continue;
    std::size_t pos = name.size();
    if (pos == body.size()) {
      partial = true;
      continue;
    }
    if (body[pos] != '_') continue;
    ++pos;
    const std::size_t digits_begin = pos;
    while (pos < body.size() && body[pos] >= '0' && body[pos] <= '9' &&
           pos - digits_begin <= kMaxPlaceholderDigits) {
      ++pos;
    }
    const std::size_t digits = pos - digits_begin;
    if (digits > kMaxPlaceholderDigits) continue;
    if (digits > 0 && body[digits_begin] == '0') continue;  // no leading zeros
    if (pos == body.size()) {
      partial = true;
      continue;
    }
    if (digits > 0 && body[pos] == ']') return {PlaceholderState::complete, pos + 2};
  }
  return {partial ? PlaceholderState::partial : PlaceholderState::none, 0};
}

}  // namespace baton::guard
