#include "core/sse.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace baton {
namespace {

std::vector<std::string> drain(SseParser& parser) {
  std::vector<std::string> out;
  SseEvent event;
  while (parser.next(event)) out.emplace_back(event.data);
  return out;
}

TEST(SseParser, SplitsEventsAcrossArbitraryChunkBoundaries) {
  const std::string stream = "data: {\"a\":1}\n\ndata: {\"b\":2}\r\n\r\n: keep-alive\n\ndata: [DONE]\n\n";
  for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
    SseParser parser;
    parser.append(std::string_view(stream).substr(0, cut));
    std::vector<std::string> events = drain(parser);
    parser.append(std::string_view(stream).substr(cut));
    for (auto& e : drain(parser)) events.push_back(e);
    ASSERT_EQ(events, (std::vector<std::string>{"{\"a\":1}", "{\"b\":2}", "[DONE]"})) << "cut at " << cut;
  }
}

TEST(SseParser, JoinsMultiLineDataAndKeepsEventName) {
  SseParser parser;
  parser.append("event: delta\ndata: line one\ndata: line two\n\n");
  SseEvent event;
  ASSERT_TRUE(parser.next(event));
  EXPECT_EQ(event.event, "delta");
  EXPECT_EQ(event.data, "line one\nline two");
  EXPECT_FALSE(parser.next(event));
}

TEST(SseParser, IncompleteEventWaitsForMoreBytes) {
  SseParser parser;
  parser.append("data: {\"partial\":");
  SseEvent event;
  EXPECT_FALSE(parser.next(event));
  EXPECT_GT(parser.pending_bytes(), 0U);
  parser.append("true}\n\n");
  ASSERT_TRUE(parser.next(event));
  EXPECT_EQ(event.data, "{\"partial\":true}");
  EXPECT_EQ(parser.pending_bytes(), 0U);
}

TEST(SseParser, OneLineEventsAndOtherShapesInterleave) {
  // One-line events take a shortcut; every other shape around them must read the same as before.
  SseParser parser;
  parser.append("data: a\n\ndata: b\ndata: c\n\ndata:\n\ndata: d\r\n\n: note\ndata: e\n\ndata: f\n\n");
  SseParser one_byte_at_a_time;
  std::vector<std::string> trickled;
  for (const char c : std::string("data: a\n\ndata: b\ndata: c\n\ndata:\n\ndata: d\r\n\n: note\ndata: e\n\ndata: f\n\n")) {
    one_byte_at_a_time.append(std::string_view(&c, 1));
    for (auto& e : drain(one_byte_at_a_time)) trickled.push_back(e);
  }
  const std::vector<std::string> expected{"a", "b\nc", "", "d", "e", "f"};
  EXPECT_EQ(drain(parser), expected);
  EXPECT_EQ(trickled, expected);
}

TEST(SseParser, DataWithoutSpaceAfterColon) {
  SseParser parser;
  parser.append("data:x\n\n");
  SseEvent event;
  ASSERT_TRUE(parser.next(event));
  EXPECT_EQ(event.data, "x");
}

TEST(SseParser, ReportsOverflowOfAnUnterminatedEvent) {
  SseParser parser;
  parser.append("data: ");
  parser.append(std::string(SseParser::kMaxPendingBytes + 1, 'x'));
  SseEvent event;
  EXPECT_FALSE(parser.next(event));
  EXPECT_TRUE(parser.overflowed());
}

TEST(SseFraming, AppendsDataFrame) {
  std::string out;
  append_sse_data(out, "{}");
  EXPECT_EQ(out, "data: {}\n\n");
}

}  // namespace
}  // namespace baton
