#include "routing/health.hpp"

#include <algorithm>

namespace baton::routing {

namespace {

constexpr std::uint64_t kOpenBit = 1;
constexpr std::uint64_t kProbeBit = 2;

// Microseconds since the clock's epoch, never negative so it can be shifted into the state word.
std::int64_t to_us(Clock::time_point t) {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  return std::max<std::int64_t>(us, 0);
}

std::uint64_t pack(std::int64_t deadline_us, bool probe) {
  return (static_cast<std::uint64_t>(deadline_us) << 2) | kOpenBit | (probe ? kProbeBit : 0);
}

std::int64_t deadline_of(std::uint64_t word) { return static_cast<std::int64_t>(word >> 2); }

std::int64_t ms_to_us(std::uint32_t ms) { return static_cast<std::int64_t>(ms) * 1000; }

// Bucket word layout: bucket number (32) | successes (16) | failures (16).
constexpr std::uint64_t kCountMax = 0xffff;
std::uint32_t bucket_number(std::uint64_t w) { return static_cast<std::uint32_t>(w >> 32); }
std::uint64_t successes_of(std::uint64_t w) { return (w >> 16) & kCountMax; }
std::uint64_t failures_of(std::uint64_t w) { return w & kCountMax; }

}  // namespace

CircuitBreaker::CircuitBreaker(const BreakerConfig& config)
    : config_(config),
      bucket_us_(std::max<std::int64_t>(
          ms_to_us(config.error_rate ? config.error_rate->window_ms : 0) / static_cast<std::int64_t>(kBuckets), 1)) {}

bool CircuitBreaker::try_acquire_slow(Clock::time_point now) {
  std::uint64_t word = word_.load(std::memory_order_acquire);
  const std::int64_t now_us = to_us(now);
  for (;;) {
    if ((word & kOpenBit) == 0) return true;
    // Cooling down, or the probe is out and its lease has not expired.
    if (now_us < deadline_of(word)) return false;
    // Cooldown over (or the previous probe's lease expired): whoever swaps in the probe bit is the probe.
    const std::uint64_t probing = pack(now_us + ms_to_us(config_.probe_timeout_ms), true);
    if (word_.compare_exchange_weak(word, probing, std::memory_order_acq_rel, std::memory_order_acquire)) return true;
  }
}

void CircuitBreaker::on_success(Clock::time_point now) {
  const std::int64_t now_us = to_us(now);
  // Read before writing: every worker reports successes here, and a store would bounce the line.
  if (consecutive_.load(std::memory_order_relaxed) != 0) consecutive_.store(0, std::memory_order_relaxed);
  record_outcome(now_us, false);
  std::uint64_t word = word_.load(std::memory_order_acquire);
  while ((word & kOpenBit) != 0 && (word & kProbeBit) != 0) {
    if (word_.compare_exchange_weak(word, 0, std::memory_order_acq_rel, std::memory_order_acquire)) {
      // Failures from before the breaker opened must not count against the recovered deployment.
      reset_window();
      consecutive_.store(0, std::memory_order_relaxed);
      return;
    }
  }
}

void CircuitBreaker::on_failure(Clock::time_point now) {
  const std::int64_t now_us = to_us(now);
  record_outcome(now_us, true);
  std::uint64_t word = word_.load(std::memory_order_acquire);
  if ((word & kOpenBit) != 0) {
    // Only the probe's failure reopens; other failures while open are late results of old requests.
    while ((word & kOpenBit) != 0 && (word & kProbeBit) != 0) {
      if (word_.compare_exchange_weak(word, pack(now_us + ms_to_us(config_.cooldown_ms), false),
                                      std::memory_order_acq_rel, std::memory_order_acquire)) {
        return;
      }
    }
    return;
  }
  const std::uint32_t streak = consecutive_.fetch_add(1, std::memory_order_relaxed) + 1;
  const bool streak_trips = config_.consecutive_failures > 0 && streak >= config_.consecutive_failures;
  if (streak_trips || error_rate_exceeded(now_us)) open(word, now_us);
}

void CircuitBreaker::open(std::uint64_t from_word, std::int64_t now_us) {
  // A failed CAS means another worker opened it first (or a probe closed it): either way, done.
  if (word_.compare_exchange_strong(from_word, pack(now_us + ms_to_us(config_.cooldown_ms), false),
                                    std::memory_order_acq_rel, std::memory_order_acquire)) {
    consecutive_.store(0, std::memory_order_relaxed);
  }
}

void CircuitBreaker::release_probe() {
  std::uint64_t word = word_.load(std::memory_order_acquire);
  while ((word & kOpenBit) != 0 && (word & kProbeBit) != 0) {
    // Deadline 0: the cooldown is already over, so the next try_acquire may take the probe at once.
    if (word_.compare_exchange_weak(word, pack(0, false), std::memory_order_acq_rel, std::memory_order_acquire)) return;
  }
}

CircuitBreaker::State CircuitBreaker::state(Clock::time_point now) const {
  const std::uint64_t word = word_.load(std::memory_order_acquire);
  if ((word & kOpenBit) == 0) return State::closed;
  if ((word & kProbeBit) != 0) return State::half_open;
  return to_us(now) < deadline_of(word) ? State::open : State::half_open;
}

std::optional<std::int64_t> CircuitBreaker::open_deadline_us() const {
  const std::uint64_t word = word_.load(std::memory_order_acquire);
  if ((word & kOpenBit) == 0 || (word & kProbeBit) != 0) return std::nullopt;
  return deadline_of(word);
}

void CircuitBreaker::force_open_until(Clock::time_point until) {
  const std::int64_t until_us = to_us(until);
  std::uint64_t word = word_.load(std::memory_order_acquire);
  for (;;) {
    if ((word & kOpenBit) != 0 && ((word & kProbeBit) != 0 || deadline_of(word) >= until_us)) return;
    if (word_.compare_exchange_weak(word, pack(until_us, false), std::memory_order_acq_rel,
                                    std::memory_order_acquire)) {
      // As in open(): a streak from before the cooldown must not trip the breaker again after it.
      consecutive_.store(0, std::memory_order_relaxed);
      return;
    }
  }
}

void CircuitBreaker::record_outcome(std::int64_t now_us, bool failure) {
  if (!config_.error_rate) return;
  const auto number = static_cast<std::uint32_t>(now_us / bucket_us_);
  std::atomic<std::uint64_t>& bucket = window_[number % kBuckets];
  std::uint64_t word = bucket.load(std::memory_order_relaxed);
  for (;;) {
    std::uint64_t successes = 0;
    std::uint64_t failures = 0;
    if (bucket_number(word) == number) {
      successes = successes_of(word);
      failures = failures_of(word);
    }
    // Saturate: 65 535 outcomes per bucket is far past any min_requests, the ratio still holds.
    if (failure && failures < kCountMax) ++failures;
    if (!failure && successes < kCountMax) ++successes;
    const std::uint64_t next = (static_cast<std::uint64_t>(number) << 32) | (successes << 16) | failures;
    if (bucket.compare_exchange_weak(word, next, std::memory_order_relaxed)) return;
  }
}

bool CircuitBreaker::error_rate_exceeded(std::int64_t now_us) const {
  if (!config_.error_rate) return false;
  const auto current = static_cast<std::uint32_t>(now_us / bucket_us_);
  std::uint64_t requests = 0;
  std::uint64_t failures = 0;
  for (const auto& bucket : window_) {
    const std::uint64_t word = bucket.load(std::memory_order_relaxed);
    // Unsigned difference: buckets from the future (a worker with a later `now`) wrap and are skipped.
    if (word == 0 || current - bucket_number(word) >= kBuckets) continue;
    requests += successes_of(word) + failures_of(word);
    failures += failures_of(word);
  }
  const ErrorRateWindow& rate = *config_.error_rate;
  return requests >= rate.min_requests && requests > 0 &&
         static_cast<double>(failures) >= rate.failure_ratio * static_cast<double>(requests);
}

void CircuitBreaker::reset_window() {
  for (auto& bucket : window_) bucket.store(0, std::memory_order_relaxed);
}

std::string_view to_string(CircuitBreaker::State state) {
  switch (state) {
    case CircuitBreaker::State::closed: return "closed";
    case CircuitBreaker::State::open: return "open";
    case CircuitBreaker::State::half_open: return "half_open";
  }
  return "unknown";
}

std::string_view to_string(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::connect: return "connect";
    case ErrorKind::timeout: return "timeout";
    case ErrorKind::rate_limited: return "rate_limited";
    case ErrorKind::server_error: return "server_error";
    case ErrorKind::protocol: return "protocol";
    case ErrorKind::stream: return "stream";
    case ErrorKind::other: return "other";
  }
  return "unknown";
}

