#include "obs/access_log.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "core/json_text.hpp"

namespace baton::obs {

namespace {
constexpr auto kFlushInterval = std::chrono::milliseconds(200);

void write_fully(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return;  // a broken log sink must not take the gateway down
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}
}  // namespace

void format_access_record(std::string& out, const AccessRecord& r) {
  const auto epoch_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  auto it = std::back_inserter(out);
  fmt::format_to(it, R"({{"ts_ms":{},"request_id":)", epoch_ms);
  append_json_string(out, r.request_id);
  out += R"(,"method":)";
  append_json_string(out, r.method);
  out += R"(,"path":)";
  append_json_string(out, r.path);
  fmt::format_to(it, R"(,"status":{},"model":)", r.status);
  append_json_string(out, r.model);
  out += R"(,"deployment":)";
  append_json_string(out, r.deployment);
  fmt::format_to(it, R"(,"attempts":{},"stream":{},"duration_ms":{:.3f},"overhead_us":{})", r.attempts, r.stream,
                 r.duration_ms, r.overhead_us);
  if (r.first_token_ms >= 0) fmt::format_to(it, R"(,"first_token_ms":{:.3f})", r.first_token_ms);
  if (r.input_tokens >= 0) fmt::format_to(it, R"(,"input_tokens":{})", r.input_tokens);
  if (r.output_tokens >= 0) fmt::format_to(it, R"(,"output_tokens":{})", r.output_tokens);
  if (!r.error_code.empty()) {
    out += R"(,"error":)";
    append_json_string(out, r.error_code);
  }
  if (!r.upstream_error.empty()) {
    out += R"(,"upstream_error":)";
    append_json_string(out, r.upstream_error);
  }
  if (!r.key_id.empty()) {
    out += R"(,"key":)";
    append_json_string(out, r.key_id);
    out += fmt::format(R"(,"cost_usd":{:.9g})", r.cost_usd);
  }
  if (!r.pii_action.empty()) {
    out += R"(,"pii_action":)";
    append_json_string(out, r.pii_action);
  }
  if (!r.pii_types.empty()) {
    out += R"(,"pii_types":)";
    append_json_string(out, r.pii_types);
  }
  out += "}\n";
}

std::unique_ptr<AccessLog> AccessLog::open(const std::string& target, unsigned shards, std::string& error) {
  auto log = std::make_unique<AccessLog>();
  if (target == "off" || target.empty()) return log;
  if (target == "stdout") {
    log->fd_ = STDOUT_FILENO;
  } else {
    log->fd_ = ::open(target.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (log->fd_ < 0) {
      error = "cannot open access log " + target + ": " + std::strerror(errno);
      return nullptr;
    }
    log->owns_fd_ = true;
  }
  for (unsigned i = 0; i < std::max(1U, shards); ++i) log->shards_.push_back(std::make_unique<Shard>());
  log->flusher_ = std::thread([raw = log.get()] { raw->run_flusher(); });
  return log;
}

AccessLog::~AccessLog() {
  if (flusher_.joinable()) {
    {
      std::lock_guard lock(stop_mutex_);
      stopping_ = true;
    }
    stop_cv_.notify_all();
    flusher_.join();
  }
  flush();
  if (owns_fd_) ::close(fd_);
}

void AccessLog::write(unsigned shard, const AccessRecord& record) {
  if (fd_ < 0) return;
  thread_local std::string line;
  line.clear();
  format_access_record(line, record);
  Shard& s = *shards_[shard % shards_.size()];
  std::lock_guard lock(s.mutex);
  if (s.buffer.size() + line.size() > kMaxBufferedBytes) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  s.buffer += line;
}

void AccessLog::flush() {
  if (fd_ < 0) return;
  std::lock_guard flush_lock(flush_mutex_);
  std::string batch;
  for (auto& shard : shards_) {
    {
      std::lock_guard lock(shard->mutex);
      batch.swap(shard->buffer);  // the worker keeps appending into the (reused) empty string
    }
    write_fully(fd_, batch);
    batch.clear();
  }
}

void AccessLog::run_flusher() {
  std::unique_lock lock(stop_mutex_);
  while (!stopping_) {
    stop_cv_.wait_for(lock, kFlushInterval, [this] { return stopping_; });
    lock.unlock();
    flush();
    lock.lock();
  }
}

}  // namespace baton::obs
