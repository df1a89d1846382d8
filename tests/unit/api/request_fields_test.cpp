#include "api/openai/request_fields.hpp"

#include <gtest/gtest.h>

namespace baton::api::openai {
namespace {

std::string apply_splices(const std::string& body, const std::vector<Splice>& splices) {
  std::string out;
  std::size_t cursor = 0;
  for (const Splice& s : splices) {
    out.append(body, cursor, s.offset - cursor);
    out += s.text;
    cursor = s.offset + s.length;
  }
  out.append(body, cursor);
  return out;
}

std::string forward(const std::string& body, bool force_usage) {
  RequestFields fields;
  Error error;
  EXPECT_TRUE(inspect_request(body, Endpoint::chat_completions, fields, error)) << error.message;
  return apply_splices(body, upstream_body_splices(fields, R"("up-model")", force_usage));
}

TEST(RequestFields, OnlyTheModelChangesByteForByte) {
  const std::string body = R"({ "model" : "alias",  "messages":[{"role":"user","content":"안녕 \"x\""}], "extra":{"k":[1,2]} })";
  EXPECT_EQ(forward(body, false),
            R"({ "model" : "up-model",  "messages":[{"role":"user","content":"안녕 \"x\""}], "extra":{"k":[1,2]} })");
}

TEST(RequestFields, StreamWithoutOptionsGetsIncludeUsage) {
  const std::string body = R"({"model":"a","stream":true,"messages":[]})";
  RequestFields fields;
  Error error;
  ASSERT_TRUE(inspect_request(body, Endpoint::chat_completions, fields, error));
  EXPECT_TRUE(fields.stream);
  EXPECT_FALSE(fields.include_usage);
  EXPECT_EQ(forward(body, true), R"({"model":"up-model","stream":true,"messages":[],"stream_options":{"include_usage":true}})");
}

TEST(RequestFields, StreamOptionsVariantsAreEditedInPlace) {
  EXPECT_EQ(forward(R"({"model":"a","stream":true,"stream_options":{"include_usage":false},"messages":[]})", true),
            R"({"model":"up-model","stream":true,"stream_options":{"include_usage":true},"messages":[]})");
  EXPECT_EQ(forward(R"({"model":"a","stream":true,"stream_options":{},"messages":[]})", true),
            R"({"model":"up-model","stream":true,"stream_options":{"include_usage":true},"messages":[]})");
  EXPECT_EQ(forward(R"({"model":"a","stream":true,"stream_options":{"x":1},"messages":[]})", true),
            R"({"model":"up-model","stream":true,"stream_options":{"include_usage":true,"x":1},"messages":[]})");
  EXPECT_EQ(forward(R"({"model":"a","stream":true,"stream_options":null,"messages":[]})", true),
            R"({"model":"up-model","stream":true,"stream_options":{"include_usage":true},"messages":[]})");
  // Already asked for by the client: untouched.
  const std::string asked = R"({"model":"a","stream":true,"stream_options":{"include_usage":true},"messages":[]})";
  EXPECT_EQ(forward(asked, true), R"({"model":"up-model","stream":true,"stream_options":{"include_usage":true},"messages":[]})");
}

struct BadCase {
  const char* body;
  ErrorCode code;
  const char* param;
};

void PrintTo(const BadCase& c, std::ostream* os) { *os << c.body; }

class RequestFieldsErrors : public ::testing::TestWithParam<BadCase> {};

TEST_P(RequestFieldsErrors, AreClientErrorsWithParam) {
  RequestFields fields;
  Error error;
  EXPECT_FALSE(inspect_request(GetParam().body, Endpoint::chat_completions, fields, error));
  EXPECT_EQ(error.code, GetParam().code) << error.message;
  EXPECT_EQ(error.param, GetParam().param);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, RequestFieldsErrors,
    ::testing::Values(BadCase{"{bad", ErrorCode::invalid_json, ""}, BadCase{"", ErrorCode::invalid_json, ""},
                      BadCase{"[1,2]", ErrorCode::invalid_json, ""},
                      BadCase{R"({"model":"a","messages":[]} trailing)", ErrorCode::invalid_json, ""},
                      BadCase{R"({"messages":[]})", ErrorCode::missing_field, "model"},
                      BadCase{R"({"model":"a"})", ErrorCode::missing_field, "messages"},
                      BadCase{R"({"model":7,"messages":[]})", ErrorCode::invalid_field, "model"},
                      BadCase{R"({"model":"a","messages":"hi"})", ErrorCode::invalid_field, "messages"},
                      BadCase{R"({"model":"a","messages":[],"stream":"yes"})", ErrorCode::invalid_field, "stream"},
                      BadCase{R"({"model":"a","messages":[],"stream_options":[]})", ErrorCode::invalid_field,
                              "stream_options"},
                      // Duplicate decisive keys are ambiguous (which one does the upstream read?).
                      BadCase{R"({"model":"cheap","messages":[],"model":"dear"})", ErrorCode::invalid_field, "model"},
                      BadCase{R"({"model":"a","messages":[],"stream":true,"stream":false})", ErrorCode::invalid_field,
                              "stream"},
                      BadCase{R"({"model":"a","messages":[],"stream_options":{},"stream_options":{}})",
                              ErrorCode::invalid_field, "stream_options"},
                      BadCase{R"({"model":"a","messages":[],"stream_options":{"include_usage":false,"include_usage":false}})",
                              ErrorCode::invalid_field, "stream_options.include_usage"}),
    [](const ::testing::TestParamInfo<BadCase>& param_info) {
      // Stable, readable names: "<index>_<error code>".
      return std::to_string(param_info.index) + "_" + std::string(error_info(param_info.param.code).code);
    });

TEST(RequestFields, EmbeddingsNeedInput) {
  RequestFields fields;
  Error error;
  EXPECT_TRUE(inspect_request(R"({"model":"e","input":"hello"})", Endpoint::embeddings, fields, error));
  EXPECT_FALSE(inspect_request(R"({"model":"e"})", Endpoint::embeddings, fields, error));
  EXPECT_EQ(error.param, "input");
}

}  // namespace
}  // namespace baton::api::openai
