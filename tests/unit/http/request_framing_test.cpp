#include "http/request_framing.hpp"

#include <gtest/gtest.h>

#include <initializer_list>
#include <string_view>

#include "http/request_reader.hpp"

namespace baton::http {
namespace {

void append(beast::flat_buffer& buffer, std::string_view text) {
  asio::buffer_copy(buffer.prepare(text.size()), asio::buffer(text));
  buffer.commit(text.size());
}

// Parses a request head with `values` as its Transfer-Encoding headers and the body
// "5\r\nhello\r\n0\r\n\r\n" when that framing is chunked.
struct Parsed {
  Request request;
  error_code ec;
  bool done = false;
};

Parsed parse(std::string_view head_fields, std::string_view body = "") {
  beast::flat_buffer buffer;
  append(buffer, "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\n" + std::string(head_fields) + "\r\n" +
                     std::string(body));
  RequestParser parser;
  Parsed parsed;
  parsed.done = parse_buffered(parser, buffer, ReadUntil::header, parsed.ec);
  if (parsed.done && !parsed.ec) {
    parser.eager(true);
    parsed.done = parse_buffered(parser, buffer, ReadUntil::message, parsed.ec) && parser.is_done();
  }
  parsed.request = parser.get();
  return parsed;
}

TEST(RequestFraming, NoTransferEncodingIsFine) {
  EXPECT_TRUE(acceptable_transfer_encoding(0, ""));
  const Parsed parsed = parse("content-length: 2\r\n", "{}");
  EXPECT_TRUE(parsed.done);
  EXPECT_TRUE(acceptable_transfer_encoding(parsed.request));
  EXPECT_EQ(parsed.request.body(), "{}");
}

TEST(RequestFraming, ChunkedInAnyCaseWithOptionalWhitespace) {
  for (const std::string_view value : {"chunked", "CHUNKED", "Chunked", " chunked", "chunked\t", "\tchunked "}) {
    EXPECT_TRUE(acceptable_transfer_encoding(1, value)) << "'" << value << "'";
  }
  const Parsed parsed = parse("Transfer-Encoding: Chunked\r\n", "5\r\nhello\r\n0\r\n\r\n");
  ASSERT_TRUE(parsed.done) << parsed.ec.message();
  EXPECT_EQ(parsed.request.transfer_encoding_count(), 1U);
  EXPECT_TRUE(acceptable_transfer_encoding(parsed.request));
  EXPECT_EQ(parsed.request.body(), "hello");
}

TEST(RequestFraming, AnythingElseIsRefused) {
  // A coding list, an unknown or misspelt coding, or chunked not last: the length is unreliable.
  for (const std::string_view value :
       {"chunked, identity", "identity, chunked", "gzip, chunked", "xchunked", "chunked;q=1", "identity", "", "chunk"}) {
    EXPECT_FALSE(acceptable_transfer_encoding(1, value)) << "'" << value << "'";
  }
  // Beast frames "gzip, chunked" as chunked; baton still refuses it.
  const Parsed parsed = parse("transfer-encoding: gzip, chunked\r\n");
  EXPECT_FALSE(acceptable_transfer_encoding(parsed.request));
}

TEST(RequestFraming, TwoTransferEncodingHeadersAreRefused) {
  EXPECT_FALSE(acceptable_transfer_encoding(2, "chunked"));
  const Parsed parsed = parse("transfer-encoding: identity\r\ntransfer-encoding: identity\r\n");
  EXPECT_EQ(parsed.request.transfer_encoding_count(), 2U);
  EXPECT_EQ(parsed.request.transfer_encoding(), "identity");
  EXPECT_FALSE(acceptable_transfer_encoding(parsed.request));
}

TEST(RequestHead, KeepsTheFirstOfEachHeaderHandlersRead) {
  const Parsed parsed = parse(
      "X-Request-ID: \r\nx-request-id: second\r\nAuthorization: Bearer a\r\nauthorization: Bearer b\r\n"
      "X-Api-Key: k1\r\nx-api-key: k2\r\nExpect: 100-continue\r\nx-other: ignored\r\ncontent-length: 0\r\n");
  ASSERT_TRUE(parsed.done) << parsed.ec.message();
  EXPECT_EQ(parsed.request.method(), bhttp::verb::post);
  EXPECT_EQ(parsed.request.method_string(), "POST");
  EXPECT_EQ(parsed.request.target(), "/v1/chat/completions");
  EXPECT_EQ(parsed.request.request_id(), "");  // the first one, though empty (as Beast's fields[] answers)
  EXPECT_EQ(parsed.request.authorization(), "Bearer a");
  EXPECT_EQ(parsed.request.api_key(), "k1");
  EXPECT_EQ(parsed.request.expect(), "100-continue");
  EXPECT_TRUE(parsed.request.body().empty());
}

TEST(RequestHead, ABodyOverTheLimitIsRefused) {
  beast::flat_buffer buffer;
  append(buffer, "POST / HTTP/1.1\r\ncontent-length: 10\r\n\r\n0123456789");
  RequestParser parser;
  parser.body_limit(9);
  error_code ec;
  EXPECT_TRUE(parse_buffered(parser, buffer, ReadUntil::header, ec));
  EXPECT_EQ(ec, bhttp::error::body_limit);
}

TEST(RequestHead, AnIncompleteRequestAsksForMore) {
  beast::flat_buffer buffer;
  append(buffer, "POST / HTTP/1.1\r\ncontent-length: 10\r\n\r\n01234");
  RequestParser parser;
  error_code ec;
  ASSERT_TRUE(parse_buffered(parser, buffer, ReadUntil::header, ec));
  parser.eager(true);
  EXPECT_FALSE(parse_buffered(parser, buffer, ReadUntil::message, ec));
  EXPECT_FALSE(ec);
  append(buffer, "56789");
  EXPECT_TRUE(parse_buffered(parser, buffer, ReadUntil::message, ec));
  EXPECT_FALSE(ec);
  EXPECT_EQ(parser.get().body(), "0123456789");
}

}  // namespace
}  // namespace baton::http
