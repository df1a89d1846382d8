#include "obs/access_log.hpp"

#include <fmt/format.h>
#include <spdlog/async.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>

#include "core/json_text.hpp"

namespace baton::obs {

namespace {
std::shared_ptr<spdlog::details::thread_pool> access_log_pool() {
  static auto pool = std::make_shared<spdlog::details::thread_pool>(65536, 1);
  return pool;
}
}  // namespace

std::unique_ptr<AccessLog> AccessLog::open(const std::string& target) {
  auto log = std::make_unique<AccessLog>();
  if (target == "off" || target.empty()) return log;
  spdlog::sink_ptr sink;
  if (target == "stdout") {
    sink = std::make_shared<spdlog::sinks::stdout_sink_mt>();
  } else {
    sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(target);
  }
  log->logger_ = std::make_shared<spdlog::async_logger>("access", sink, access_log_pool(),
                                                        spdlog::async_overflow_policy::overrun_oldest);
  log->logger_->set_pattern("%v");
  log->logger_->flush_on(spdlog::level::info);
  return log;
}

AccessLog::~AccessLog() {
  if (logger_) logger_->flush();
}

std::uint64_t AccessLog::overruns() { return access_log_pool()->overrun_counter(); }

void AccessLog::write(const AccessRecord& r) {
  if (!logger_) return;
  const auto now = std::chrono::system_clock::now();
  const auto epoch_ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::string line;
  line.reserve(320);
  line += fmt::format(R"({{"ts_ms":{},"request_id":)", epoch_ms);
  append_json_string(line, r.request_id);
  line += R"(,"method":)";
  append_json_string(line, r.method);
  line += R"(,"path":)";
  append_json_string(line, r.path);
  line += fmt::format(R"(,"status":{},"model":)", r.status);
  append_json_string(line, r.model);
  line += R"(,"deployment":)";
  append_json_string(line, r.deployment);
  line += fmt::format(R"(,"attempts":{},"stream":{},"duration_ms":{:.3f},"overhead_us":{})", r.attempts,
                      r.stream ? "true" : "false", r.duration_ms, r.overhead_us);
  if (r.first_token_ms >= 0) line += fmt::format(R"(,"first_token_ms":{:.3f})", r.first_token_ms);
  if (r.input_tokens >= 0) line += fmt::format(R"(,"input_tokens":{})", r.input_tokens);
  if (r.output_tokens >= 0) line += fmt::format(R"(,"output_tokens":{})", r.output_tokens);
  if (!r.error_code.empty()) {
    line += R"(,"error":)";
    append_json_string(line, r.error_code);
  }
  if (!r.upstream_error.empty()) {
    line += R"(,"upstream_error":)";
    append_json_string(line, r.upstream_error);
  }
  line += '}';
  logger_->info(line);
}

}  // namespace baton::obs
