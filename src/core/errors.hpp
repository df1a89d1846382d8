#pragma once
// One registry of every error baton answers with. Each entry declares, once, the HTTP status, the
// OpenAI error `type`, the stable `code` string clients match on, and the Anthropic error type.
// Handlers never build error bodies by hand: they name an ErrorCode and a message.
#include <cstdint>
#include <string>
#include <string_view>

namespace baton {

// X(name, http_status, openai_type, anthropic_type)
#define BATON_ERRORS(X)                                                                 \
  X(invalid_json, 400, "invalid_request_error", "invalid_request_error")                \
  X(missing_field, 400, "invalid_request_error", "invalid_request_error")               \
  X(invalid_field, 400, "invalid_request_error", "invalid_request_error")               \
  X(bad_request, 400, "invalid_request_error", "invalid_request_error")                 \
  X(pii_blocked, 400, "invalid_request_error", "invalid_request_error")                 \
  X(invalid_api_key, 401, "authentication_error", "authentication_error")               \
  X(permission_denied, 403, "permission_error", "permission_error")                     \
  X(not_found, 404, "invalid_request_error", "not_found_error")                         \
  X(model_not_found, 404, "invalid_request_error", "not_found_error")                   \
  X(method_not_allowed, 405, "invalid_request_error", "invalid_request_error")          \
  X(request_timeout, 408, "invalid_request_error", "invalid_request_error")             \
  X(body_too_large, 413, "invalid_request_error", "request_too_large")                  \
  X(header_too_large, 431, "invalid_request_error", "invalid_request_error")            \
  X(rate_limited, 429, "rate_limit_error", "rate_limit_error")                          \
  X(budget_exceeded, 429, "insufficient_quota", "rate_limit_error")                     \
  X(internal_error, 500, "server_error", "api_error")                                   \
  X(upstream_connect_failed, 502, "upstream_error", "api_error")                        \
  X(upstream_protocol_error, 502, "upstream_error", "api_error")                        \
  X(upstream_stream_failed, 502, "upstream_error", "api_error")                         \
  X(upstream_connection_lost, 502, "upstream_error", "api_error")                       \
  X(no_deployment_available, 503, "server_error", "overloaded_error")                   \
  X(shutting_down, 503, "server_error", "overloaded_error")                             \
  X(limits_unavailable, 503, "server_error", "overloaded_error")                        \
  X(store_unavailable, 503, "server_error", "api_error")                                \
  X(upstream_timeout, 504, "upstream_error", "api_error")

enum class ErrorCode : std::uint8_t {
#define BATON_ERROR_ENUM(name, status, openai_type, anthropic_type) name,
  BATON_ERRORS(BATON_ERROR_ENUM)
#undef BATON_ERROR_ENUM
};

struct ErrorInfo {
  std::string_view code;
  unsigned status;
  std::string_view openai_type;
  std::string_view anthropic_type;
};

const ErrorInfo& error_info(ErrorCode code);
inline unsigned http_status(ErrorCode code) { return error_info(code).status; }

// A failure on its way to the client. `param` names the offending request field, if any.
struct Error {
  ErrorCode code;
  std::string message;
  std::string param;
};

// {"error":{"message":...,"type":...,"param":...,"code":...}}
std::string openai_error_body(const Error& error);
// {"type":"error","error":{"type":...,"message":...}}
std::string anthropic_error_body(const Error& error);

}  // namespace baton
