#pragma once
// When and how long to wait before trying an upstream request again. Pure functions: the caller
// supplies the clock and the randomness, and decides whether a retry goes to the same deployment or
// the next candidate / fallback group.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace baton::routing {

struct RetryPolicy {
  unsigned max_attempts = 3;  // attempts in all, the first one included
  std::chrono::milliseconds base_backoff{100};
  std::chrono::milliseconds max_backoff{2000};  // no single wait is longer, retry-after included
};

// Worth another attempt: 408 (request timeout), 429 (rate limited) and every 5xx. Other 4xx mean the
// request itself is wrong and would fail the same way anywhere.
bool retryable_status(unsigned http_status);

// attempts_made attempts have run and the last answered `http_status`: may another one start?
bool should_retry(const RetryPolicy& policy, unsigned attempts_made, unsigned http_status);

// How long to wait after attempt number `attempt` (1-based) failed, before the next one.
// Exponential with "equal jitter": the ceiling min(max_backoff, base_backoff · 2^(attempt-1)) is split
// into a fixed half and a random half, so retries from many clients spread out but never come back
// immediately to an upstream that just said it is overloaded. `random` is any uniformly random value.
// A retry-after from the upstream replaces the computed wait, capped at max_backoff: a gateway holding
// a client's request for a minute helps no one. When the upstream asks for more than max_backoff, the
// caller should rather move to another deployment than come back early to this one.
std::chrono::milliseconds backoff(const RetryPolicy& policy, unsigned attempt, std::uint64_t random,
                                  std::optional<std::chrono::milliseconds> retry_after);

// A Retry-After header value (RFC 9110 §10.2.3): delta-seconds ("120") or an HTTP-date in any of the
// three forms a recipient must accept (IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT", RFC 850
// "Sunday, 06-Nov-94 08:49:37 GMT", asctime "Sun Nov  6 08:49:37 1994"). A date in the past is a
// zero wait. nullopt for anything else: empty, signed, fractional, trailing junk, impossible dates.
// Absurdly large delays saturate at about 68 years rather than overflow.
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view header,
                                                           std::chrono::system_clock::time_point now);

}  // namespace baton::routing
