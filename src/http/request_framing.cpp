#include "http/request_framing.hpp"

#include "core/ascii.hpp"

namespace baton::http {

bool acceptable_transfer_encoding(const bhttp::fields& headers) {
  const std::size_t count = headers.count(bhttp::field::transfer_encoding);
  if (count == 0) return true;
  if (count > 1) return false;
  std::string_view value = headers[bhttp::field::transfer_encoding];
  const auto is_space = [](char c) { return c == ' ' || c == '\t'; };
  while (!value.empty() && is_space(value.front())) value.remove_prefix(1);
  while (!value.empty() && is_space(value.back())) value.remove_suffix(1);
  return ascii_iequals(value, "chunked");
}

}  // namespace baton::http
