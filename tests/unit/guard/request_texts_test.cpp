// extract_request_texts: which texts of a chat body the guard reads, and the exact byte range of
// each one's JSON string token.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "guard/request_texts.hpp"

namespace baton::guard {
namespace {

std::vector<RequestText> extract(std::string_view body, RequestFormat format = RequestFormat::openai_chat) {
  std::vector<RequestText> texts;
  EXPECT_TRUE(extract_request_texts(body, format, texts)) << body;
  // Every range is a whole JSON string token, and the ranges ascend without overlapping.
  std::size_t end = 0;
  for (const RequestText& t : texts) {
    EXPECT_GE(t.offset, end) << body;
    EXPECT_LE(t.offset + t.length, body.size());
    EXPECT_GE(t.length, 2u);
    EXPECT_EQ(body[t.offset], '"');
    EXPECT_EQ(body[t.offset + t.length - 1], '"');
    end = t.offset + t.length;
  }
  return texts;
}

std::string_view token(std::string_view body, const RequestText& t) { return body.substr(t.offset, t.length); }

bool fails(std::string_view body, RequestFormat format = RequestFormat::openai_chat) {
  std::vector<RequestText> texts;
  return !extract_request_texts(body, format, texts);
}

TEST(GuardRequestTexts, StringContent) {
  const std::string body =
      R"({"model":"m","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hello"}]})";
  const auto texts = extract(body);
  ASSERT_EQ(texts.size(), 2u);
  EXPECT_EQ(texts[0].message_index, 0u);
  EXPECT_EQ(texts[0].text, "be brief");
  EXPECT_EQ(token(body, texts[0]), R"("be brief")");
  EXPECT_EQ(texts[1].message_index, 1u);
  EXPECT_EQ(texts[1].text, "hello");
  EXPECT_EQ(token(body, texts[1]), R"("hello")");
}

TEST(GuardRequestTexts, ContentPartsInAnyKeyOrder) {
  const std::string body = R"({"messages":[{"role":"user","content":[)"
                           R"({"type":"text","text":"first"},)"
                           R"({"type":"image_url","image_url":{"url":"https://example.com/a.png"}},)"
                           R"({"text":"second","type":"text"},)"
                           R"({"type":"input_audio","input_audio":{"data":"AAAA","format":"wav"}}]}],"model":"m"})";
  const auto texts = extract(body);
  ASSERT_EQ(texts.size(), 2u);
  EXPECT_EQ(texts[0].text, "first");
  EXPECT_EQ(texts[1].text, "second");
  EXPECT_EQ(texts[1].message_index, 0u);
  EXPECT_EQ(token(body, texts[1]), R"("second")");
}

TEST(GuardRequestTexts, ToolMessagesAndToolCallArgumentsButNotNames) {
  const std::string body = R"({"model":"m","messages":[)"
                           R"({"role":"user","name":"Kim Minsu","content":"call me"},)"
                           R"({"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function",)"
                           R"("function":{"name":"lookup","arguments":"{\"phone\":\"010-1234-5678\"}"}}]},)"
                           R"({"role":"tool","tool_call_id":"c1","name":"lookup","content":"found 010-1234-5678"}]})";
  const auto texts = extract(body);
  ASSERT_EQ(texts.size(), 3u);
  EXPECT_EQ(texts[0].text, "call me");
  EXPECT_EQ(texts[1].message_index, 1u);
  EXPECT_EQ(texts[1].text, R"({"phone":"010-1234-5678"})");
  EXPECT_EQ(token(body, texts[1]), R"("{\"phone\":\"010-1234-5678\"}")");
  EXPECT_EQ(texts[2].message_index, 2u);
  EXPECT_EQ(texts[2].text, "found 010-1234-5678");
  for (const auto& t : texts) EXPECT_EQ(t.text.find("Kim"), std::string::npos);
}

TEST(GuardRequestTexts, EscapesKeepTheRawTokenRange) {
  // \" and \\ and a \uXXXX pair: the text is unescaped, the range still covers the raw token.
  const std::string raw = R"("say \"hi\" \uD55C\uAE00 900101-1234568 \\ end\n")";
  const std::string body = R"({"model":"m","messages":[{"role":"user","content":)" + raw + "}]}";
  const auto texts = extract(body);
  ASSERT_EQ(texts.size(), 1u);
  EXPECT_EQ(texts[0].text, "say \"hi\" \xED\x95\x9C\xEA\xB8\x80 900101-1234568 \\ end\n");  // 한글
  EXPECT_EQ(token(body, texts[0]), raw);
  EXPECT_EQ(texts[0].offset, body.find(raw));
}

