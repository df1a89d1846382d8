#include "core/ascii.hpp"

#include <gtest/gtest.h>

#include <string>

namespace baton {
namespace {

TEST(Ascii, CaseInsensitiveEqualityOfTokens) {
  EXPECT_TRUE(ascii_iequals("chunked", "CHUNKED"));
  EXPECT_TRUE(ascii_iequals("HtTp://", "http://"));
  EXPECT_TRUE(ascii_iequals("", ""));
  EXPECT_FALSE(ascii_iequals("chunked", "chunke"));
  EXPECT_FALSE(ascii_iequals("chunked", "chunkeD "));
  EXPECT_FALSE(ascii_iequals("[", "{"));  // 32 apart like a case pair, but not letters
  EXPECT_FALSE(ascii_iequals("\xc3\xa9", "\xc3\x89"));  // no folding outside ASCII
}

TEST(Ascii, ComparesOnlyTheViewsBytes) {
  // A view into a larger buffer that differs from the other side only in case: reading one byte
  // past either view would see the '!' (the overread Beast's iequals has).
  const std::string buffer = "htTp://!";
  EXPECT_TRUE(ascii_iequals(std::string_view(buffer).substr(0, 7), "http://"));
}

}  // namespace
}  // namespace baton
