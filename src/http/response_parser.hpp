#pragma once
// An upstream's HTTP/1.1 response: the status line, the few headers baton acts on, and the body
// decoded from sized, chunked or close-delimited framing into body(), which the caller drains as
// it relays. Written for baton rather than taken from Beast: Beast's generic parser looked every
// field up in its table and validated every token list, 3.5K instructions of a 41K-instruction
// request; this one reads the head once and looks only at what framing and relaying need.
//
// Strict wherever framing is decided (RFC 9112): Content-Length twice, Content-Length with
// Transfer-Encoding, any transfer coding but a single chunked, a bad chunk size, a bare LF or a
// control byte in a field baton reads are errors, never a guess, so a body is only relayed and a
// connection only reused when its framing was certain.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "http/asio.hpp"

namespace baton::http {

class ResponseParser {
 public:
  static constexpr std::size_t kHeaderLimit = 64 * 1024;  // status line + fields, and trailers
  static constexpr std::size_t kChunkLineLimit = 4096;    // a chunk-size line with its extensions

  // Feeds `bytes` and returns how many were used. bhttp::error::need_more: what is left is an
  // incomplete head or line; pass it again, followed by more bytes. Any other error: malformed.
  // Bytes after the end of the response are left unused.
  std::size_t put(asio::const_buffer bytes, error_code& ec);
  // The upstream closed the connection: ends a close-delimited body; for any other unfinished
  // response `ec` is partial_message.
  void put_eof(error_code& ec);

  bool got_some() const { return got_some_; }
  bool is_header_done() const { return state_ != State::head; }
  bool is_done() const { return state_ == State::done; }
  bool chunked() const { return transfer_encoding_; }
  // Whether the connection may carry another exchange once this response is done.
  bool keep_alive() const { return keep_alive_; }
  // Body bytes still to come for a sized body (nothing for chunked or close-delimited ones).
  std::optional<std::uint64_t> content_length_remaining() const {
    if (state_ == State::sized_body) return remaining_;
    return std::nullopt;
  }

  unsigned status() const { return status_; }
  const std::string& content_type() const { return content_type_; }
  const std::string& retry_after() const { return retry_after_; }
  std::string& body() { return body_; }

 private:
  enum class State : std::uint8_t { head, sized_body, chunk_size, chunk_data, chunk_end, trailers, until_close, done };
  enum class Field : std::uint8_t { other, connection, retry_after, content_type, content_length, transfer_encoding };
  static Field known_field(std::string_view name);

  // One state's worth of `rest`: the bytes used (0 with `ec` set when it cannot go on).
  std::size_t step(std::string_view rest, error_code& ec);
  // The rest of the current sized body or chunk, as far as `rest` goes; then `then`.
  std::size_t take_body(std::string_view rest, State then);
  std::size_t parse_head(std::string_view in, error_code& ec);
  bool read_status_line(std::string_view line);
  bool read_field(std::string_view line, error_code& ec);
  void start_body();
  std::size_t parse_chunk_size(std::string_view in, error_code& ec);
  std::size_t parse_trailers(std::string_view in, error_code& ec);

  State state_ = State::head;
  bool got_some_ = false;
  bool keep_alive_ = false;
  std::uint8_t minor_version_ = 1;  // HTTP/1.x
  unsigned status_ = 0;
  std::uint64_t remaining_ = 0;  // of a sized body or of the current chunk
  std::size_t head_parsed_ = 0;  // head bytes (whole lines) already read
  std::size_t trailer_bytes_ = 0;
  // What the fields said, read when the head is complete.
  std::optional<std::uint64_t> content_length_;
  bool transfer_encoding_ = false;  // chunked (the only coding accepted)
  bool connection_close_ = false;
  bool connection_keep_alive_ = false;
  std::string content_type_;
  std::string retry_after_;
  std::string body_;
};

}  // namespace baton::http