TEST(GuardRequestTexts, WhitespaceAroundTokensIsNotPartOfThem) {
  const std::string body = "{ \"model\" : \"m\" ,\n  \"messages\" : [ { \"content\" :  \"a b\"  \n , \"role\":\"user\" } ] }\n";
  const auto texts = extract(body);
  ASSERT_EQ(texts.size(), 1u);
  EXPECT_EQ(token(body, texts[0]), "\"a b\"");
}

TEST(GuardRequestTexts, NothingToReadIsNotAnError) {
  EXPECT_TRUE(extract(R"({"model":"m","messages":[]})").empty());
  EXPECT_TRUE(extract(R"({"model":"m"})").empty());
  EXPECT_TRUE(extract(R"({"model":"m","messages":[{"role":"assistant","content":null}]})").empty());
  EXPECT_TRUE(extract(R"({"model":"m","tools":[{"type":"function","function":{"description":"x"}}],"messages":[]})").empty());
}

TEST(GuardRequestTexts, MalformedBodiesFail) {
  EXPECT_TRUE(fails(""));
  EXPECT_TRUE(fails("[1]"));
  EXPECT_TRUE(fails(R"({"messages":[{"content":"x"}])"));          // unterminated
  EXPECT_TRUE(fails(R"({"messages":[{"content":"x"}]} trailing)"));
  EXPECT_TRUE(fails(R"({"messages":{"content":"x"}})"));           // messages not an array
  EXPECT_TRUE(fails(R"({"messages":["x"]})"));                     // a message that is not an object
  EXPECT_TRUE(fails(R"({"messages":[{"content":42}]})"));
  EXPECT_TRUE(fails(R"({"messages":[{"content":[{"type":"text","text":7}]}]})"));
  EXPECT_TRUE(fails(R"({"messages":[{"content":["text"]}]})"));
  EXPECT_TRUE(fails(R"({"messages":[{"tool_calls":[{"function":{"arguments":{"a":1}}}]}]})"));
  EXPECT_TRUE(fails("{\"messages\":[{\"content\":\"\xff\"}]}"));  // invalid UTF-8
  EXPECT_TRUE(fails(R"({"messages":[{"content":"\uD800"}]})"));     // lone surrogate
}

TEST(GuardRequestTexts, AnthropicSystemMessagesAndToolResults) {
  const std::string body = R"({"model":"claude","max_tokens":10,)"
                           R"("system":[{"type":"text","text":"sys one"},{"type":"text","text":"sys two"}],)"
                           R"("messages":[{"role":"user","content":"plain"},)"
                           R"({"role":"assistant","content":[{"type":"text","text":"block"},)"
                           R"({"type":"tool_use","id":"t1","name":"f","input":{"q":"not read"}}]},)"
                           R"({"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"result str"},)"
                           R"({"type":"tool_result","tool_use_id":"t2","content":[{"type":"text","text":"result block"}]},)"
                           R"({"type":"image","source":{"type":"base64","media_type":"image/png","data":"AAAA"}}]}]})";
  const auto texts = extract(body, RequestFormat::anthropic_messages);
  std::vector<std::pair<std::uint32_t, std::string>> got;
  for (const auto& t : texts) got.emplace_back(t.message_index, t.text);
  const std::vector<std::pair<std::uint32_t, std::string>> want = {
      {kSystemText, "sys one"}, {kSystemText, "sys two"}, {0, "plain"},
      {1, "block"},             {2, "result str"},        {2, "result block"}};
  EXPECT_EQ(got, want);
  EXPECT_EQ(token(body, texts[4]), R"("result str")");

  const std::string system_string = R"({"system":"be \"nice\"","messages":[]})";
  const auto one = extract(system_string, RequestFormat::anthropic_messages);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].message_index, kSystemText);
  EXPECT_EQ(one[0].text, "be \"nice\"");
  EXPECT_EQ(token(system_string, one[0]), R"("be \"nice\"")");

  EXPECT_TRUE(fails(R"({"system":5,"messages":[]})", RequestFormat::anthropic_messages));
  EXPECT_TRUE(fails(R"({"messages":[{"content":[{"type":"text","text":1}]}]})", RequestFormat::anthropic_messages));
}

// The OpenAI walker does not read Anthropic's top-level system (and vice versa): format matters.
TEST(GuardRequestTexts, FormatSelectsTheFields) {
  const std::string body = R"({"system":"top","messages":[{"role":"user","content":"m"}]})";
  EXPECT_EQ(extract(body).size(), 1u);
  EXPECT_EQ(extract(body, RequestFormat::anthropic_messages).size(), 2u);
}

}  // namespace
}  // namespace baton::guard
