#pragma once
// What baton knows about one deployment's health, shared by every worker thread: requests in flight,
// latency averages, recent error kinds and a circuit breaker. Everything is a lock-free atomic so the
// request path never takes a mutex; nothing here reads the clock or does I/O — callers pass `now`.
#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>

namespace baton::routing {

using Clock = std::chrono::steady_clock;

// Trip on a failure ratio over a sliding window, for deployments that fail often but not in a row.
struct ErrorRateWindow {
  double failure_ratio = 0.5;        // open when failures / requests >= this ...
  std::uint32_t min_requests = 20;   // ... over at least this many requests ...
  std::uint32_t window_ms = 30'000;  // ... within this window (kept as 10 buckets, so ±10% at its edge)
};

struct BreakerConfig {
  std::uint32_t consecutive_failures = 5;  // open after this many failures in a row; 0 = never on a streak
  std::optional<ErrorRateWindow> error_rate;
  std::uint32_t cooldown_ms = 30'000;  // how long an open breaker rejects before it admits a probe
  // A probe whose outcome is never reported (its caller lost it) counts as failed after this long,
  // so one leaked probe cannot keep a deployment out of rotation forever.
  std::uint32_t probe_timeout_ms = 60'000;
};

// closed: all requests pass. open: none pass until the cooldown ends. half_open: the cooldown ended and
// exactly one probe request is let through; its success closes the breaker, its failure reopens it.
//
// The whole state is one 64-bit word (open bit, probe-taken bit, a deadline in microseconds) changed
// only by compare-and-swap, so "take the probe" and "reopen with a new cooldown" can never interleave
// into two probes or a probe admitted during the new cooldown.
//
// Results are not tied to the request that produced them, so: a failure while open and cooling down
// (a request admitted before the breaker opened) is ignored; a success while the probe is out closes
// the breaker even if it came from another late request — either is evidence the deployment answers.
class CircuitBreaker {
 public:
  enum class State : std::uint8_t { closed, open, half_open };

  explicit CircuitBreaker(const BreakerConfig& config = {});
  CircuitBreaker(const CircuitBreaker&) = delete;
  CircuitBreaker& operator=(const CircuitBreaker&) = delete;

  // May a request go to this deployment now? True when closed, or when this call took the one
  // half-open probe; the caller must then report on_success/on_failure, or release_probe().
  // Inline fast path: a closed breaker is what nearly every request meets.
  bool try_acquire(Clock::time_point now) {
    return (word_.load(std::memory_order_acquire) & 1) == 0 || try_acquire_slow(now);
  }
  void on_success(Clock::time_point now);
  void on_failure(Clock::time_point now);
  // The probe was taken but no request went out (e.g. another filter rejected the deployment).
  void release_probe();
  State state(Clock::time_point now) const;
  const BreakerConfig& config() const { return config_; }

  // For sharing breaker state between replicas (routing/shared_health). The deadline (µs on Clock)
  // of an open breaker that is not probing; nullopt when closed or while a probe is out. The
  // deadline may already have passed (the next try_acquire takes the probe).
  std::optional<std::int64_t> open_deadline_us() const;
  // Another replica saw this deployment fail: open until `until` unless the breaker is already open
  // at least that long, or a local probe is out (its outcome is fresher evidence than the report).
  void force_open_until(Clock::time_point until);

 private:
  static constexpr std::size_t kBuckets = 10;

  bool try_acquire_slow(Clock::time_point now);
  void record_outcome(std::int64_t now_us, bool failure);
  bool error_rate_exceeded(std::int64_t now_us) const;
  void reset_window();
  void open(std::uint64_t from_word, std::int64_t now_us);

