#include "http/response_parser.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#define BATON_FUZZ_THROW  // as in fuzz_regressions_test.cpp: one definition of the shared target
#include "../../../fuzz/http_response.hpp"

namespace baton::fuzz {
std::ostream& operator<<(std::ostream& out, const ParsedResponse& r) {
  return out << "{error=" << r.error << " done=" << r.done << " status=" << r.status << " keep_alive=" << r.keep_alive << " chunked=" << r.chunked
             << " content_type=" << r.content_type << " body=" << r.body << " unused=" << r.unused << "}";
}
}  // namespace baton::fuzz

namespace baton::http {
namespace {

using Outcome = fuzz::ParsedResponse;

// Socket-sized pieces (see fuzz::split_pieces): whole, a byte at a time, and uneven cuts.
const std::vector<std::uint8_t> kPieces = {0, 1, 2, 3, 7, 64, 255};

// baton's parser reads `expected` from `input` however it is cut, and so does Beast's, the
// parser baton used before (the reference).
void expect_agreement(std::string_view input, const Outcome& expected) {
  for (const std::uint8_t piece : kPieces) {
    EXPECT_EQ(fuzz::parse_response<ResponseParser>(input, piece), expected) << "pieces up to " << int{piece} << ": " << input;
    EXPECT_EQ(fuzz::parse_response<fuzz::BeastResponseReference>(input, piece), expected) << "Beast, pieces up to " << int{piece};
  }
}

TEST(ResponseParser, SizedJsonAnswer) {
  expect_agreement("HTTP/1.1 200 OK\r\nServer: x\r\ncontent-type: application/json\r\nContent-Length: 13\r\n\r\n{\"a\":\"hello\"}",
                   {false, true, 200, true, false, "application/json", "{\"a\":\"hello\"}", 0});
}

TEST(ResponseParser, ChunkedWithExtensionsAndTrailers) {
  expect_agreement(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\nContent-Type: text/event-stream\r\n\r\n"
      "5;name=value\r\nhello\r\nA ; ext\r\n world!!!!\r\n0\r\nX-Trailer: 1\r\n\r\n",
      {false, true, 200, true, true, "text/event-stream", "hello world!!!!", 0});
}

TEST(ResponseParser, TrailersDoNotControlTheConnection) {
  // RFC 9110 §6.5.1 (Beast differed: it let this Connection field end keep-alive).
  EXPECT_EQ(fuzz::parse_response<ResponseParser>(
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nConnection: close\r\n\r\n", 0),
            (Outcome{false, true, 200, true, true, "", "ok", 0}));
}

TEST(ResponseParser, CloseDelimitedBodyEndsAtEof) {
  expect_agreement("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end",
                   {false, true, 200, false, false, "text/plain", "until the end", 0});
}

TEST(ResponseParser, KeepAliveByVersionAndConnection) {
  expect_agreement("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", {false, true, 200, false, false, "", "ok", 0});
  expect_agreement("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nok",
                   {false, true, 200, true, false, "", "ok", 0});
  expect_agreement("HTTP/1.1 200 OK\r\nConnection: upgrade, close\r\nContent-Length: 2\r\n\r\nok",
                   {false, true, 200, false, false, "", "ok", 0});
}

TEST(ResponseParser, ValuesOfFieldsNotReadAreNotExamined) {
  // Neither read nor forwarded: a stray control byte there changes nothing (RFC 9112 §2.2).
  const Outcome outcome = fuzz::parse_response<ResponseParser>("HTTP/1.1 200 OK\r\nX-Odd: a\rb\x01\r\nContent-Length: 2\r\n\r\nok", 0);
  EXPECT_EQ(outcome, (Outcome{false, true, 200, true, false, "", "ok", 0}));
}

TEST(ResponseParser, StatusesWithoutBodyIgnoreTheirFraming) {
  expect_agreement("HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n", {false, true, 204, true, false, "", "", 0});
  expect_agreement("HTTP/1.1 304 Not Modified\r\n\r\n", {false, true, 304, true, false, "", "", 0});
  expect_agreement("HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n", {false, true, 404, true, false, "", "", 0});
  // Without the space before the (empty) reason: RFC 9112 wants it and Beast refused it; nginx and
  // baton take it, as nothing about the framing depends on it.
  EXPECT_EQ(fuzz::parse_response<ResponseParser>("HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n", 0),
            (Outcome{false, true, 404, true, false, "", "", 0}));
}

TEST(ResponseParser, BytesAfterTheResponseAreLeftUnused) {
  const std::string input = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n";
  expect_agreement(input, {false, true, 200, true, false, "", "ok", 17});
}

TEST(ResponseParser, ReadsRetryAfterAndReservesForTheBody) {
  ResponseParser parser;
  error_code ec;
  const std::string head = "HTTP/1.1 429 Too Many Requests\r\nRETRY-AFTER:  7 \r\nContent-Length: 1000\r\n\r\n";
  EXPECT_EQ(parser.put(asio::buffer(head), ec), head.size());
  EXPECT_FALSE(ec);
  EXPECT_EQ(parser.status(), 429U);
  EXPECT_EQ(parser.retry_after(), "7");
  EXPECT_EQ(parser.content_length_remaining(), std::optional<std::uint64_t>(1000));
  EXPECT_GE(parser.body().capacity(), 1000U);
}

TEST(ResponseParser, MalformedResponsesAreErrors) {
  const std::vector<std::string> malformed = {
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok",          // a second length
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\nok",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",           // a coding baton cannot undo
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\xe0\r\n\r\n0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nok\r\n0\r\n\r\n",  // not a size
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokX\r\n0\r\n\r\n",     // no CRLF after data
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n",     // over 64 bits
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2 x\r\nok\r\n0\r\n\r\n",    // junk after the size
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2 \r\nok\r\n0\r\n\r\n",     // whitespace, no extension
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\nok\r\n0\r\n\r\n",        // bare LF
      "HTTP/1.1 200 OK\r\nA: b\nContent-Length: 0\r\n\r\n",                           // bare LF in the head
      "HTTP/1.1 200 OK\r\nA: b\r\n c\r\nContent-Length: 0\r\n\r\n",                   // obs-fold
      "HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n",                                // space before colon
      "HTTP/1.1 200 OK\r\nContent-Type: a\rb\r\nContent-Length: 0\r\n\r\n",           // bare CR in a value
      "HTTP/1.1 200 OK\r\nConnection: a\x01\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 1 2\r\n\r\nok",
      "HTTP/1.1 200 OK\r\nContent-Length: 0x10\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nok",                               // cut short
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n",             // no last chunk
      "HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 099 Low\r\nContent-Length: 0\r\n\r\n",
      "ICY 200 OK\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n",                                     // head never ends
      "",                                                                              // nothing at all
  };
  for (const std::string& input : malformed) {
    for (const std::uint8_t piece : kPieces) {
      const Outcome outcome = fuzz::parse_response<ResponseParser>(input, piece);
      EXPECT_TRUE(outcome.error) << "pieces up to " << int{piece} << ": " << input;
    }
  }
}

TEST(ResponseParser, HeadOverTheLimitIsRefused) {
  const std::string head = "HTTP/1.1 200 OK\r\nX-Big: " + std::string(ResponseParser::kHeaderLimit, 'a') + "\r\n\r\n";
  ResponseParser parser;
  error_code ec;
  EXPECT_EQ(parser.put(asio::buffer(head), ec), 0U);
  EXPECT_EQ(ec, bhttp::error::header_limit);
  ResponseParser unterminated;
  const std::string endless = "HTTP/1.1 200 OK\r\nX-Big: " + std::string(ResponseParser::kHeaderLimit, 'a');
  EXPECT_EQ(unterminated.put(asio::buffer(endless), ec), 0U);
  EXPECT_EQ(ec, bhttp::error::header_limit);
}

TEST(ResponseParser, PartialChunkSizeLineWaitsUnused) {
  ResponseParser parser;
  error_code ec;
  const std::string head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nB";
  EXPECT_EQ(parser.put(asio::buffer(head), ec), head.size() - 1);  // the "B" waits for its CRLF
  EXPECT_EQ(ec, bhttp::error::need_more);
  EXPECT_EQ(parser.content_length_remaining(), std::nullopt);
  const std::string rest = "B\r\nhello world\r\n0\r\n\r\n";  // the unused byte comes again
  EXPECT_EQ(parser.put(asio::buffer(rest), ec), rest.size());
  EXPECT_FALSE(ec);
  EXPECT_TRUE(parser.is_done());
  EXPECT_EQ(parser.body(), "hello world");
  EXPECT_TRUE(parser.got_some());
}

}  // namespace
}  // namespace baton::http
