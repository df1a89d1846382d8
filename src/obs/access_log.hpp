#pragma once
// JSON-lines access log. Each worker appends formatted lines to its own buffer (an uncontended
// lock, no syscall, no thread wake-up per request); a background thread writes the buffers out
// every 200 ms and at shutdown. If the writer falls behind and a buffer reaches its cap, further
// lines are dropped and counted (baton_access_log_dropped_total) rather than stalling requests.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

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
  // The PII guard's decision (guard::to_string(Action)) and per-type counts ("KR_RRN:2,EMAIL:1",
  // Decision::types_summary()); never values. Printed only when non-empty.
  std::string_view pii_action;
  std::string_view pii_types;
  std::string_view key_id;  // the virtual key's id ("key_…"), never its secret; printed when set
  double cost_usd = 0;      // printed when a key is set
};

// Formats one record as a JSON line (with the trailing newline) onto `out`.
void format_access_record(std::string& out, const AccessRecord& record);

class AccessLog {
 public:
  static constexpr std::size_t kMaxBufferedBytes = 8 * 1024 * 1024;

  // target: "stdout", "off", or a file path. `shards`: one per worker. Returns nullptr and sets
  // `error` when the file cannot be opened.
  static std::unique_ptr<AccessLog> open(const std::string& target, unsigned shards, std::string& error);
  ~AccessLog();

  void write(unsigned shard, const AccessRecord& record);
  void flush();
  std::uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  bool enabled() const { return fd_ >= 0; }

 private:
  struct Shard {
    std::mutex mutex;
    std::string buffer;
  };
  void run_flusher();

  int fd_ = -1;
  bool owns_fd_ = false;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::atomic<std::uint64_t> dropped_{0};
  std::mutex flush_mutex_;  // serialises writers of fd_
  std::mutex stop_mutex_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::thread flusher_;
};

}  // namespace baton::obs
