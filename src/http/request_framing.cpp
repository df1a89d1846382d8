#include "http/request_framing.hpp"

#include "core/ascii.hpp"

namespace baton::http {

bool acceptable_transfer_encoding(const Request& request) {
  return acceptable_transfer_encoding(request.transfer_encoding_count(), request.transfer_encoding());
}

bool acceptable_transfer_encoding(std::size_t count, std::string_view value) {
  if (count == 0) return true;
  if (count > 1) return false;
  return ascii_iequals(trim_ows(value), "chunked");
}

}  // namespace baton::http
