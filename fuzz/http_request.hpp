// baton's request parser (Beast's framing, baton's head), limited as src/server/worker.cpp limits
// it and driven as it drives it (parse_buffered), fed in socket-sized pieces.
#pragma once

#include "fuzz_check.hpp"

#include "config/config.hpp"
#include "http/asio.hpp"
#include "http/request_framing.hpp"
#include "http/request_reader.hpp"

namespace baton::fuzz {

inline int http_request(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  const config::ServerConfig limits;  // the defaults: 16 KiB of header, 16 MiB of body
  http::RequestParser parser;
  parser.header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
  parser.body_limit(limits.max_body_bytes);

  beast::flat_buffer buffer;
  beast::error_code ec;
  bool finished = false;
  for (const std::string_view piece : split_pieces(input, data[0])) {
    asio::buffer_copy(buffer.prepare(piece.size()), asio::buffer(piece));
    buffer.commit(piece.size());
    const std::size_t before = buffer.size();
    if (!parser.is_header_done()) {
      finished = http::parse_buffered(parser, buffer, http::ReadUntil::header, ec);
      if (!finished || ec) {
        BATON_FUZZ_CHECK(buffer.size() <= before);
        if (ec) break;
        continue;
      }
      parser.eager(true);
    }
    finished = http::parse_buffered(parser, buffer, http::ReadUntil::message, ec);
    BATON_FUZZ_CHECK(buffer.size() <= before);
    if (ec || finished) break;
  }
  if (!ec && !parser.is_done()) parser.put_eof(ec);
  if (parser.is_header_done()) {
    const auto& request = parser.get();
    const std::string_view expect = request.expect();
    const std::string_view target = request.target();
    BATON_FUZZ_CHECK(target.size() <= input.size());
    BATON_FUZZ_CHECK(expect.size() <= input.size());
    // What baton accepts as framing is what Beast frames: an accepted Transfer-Encoding is chunked.
    if (request.transfer_encoding_count() > 0 && http::acceptable_transfer_encoding(request)) {
      BATON_FUZZ_CHECK(parser.chunked());
    }
  }
  if (!ec && parser.is_done()) BATON_FUZZ_CHECK(parser.get().body().size() <= limits.max_body_bytes);
  if (finished && !ec) BATON_FUZZ_CHECK(parser.is_done());
  return 0;
}

}  // namespace baton::fuzz
