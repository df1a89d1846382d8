#pragma once
// Reads one client request into Beast's parser straight from the socket. Beast's own
// async_read_header / async_read wrap every call in composed operations and post a completion even
// when the whole request is already buffered (the usual case: it arrives in one segment); here the
// buffered bytes are parsed inline and a coroutine suspends only when the parser needs more bytes.
// Framing, limits and errors are Beast's parser's: header_limit, body_limit, need_more,
// partial_message, and buffer_overflow / end_of_stream as Beast's reads report them.
#include "http/asio.hpp"
#include "http/request.hpp"

namespace baton::http {

enum class ReadUntil : std::uint8_t { header, message };

// Feeds what `buffer` holds to `parser`. True when the parser reached `until` or failed (`ec` set);
// false when it needs more bytes.
bool parse_buffered(RequestParser& parser, beast::flat_buffer& buffer, ReadUntil until, error_code& ec);

// Reads from `socket` and parses until parse_buffered() is true. Call it only after parse_buffered()
// returned false. The caller bounds the wait (a Deadline cancelling the socket).
awaitable<void> read_request_more(tcp::socket& socket, beast::flat_buffer& buffer, RequestParser& parser,
                                  ReadUntil until, error_code& ec);

}  // namespace baton::http
