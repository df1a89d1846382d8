#include "core/json_text.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <initializer_list>
#include <limits>
#include <utility>

namespace baton {
namespace {

std::string json_string(std::string_view value) {
  std::string out;
  append_json_string(out, value);
  return out;
}

TEST(JsonText, StringsEscapeQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(json_string(""), R"("")");
  EXPECT_EQ(json_string("plain /v1/chat/completions"), R"("plain /v1/chat/completions")");
  EXPECT_EQ(json_string("a\"b\\c"), R"("a\"b\\c")");
  EXPECT_EQ(json_string("line\nnext\r\ttab"), R"("line\nnext\r\ttab")");
  EXPECT_EQ(json_string(std::string_view("\x01x\x1f", 3)), R"("\u0001x\u001f")");
  EXPECT_EQ(json_string("주민등록번호"), "\"주민등록번호\"");  // UTF-8 passes through
  EXPECT_EQ(json_string("\"\""), R"("\"\"")");
}

TEST(JsonText, EscapesAreFoundAtEveryPositionOfLongStrings) {
  // Long strings are scanned eight bytes at a time: put each escape at every offset.
  const std::string plain = "req_0123456789abcdef-0123456789/v1/chat";
  for (std::size_t at = 0; at <= plain.size(); ++at) {
    for (const auto& [raw, escaped] : std::initializer_list<std::pair<std::string_view, std::string_view>>{
             {"\"", "\\\""}, {"\\", "\\\\"}, {"\n", "\\n"}, {std::string_view("\0", 1), "\\u0000"}, {"\x1f", "\\u001f"}}) {
      const std::string input = plain.substr(0, at) + std::string(raw) + plain.substr(at);
      const std::string expected = "\"" + plain.substr(0, at) + std::string(escaped) + plain.substr(at) + "\"";
      EXPECT_EQ(json_string(input), expected) << "escape at " << at;
    }
  }
  EXPECT_EQ(json_string("ABCDEFGHIJKLMNOP~~~~ 0x7f\x7f and 한국어"), "\"ABCDEFGHIJKLMNOP~~~~ 0x7f\x7f and 한국어\"");
}

TEST(JsonText, DecimalsAsFmtWritesThem) {
  std::string out;
  append_decimal(out, std::uint64_t{0});
  out += ' ';
  append_decimal(out, std::int64_t{-42});
  out += ' ';
  append_decimal(out, std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(out, "0 -42 -9223372036854775808");
}

TEST(JsonText, FixedAndGeneralMatchPrintfFormats) {
  std::string out;
  append_fixed(out, 0.5, 3);
  out += ' ';
  append_fixed(out, 12.34567, 3);
  out += ' ';
  append_general(out, 0.000123, 9);
  out += ' ';
  append_general(out, 1e-10, 9);
  out += ' ';
  append_general(out, 0.1 + 0.2, 9);
  out += ' ';
  append_fixed(out, 1234.0004, 3);
  out += ' ';
  append_fixed(out, 0.0, 3);
  out += ' ';
  append_fixed(out, 0.25, 1);
  EXPECT_EQ(out, "0.500 12.346 0.000123 1e-10 0.3 1234.000 0.000 0.2");
}

TEST(JsonText, NonFiniteNumbersStayValidJson) {
  std::string out;
  append_fixed(out, std::nan(""), 3);
  out += ' ';
  append_general(out, std::numeric_limits<double>::infinity(), 9);
  EXPECT_EQ(out, "0.000 0");
}

}  // namespace
}  // namespace baton