namespace {
void fold_ewma(std::atomic<double>& average, double sample) {
  double old = average.load(std::memory_order_relaxed);
  double next = 0;
  do {
    next = old < 0 ? sample : old + DeploymentHealth::kEwmaAlpha * (sample - old);
  } while (!average.compare_exchange_weak(old, next, std::memory_order_relaxed));
}
}  // namespace

void DeploymentHealth::record_latency(std::uint64_t ttft_us, std::uint64_t total_us, Clock::time_point now) {
  if (ttft_us > 0) fold_ewma(ttft_us_, static_cast<double>(ttft_us));
  fold_ewma(total_us_, static_cast<double>(total_us));
  // Relaxed: readers use this as a staleness hint; a slightly old value only delays exploration.
  last_latency_at_.store(now.time_since_epoch().count(), std::memory_order_relaxed);
}

void DeploymentHealth::record_error(ErrorKind kind) {
  const auto k = static_cast<std::size_t>(kind);
  if (k >= kErrorKindCount) return;
  error_counts_[k].fetch_add(1, std::memory_order_relaxed);
  std::uint64_t ring = recent_errors_.load(std::memory_order_relaxed);
  while (!recent_errors_.compare_exchange_weak(ring, (ring << 8) | (k + 1), std::memory_order_relaxed)) {
  }
}

std::uint64_t DeploymentHealth::error_count(ErrorKind kind) const {
  const auto k = static_cast<std::size_t>(kind);
  return k < kErrorKindCount ? error_counts_[k].load(std::memory_order_relaxed) : 0;
}

RecentErrors DeploymentHealth::recent_errors() const {
  RecentErrors out;
  std::uint64_t ring = recent_errors_.load(std::memory_order_relaxed);
  for (; out.count < RecentErrors::kCapacity && (ring & 0xff) != 0; ring >>= 8) {
    out.kinds[out.count++] = static_cast<ErrorKind>((ring & 0xff) - 1);
  }
  return out;
}

InFlightGuard& InFlightGuard::operator=(InFlightGuard&& other) noexcept {
  if (this != &other) {
    release();
    health_ = other.health_;
    other.health_ = nullptr;
  }
  return *this;
}

void InFlightGuard::release() {
  if (health_ != nullptr) health_->in_flight_.fetch_sub(1, std::memory_order_relaxed);
  health_ = nullptr;
}

}  // namespace baton::routing
