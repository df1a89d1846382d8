// Beast's request parser, limited as src/server/worker.cpp limits it, fed in socket-sized pieces.
#pragma once

#include "fuzz_check.hpp"

#include "config/config.hpp"
#include "http/asio.hpp"
#include "http/request_framing.hpp"

namespace baton::fuzz {

inline int http_request(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  const config::ServerConfig limits;  // the defaults: 16 KiB of header, 16 MiB of body
  bhttp::request_parser<bhttp::string_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
  parser.body_limit(limits.max_body_bytes);

  std::string buffer;
  beast::error_code ec;
  for (const std::string_view piece : split_pieces(input, data[0])) {
    buffer.append(piece);
    while (!parser.is_done() && !buffer.empty()) {
      const std::size_t used = parser.put(asio::buffer(buffer), ec);
      BATON_FUZZ_CHECK(used <= buffer.size());
      buffer.erase(0, used);
      if (ec == bhttp::error::need_more) {
        ec = {};
        break;
      }
      if (ec) break;
      if (used == 0) break;
    }
    if (ec || parser.is_done()) break;
  }
  if (!ec && !parser.is_done()) parser.put_eof(ec);
  if (parser.is_header_done()) {
    const auto& request = parser.get();
    const std::string_view expect = request[bhttp::field::expect];
    const std::string_view target = request.target();
    BATON_FUZZ_CHECK(target.size() <= input.size());
    BATON_FUZZ_CHECK(expect.size() <= input.size());
    // What baton accepts as framing is what Beast frames: an accepted Transfer-Encoding is chunked.
    if (request.count(bhttp::field::transfer_encoding) > 0 && http::acceptable_transfer_encoding(request)) {
      BATON_FUZZ_CHECK(parser.chunked());
    }
  }
  if (!ec && parser.is_done()) BATON_FUZZ_CHECK(parser.get().body().size() <= limits.max_body_bytes);
  return 0;
}

}  // namespace baton::fuzz
