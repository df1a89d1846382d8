#pragma once
// One attempt = one upstream exchange for one deployment. Its outcome tells the proxy's loop
// whether the client already has its answer, whether another attempt may follow, or whether the
// upstream's own answer is final.
#include <optional>
#include <string>

#include "api/context.hpp"
#include "api/openai/usage.hpp"
#include "http/upstream.hpp"
#include "routing/route_table.hpp"

namespace baton::api::openai {

struct AttemptResult {
  enum class Kind : std::uint8_t {
    committed,       // the client got its answer (or a stream that ended with an error event)
    retryable,       // nothing reached the client; another deployment or a retry may answer
    final_response,  // the upstream's non-retryable answer (e.g. 400): pass it through
    client_left,     // the client hung up; nothing more to write
    continue_stream, // a committed stream lost its upstream and can be continued elsewhere
  };
  Kind kind = Kind::committed;
  http::UpstreamError error = http::UpstreamError::none;  // transport failure, when there was one
  unsigned status = 0;                                     // upstream status, when it answered
  std::string body;
  std::string content_type;
  std::string retry_after;
  std::uint64_t first_token_us = 0;
};

Error upstream_failure(const routing::Deployment& d, http::UpstreamError error);
// x-baton-deployment / x-baton-attempts / x-baton-overhead-us header lines.
std::string route_headers(const RequestContext& ctx, const routing::Deployment& d);
void record_usage(RequestContext& ctx, const Usage& usage);

// Times one upstream wait so it can be left out of x-baton-overhead-us: construct it just before
// the co_await, in a scope that ends right after. A plain object, not a wrapping coroutine, so a
// wait costs no extra frame (an open stream waits once per token).
class UpstreamWait {
 public:
  explicit UpstreamWait(RequestContext& ctx) : ctx_(ctx), begin_(Clock::now()) {}
  // From `begin`, a time the caller has just read (saves a clock read).
  UpstreamWait(RequestContext& ctx, Clock::time_point begin) : ctx_(ctx), begin_(begin) {}
  ~UpstreamWait() { ctx_.upstream_wait += Clock::now() - begin_; }
  UpstreamWait(const UpstreamWait&) = delete;
  UpstreamWait& operator=(const UpstreamWait&) = delete;

 private:
  RequestContext& ctx_;
  Clock::time_point begin_;
};

inline Clock::time_point earliest(Clock::time_point a, Clock::time_point b) { return a < b ? a : b; }

}  // namespace baton::api::openai
