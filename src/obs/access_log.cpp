#include "obs/access_log.hpp"

#include <fcntl.h>
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
  // Appended piece by piece: fmt's runtime format strings cost more than the rest of the line.
  const auto epoch_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  out += R"({"ts_ms":)";
  append_decimal(out, static_cast<std::int64_t>(epoch_ms));
  out += R"(,"request_id":)";
  append_json_string(out, r.request_id);
  out += R"(,"method":)";
  append_json_string(out, r.method);
  out += R"(,"path":)";
  append_json_string(out, r.path);
  out += R"(,"status":)";
  append_decimal(out, static_cast<std::uint64_t>(r.status));
  out += R"(,"model":)";
  append_json_string(out, r.model);
  out += R"(,"deployment":)";
  append_json_string(out, r.deployment);
  out += R"(,"attempts":)";
  append_decimal(out, static_cast<std::uint64_t>(r.attempts));
  out += r.stream ? R"(,"stream":true,"duration_ms":)" : R"(,"stream":false,"duration_ms":)";
  append_fixed(out, r.duration_ms, 3);
  out += R"(,"overhead_us":)";
  append_decimal(out, r.overhead_us);
  if (r.first_token_ms >= 0) {
    out += R"(,"first_token_ms":)";
    append_fixed(out, r.first_token_ms, 3);
  }
  if (r.input_tokens >= 0) {
    out += R"(,"input_tokens":)";
    append_decimal(out, r.input_tokens);
  }
  if (r.output_tokens >= 0) {
    out += R"(,"output_tokens":)";
    append_decimal(out, r.output_tokens);
  }
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
    out += R"(,"cost_usd":)";
    append_general(out, r.cost_usd, 9);
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
