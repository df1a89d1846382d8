#pragma once
// Request framing rules baton adds on top of Beast's parser (which is lenient where a proxy must not be).
#include "http/request.hpp"

namespace baton::http {

// RFC 9112 §6.3: a request whose Transfer-Encoding is not a single final "chunked" has no reliable
// length. Beast reads such a request as having no body, so its body would be parsed as the next
// request: a smuggling primitive behind any proxy that frames it differently. True when the request
// has no Transfer-Encoding, or exactly one whose value is "chunked" (any case, optional whitespace),
// as nginx accepts.
bool acceptable_transfer_encoding(const Request& request);
// The rule itself: `count` Transfer-Encoding headers, the first with `value`.
bool acceptable_transfer_encoding(std::size_t count, std::string_view value);

}  // namespace baton::http