  const BreakerConfig config_;
  const std::int64_t bucket_us_;
  std::atomic<std::uint64_t> word_{0};  // bit 0: open, bit 1: probe taken, bits 2..63: deadline (µs)
  std::atomic<std::uint32_t> consecutive_{0};
  // Each bucket packs (bucket number:32 | successes:16 | failures:16) so a stale bucket is reset and
  // counted into by a single CAS, with no torn updates between the reset and the count.
  std::array<std::atomic<std::uint64_t>, kBuckets> window_{};
};

std::string_view to_string(CircuitBreaker::State state);

// Why an upstream attempt failed, as far as health is concerned (the caller maps its error codes).
enum class ErrorKind : std::uint8_t { connect, timeout, rate_limited, server_error, protocol, stream, other };
inline constexpr std::size_t kErrorKindCount = 7;
std::string_view to_string(ErrorKind kind);

// The newest error first; `count` of `kinds` are valid.
struct RecentErrors {
  static constexpr std::size_t kCapacity = 8;
  std::array<ErrorKind, kCapacity> kinds{};
  std::size_t count = 0;
};

// One per deployment, shared by all workers for the lifetime of a route table. Aligned to a cache line
// so two deployments' counters never share one between cores.
class alignas(64) DeploymentHealth {
 public:
  static constexpr double kEwmaAlpha = 0.2;  // weight of the newest sample: ~5-sample memory

  explicit DeploymentHealth(const BreakerConfig& breaker = {}) : breaker_(breaker) {}
  DeploymentHealth(const DeploymentHealth&) = delete;
  DeploymentHealth& operator=(const DeploymentHealth&) = delete;

  CircuitBreaker& breaker() { return breaker_; }
  const CircuitBreaker& breaker() const { return breaker_; }

  // A completed request's time to first token and total time. ttft_us == 0 means not measured.
  // Each average is folded in with a CAS loop, not a load + store: two workers finishing at once
  // would otherwise lose a sample; the loop only contends between completions of one deployment.
  void record_latency(std::uint64_t ttft_us, std::uint64_t total_us, Clock::time_point now);
  // Inline: least-latency reads these for every candidate of every pick.
  double ewma_ttft_us() const { return std::max(ttft_us_.load(std::memory_order_relaxed), 0.0); }  // 0: none yet
  double ewma_total_us() const { return std::max(total_us_.load(std::memory_order_relaxed), 0.0); }
  bool has_ttft() const { return ttft_us_.load(std::memory_order_relaxed) >= 0; }
  bool has_latency() const { return total_us_.load(std::memory_order_relaxed) >= 0; }
  // When record_latency last ran; nullopt before the first sample.
  std::optional<Clock::time_point> last_latency_at() const {
    const Clock::rep at = last_latency_at_.load(std::memory_order_relaxed);
    if (at == kNever) return std::nullopt;
    return Clock::time_point(Clock::duration(at));
  }

  std::int64_t in_flight() const { return in_flight_.load(std::memory_order_relaxed); }

  void record_error(ErrorKind kind);
  std::uint64_t error_count(ErrorKind kind) const;
  RecentErrors recent_errors() const;

 private:
  friend class InFlightGuard;
  static constexpr Clock::rep kNever = std::numeric_limits<Clock::rep>::min();

  std::atomic<std::int64_t> in_flight_{0};
  std::atomic<double> ttft_us_{-1.0};  // negative: no sample yet
  std::atomic<double> total_us_{-1.0};
  std::atomic<Clock::rep> last_latency_at_{kNever};
  std::array<std::atomic<std::uint64_t>, kErrorKindCount> error_counts_{};
  std::atomic<std::uint64_t> recent_errors_{0};  // 8 × (kind + 1) bytes, newest in the low byte
  CircuitBreaker breaker_;
};

// Counts a request in flight for as long as it lives. Movable, so it can travel with a request's
// coroutine frame; relaxed ordering because the counter is a load hint, not a synchronisation point.
class InFlightGuard {
 public:
  explicit InFlightGuard(DeploymentHealth& health) : health_(&health) {
    health_->in_flight_.fetch_add(1, std::memory_order_relaxed);
  }
  InFlightGuard(InFlightGuard&& other) noexcept : health_(other.health_) { other.health_ = nullptr; }
  InFlightGuard& operator=(InFlightGuard&& other) noexcept;
  InFlightGuard(const InFlightGuard&) = delete;
  InFlightGuard& operator=(const InFlightGuard&) = delete;
  ~InFlightGuard() { release(); }

  // Stop counting before destruction (e.g. the response is fully relayed but the frame lives on).
  void release();

 private:
  DeploymentHealth* health_;
};

}  // namespace baton::routing
