#include "core/errors.hpp"

#include <gtest/gtest.h>

namespace baton {
namespace {

TEST(Errors, RegistryMapsCodesToStatuses) {
  EXPECT_EQ(http_status(ErrorCode::invalid_json), 400U);
  EXPECT_EQ(http_status(ErrorCode::missing_field), 400U);
  EXPECT_EQ(http_status(ErrorCode::invalid_api_key), 401U);
  EXPECT_EQ(http_status(ErrorCode::model_not_found), 404U);
  EXPECT_EQ(http_status(ErrorCode::method_not_allowed), 405U);
  EXPECT_EQ(http_status(ErrorCode::body_too_large), 413U);
  EXPECT_EQ(http_status(ErrorCode::rate_limited), 429U);
  EXPECT_EQ(http_status(ErrorCode::upstream_connect_failed), 502U);
  EXPECT_EQ(http_status(ErrorCode::no_deployment_available), 503U);
  EXPECT_EQ(http_status(ErrorCode::upstream_timeout), 504U);
  EXPECT_EQ(error_info(ErrorCode::upstream_timeout).code, "upstream_timeout");
}

TEST(Errors, OpenAiBodyShape) {
  const std::string body = openai_error_body({ErrorCode::missing_field, "you must provide a \"model\"", "model"});
  EXPECT_EQ(body,
            R"({"error":{"message":"you must provide a \"model\"","type":"invalid_request_error","param":"model","code":"missing_field"}})");
  EXPECT_NE(openai_error_body({ErrorCode::not_found, "x", {}}).find(R"("param":null)"), std::string::npos);
}

TEST(Errors, AnthropicBodyShape) {
  EXPECT_EQ(anthropic_error_body({ErrorCode::body_too_large, "too big", {}}),
            R"({"type":"error","error":{"type":"request_too_large","message":"too big"}})");
}

TEST(Errors, ControlCharactersAreEscaped) {
  const std::string body = openai_error_body({ErrorCode::bad_request, std::string("a\x01\n", 3), {}});
  EXPECT_NE(body.find(R"(a\u0001\n)"), std::string::npos);
}

}  // namespace
}  // namespace baton
