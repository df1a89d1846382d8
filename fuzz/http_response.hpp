// baton's upstream response parser (src/http/response_parser.hpp), fed in socket-sized pieces the
// way UpstreamCall feeds it, next to Beast's parser as a reference: where both accept a response
// whole, they must agree on its status, body and whether the connection may be reused.
#pragma once

#include "fuzz_check.hpp"

#include <boost/beast/http/basic_parser.hpp>

#include "http/asio.hpp"
#include "http/response_parser.hpp"

namespace baton::fuzz {

// Beast's parser set up as baton used it before it had its own.
class BeastResponseReference : public bhttp::basic_parser<false> {
 public:
  BeastResponseReference() {
    eager(true);
    header_limit(http::ResponseParser::kHeaderLimit);
    body_limit(boost::none);
  }
  unsigned status() const { return status_; }
  const std::string& content_type() const { return content_type_; }
  std::string& body() { return body_; }

 private:
  void on_request_impl(bhttp::verb, beast::string_view, beast::string_view, int, error_code&) override {}
  void on_response_impl(int code, beast::string_view, int, error_code&) override { status_ = static_cast<unsigned>(code); }
  void on_field_impl(bhttp::field name, beast::string_view, beast::string_view value, error_code&) override {
    if (name == bhttp::field::content_type) content_type_.assign(value.data(), value.size());
  }
  void on_header_impl(error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>&, error_code&) override {}
  std::size_t on_body_impl(beast::string_view body, error_code&) override {
    body_.append(body.data(), body.size());
    return body.size();
  }
  void on_chunk_header_impl(std::uint64_t, beast::string_view, error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view body, error_code&) override {
    body_.append(body.data(), body.size());
    return body.size();
  }
  void on_finish_impl(error_code&) override {}

  unsigned status_ = 0;
  std::string content_type_;
  std::string body_;
};

struct ParsedResponse {
  bool error = false;
  bool done = false;
  unsigned status = 0;
  bool keep_alive = false;
  bool chunked = false;
  std::string content_type;
  std::string body;
  std::size_t unused = 0;  // bytes after the response

  bool ok() const { return done && !error; }
  bool operator==(const ParsedResponse&) const = default;
};

// Unused bytes stay buffered and are passed again with the next piece; the end of the input is
// the connection closing.
template <class Parser>
ParsedResponse parse_response(std::string_view input, std::uint8_t selector) {
  Parser parser;
  std::string buffer;
  error_code ec;
  std::size_t fed = 0;
  for (const std::string_view piece : split_pieces(input, selector)) {
    buffer.append(piece);
    fed += piece.size();
    while (!buffer.empty() && !parser.is_done()) {
      const std::size_t before = buffer.size();
      const std::size_t used = parser.put(asio::buffer(buffer), ec);
      BATON_FUZZ_CHECK(used <= before);
      buffer.erase(0, used);
      if (ec == bhttp::error::need_more) {
        ec = {};
        break;
      }
      if (ec || used == 0) break;
    }
    if (ec || parser.is_done()) break;
  }
  if (!ec && !parser.is_done()) parser.put_eof(ec);
  ParsedResponse out;
  out.error = static_cast<bool>(ec);
  out.done = parser.is_done();
  if (parser.is_header_done()) {
    out.status = parser.status();
    out.keep_alive = parser.keep_alive();
    out.chunked = parser.chunked();
    out.content_type = parser.content_type();
    out.body = parser.body();
    BATON_FUZZ_CHECK(out.body.size() <= input.size());
  }
  if (out.done) out.unused = input.size() - (fed - buffer.size());
  return out;
}

inline int http_response(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  const ParsedResponse ours = parse_response<http::ResponseParser>(input, data[0]);
  if (!ours.ok()) return 0;
  BATON_FUZZ_CHECK(ours.status >= 100 && ours.status <= 999);
  // baton is stricter than Beast in places (a repeated Content-Length, codings after chunked);
  // where Beast accepts the response too, both must have read the same message.
  const ParsedResponse beast = parse_response<BeastResponseReference>(input, data[0]);
  if (!beast.ok()) return 0;
  BATON_FUZZ_CHECK(ours.status == beast.status);
  BATON_FUZZ_CHECK(ours.body == beast.body);
  BATON_FUZZ_CHECK(ours.chunked == beast.chunked);
  // Beast lets a Connection field among the trailers end keep-alive; RFC 9110 §6.5.1 keeps
  // trailers out of connection control, and baton ignores them.
  if (!ours.chunked) BATON_FUZZ_CHECK(ours.keep_alive == beast.keep_alive);
  BATON_FUZZ_CHECK(ours.unused == beast.unused);
  return 0;
}

}  // namespace baton::fuzz
