#include "http/request_reader.hpp"

#include <algorithm>

namespace baton::http {

namespace {
// One read's most, as Beast reads.
constexpr std::size_t kMaxReadBytes = 64 * 1024;

bool reached(const RequestParser& parser, ReadUntil until) {
  return until == ReadUntil::header ? parser.is_header_done() : parser.is_done();
}
}  // namespace

bool parse_buffered(RequestParser& parser, beast::flat_buffer& buffer, ReadUntil until, error_code& ec) {
  ec = {};
  while (!reached(parser, until)) {
    if (buffer.size() == 0) return false;
    const std::size_t used = parser.put(buffer.data(), ec);
    buffer.consume(used);
    if (ec == bhttp::error::need_more) {
      ec = {};
      return false;
    }
    if (ec) return true;
    if (used == 0) return false;  // no progress without more bytes
  }
  return true;
}

awaitable<void> read_request_more(tcp::socket& socket, beast::flat_buffer& buffer, RequestParser& parser,
                                  ReadUntil until, error_code& ec) {
  do {
    // Beast's read size: what the buffer has room for without growing (at least 512), within its limit.
    const std::size_t limit = buffer.max_size() - buffer.size();
    if (limit == 0) {
      ec = bhttp::error::buffer_overflow;
      co_return;
    }
    const std::size_t room =
        std::min(std::max<std::size_t>(512, buffer.capacity() - buffer.size()), std::min(kMaxReadBytes, limit));
    auto [read_ec, n] = co_await socket.async_read_some(buffer.prepare(room), use_nothrow);
    if (read_ec == asio::error::eof) {
      // The client closed mid-request: the parser says whether what came is a whole message.
      if (!parser.got_some()) {
        ec = bhttp::error::end_of_stream;
        co_return;
      }
      ec = {};
      parser.put_eof(ec);
      if (!ec && !reached(parser, until)) ec = bhttp::error::partial_message;
      co_return;
    }
    if (read_ec) {
      ec = read_ec;
      co_return;
    }
    buffer.commit(n);
  } while (!parse_buffered(parser, buffer, until, ec));
}

}  // namespace baton::http
