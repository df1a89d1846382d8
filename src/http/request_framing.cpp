#include "http/request_framing.hpp"

#include "core/ascii.hpp"

namespace baton::http {

bool acceptable_transfer_encoding(const Request& request) {
  return acceptable_transfer_encoding(request.transfer_encoding_count(), request.transfer_encoding());
}

bool acceptable_transfer_encoding(std::size_t count, std::string_view value) {
  if (count == 0) return true;
  if (count > 1) return false;
  const auto is_space = [](char c) { return c == ' ' || c == '\t'; };
  while (!value.empty() && is_space(value.front())) value.remove_prefix(1);
  while (!value.empty() && is_space(value.back())) value.remove_suffix(1);
  return ascii_iequals(value, "chunked");
}

}  // namespace baton::http
