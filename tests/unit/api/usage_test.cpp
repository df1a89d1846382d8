#include "api/openai/usage.hpp"

#include <gtest/gtest.h>

#include <string>

namespace baton::api::openai {
namespace {

TEST(MayCarryUsage, FindsTheKeyWhereverItIs) {
  EXPECT_TRUE(may_carry_usage(R"({"usage":{"prompt_tokens":1}})"));
  EXPECT_TRUE(may_carry_usage(R"({"id":"chatcmpl-1","choices":[],"usage":null})"));
  EXPECT_TRUE(may_carry_usage(R"("usage")"));
  // 'u's that are not the key come first: every one must be stepped over, not just the first.
  EXPECT_TRUE(may_carry_usage(R"({"object":"chunk","delta":{"content":"you use usage"},"usage":{}})"));
}

TEST(MayCarryUsage, IgnoresChunksWithoutIt) {
  EXPECT_FALSE(may_carry_usage(""));
  EXPECT_FALSE(may_carry_usage("u"));
  EXPECT_FALSE(may_carry_usage(R"({"object":"chat.completion.chunk","choices":[{"delta":{"content":"usual"}}]})"));
  EXPECT_FALSE(may_carry_usage(std::string_view(R"({"content":"usage"})").substr(0, 17)));  // no closing quote
  EXPECT_FALSE(may_carry_usage(R"({"content":"no usage here"})"));     // no opening quote before it
  EXPECT_FALSE(may_carry_usage(R"(usage")"));                          // nothing before it at all
}

TEST(MayCarryUsage, AgreesWithTheParserOnEveryPrefixOfAUsageChunk) {
  const std::string chunk = R"({"id":"x","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4}})";
  const std::size_t key = chunk.find(R"("usage")");
  for (std::size_t length = 0; length <= chunk.size(); ++length) {
    EXPECT_EQ(may_carry_usage(std::string_view(chunk).substr(0, length)), length >= key + 7) << length;
  }
  ChunkFacts facts;
  ASSERT_TRUE(read_chunk_facts(chunk, facts));
  EXPECT_TRUE(facts.has_usage);
  EXPECT_TRUE(facts.empty_choices);
  EXPECT_EQ(facts.usage.input_tokens, 3);
  EXPECT_EQ(facts.usage.output_tokens, 4);
}

}  // namespace
}  // namespace baton::api::openai
