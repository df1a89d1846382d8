// The JSON-lines CLI/admin contract: golden input -> golden output.

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "guard/jsonl.hpp"

namespace baton::guard {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

const std::string kDataDir = std::string(BATON_TEST_DATA_DIR) + "/guard/";

class GuardJsonl : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { scanner_ = Scanner::create(validate::CivilDate{2025, 6, 1}).release(); }
  static void TearDownTestSuite() {
    delete scanner_;
    scanner_ = nullptr;
  }
  static inline Scanner* scanner_ = nullptr;
};

TEST_F(GuardJsonl, GoldenFile) {
  std::istringstream in(read_file(kDataDir + "jsonl_input.jsonl"));
  ASSERT_FALSE(in.str().empty());
  std::ostringstream out;
  const int status = scan_jsonl(*scanner_, in, out);
  EXPECT_EQ(status, kJsonlMalformedLine);  // the golden input has malformed lines on purpose
  EXPECT_EQ(out.str(), read_file(kDataDir + "jsonl_output.jsonl"));
}

TEST_F(GuardJsonl, AllGoodLinesExitZero) {
  std::istringstream in("{\"id\":\"a\",\"text\":\"010-1234-5678\"}\r\n\n   \n{\"id\":\"b\",\"text\":\"hi\"}");
  std::ostringstream out;
  EXPECT_EQ(scan_jsonl(*scanner_, in, out), kJsonlOk);
  EXPECT_EQ(out.str(),
            "{\"id\":\"a\",\"findings\":[{\"type\":\"KR_PHONE\",\"start\":0,\"end\":13}]}\n"
            "{\"id\":\"b\",\"findings\":[]}\n");
}

TEST_F(GuardJsonl, EmptyInput) {
  std::istringstream in("");
  std::ostringstream out;
  EXPECT_EQ(scan_jsonl(*scanner_, in, out), kJsonlOk);
  EXPECT_EQ(out.str(), "");
}

TEST_F(GuardJsonl, InvalidUtf8IsAnErrorLineNotACrash) {
  std::istringstream in("{\"id\":\"x\",\"text\":\"\xff\xfe\"}\n{\"id\":\"y\",\"text\":\"ok\"}\n");
  std::ostringstream out;
  EXPECT_EQ(scan_jsonl(*scanner_, in, out), kJsonlMalformedLine);
  const std::string text = out.str();
  EXPECT_EQ(text.find("{\"id\":null,\"error\":"), 0u);
  EXPECT_NE(text.find("{\"id\":\"y\",\"findings\":[]}\n"), std::string::npos);
}

TEST_F(GuardJsonl, BrokenOutputStreamIsAnIoError) {
  std::istringstream in("{\"id\":\"a\",\"text\":\"x\"}\n");
  std::ostringstream out;
  out.setstate(std::ios::badbit);
  EXPECT_EQ(scan_jsonl(*scanner_, in, out), kJsonlIoError);
}

TEST(GuardFindingsToJson, EscapesTheId) {
  const std::vector<Finding> findings = {{PiiType::kr_rrn, 12, 26, 0.99f}, {PiiType::email, 30, 43, 0.95f}};
  EXPECT_EQ(findings_to_json("req-1", findings),
            "{\"id\":\"req-1\",\"findings\":[{\"type\":\"KR_RRN\",\"start\":12,\"end\":26},"
            "{\"type\":\"EMAIL\",\"start\":30,\"end\":43}]}");
  EXPECT_EQ(findings_to_json("a\"b\\c\n\x01", {}),
            "{\"id\":\"a\\\"b\\\\c\\n\\u0001\",\"findings\":[]}");
  EXPECT_EQ(error_to_json("bad \"line\""), "{\"id\":null,\"error\":\"bad \\\"line\\\"\"}");
}

}  // namespace
}  // namespace baton::guard
