#pragma once
// JSON-lines access log, written by spdlog's background thread so a slow disk never stalls a
// worker. When the queue is full the oldest line is overwritten and counted
// (baton_access_log_overruns_total) rather than blocking the request path.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace spdlog {
class logger;
}

namespace baton::obs {

struct AccessRecord {
  std::string_view request_id;
  std::string_view method;
  std::string_view path;
  unsigned status = 0;
  std::string_view model;
  std::string_view deployment;
  unsigned attempts = 0;
  bool stream = false;
  double duration_ms = 0;
  double first_token_ms = -1;  // streams only
  std::int64_t overhead_us = 0;
  std::int64_t input_tokens = -1;
  std::int64_t output_tokens = -1;
  std::string_view error_code;
  std::string_view upstream_error;
};

class AccessLog {
 public:
  // target: "stdout", "off", or a file path.
  static std::unique_ptr<AccessLog> open(const std::string& target);
  ~AccessLog();
  void write(const AccessRecord& record);
  static std::uint64_t overruns();

 private:
  std::shared_ptr<spdlog::logger> logger_;
};

}  // namespace baton::obs
