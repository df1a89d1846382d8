#include "core/errors.hpp"

#include <array>

#include "core/json_text.hpp"

namespace baton {

namespace {
constexpr std::array kErrorTable = {
#define BATON_ERROR_INFO(name, status, openai_type, anthropic_type) \
  ErrorInfo{#name, status, openai_type, anthropic_type},
    BATON_ERRORS(BATON_ERROR_INFO)
#undef BATON_ERROR_INFO
};
}  // namespace

const ErrorInfo& error_info(ErrorCode code) { return kErrorTable[static_cast<std::size_t>(code)]; }

std::string openai_error_body(const Error& error) {
  const ErrorInfo& info = error_info(error.code);
  std::string out;
  out.reserve(96 + error.message.size());
  out += R"({"error":{"message":)";
  append_json_string(out, error.message);
  out += R"(,"type":)";
  append_json_string(out, info.openai_type);
  out += R"(,"param":)";
  if (error.param.empty()) {
    out += "null";
  } else {
    append_json_string(out, error.param);
  }
  out += R"(,"code":)";
  append_json_string(out, info.code);
  out += "}}";
  return out;
}

std::string anthropic_error_body(const Error& error) {
  const ErrorInfo& info = error_info(error.code);
  std::string out = R"({"type":"error","error":{"type":)";
  append_json_string(out, info.anthropic_type);
  out += R"(,"message":)";
  append_json_string(out, error.message);
  out += "}}";
  return out;
}

}  // namespace baton
