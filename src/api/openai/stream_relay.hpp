#pragma once
// Relays one upstream SSE stream to the client as events arrive. The response head is sent with
// the first event ("peek before commit"): a failure before it leaves the attempt retryable; a
// failure after it ends the client's stream with an error event and a proper chunked end.
#include "api/openai/attempt.hpp"
#include "core/sse.hpp"

namespace baton::api::openai {

struct StreamPlan {
  bool strip_usage = false;  // baton asked for the usage chunk; the client did not
  Clock::time_point first_event_deadline;
  Clock::time_point total_deadline;
  std::chrono::milliseconds stall;
};

class StreamRelay {
 public:
  StreamRelay(RequestContext& ctx, http::UpstreamCall& call, const routing::Deployment& d, const StreamPlan& plan)
      : ctx_(ctx), call_(call), deployment_(d), plan_(plan) {}

  awaitable<AttemptResult> run();

 private:
  void take_events();
  awaitable<bool> flush();
  std::string stream_head();
  awaitable<AttemptResult> fail(http::UpstreamError error);
  void release_memory();

  RequestContext& ctx_;
  http::UpstreamCall& call_;
  const routing::Deployment& deployment_;
  const StreamPlan& plan_;
  SseParser sse_;
  std::string frames_;
  Usage usage_;
  bool head_sent_ = false;
  bool done_seen_ = false;
  bool failed_ = false;
  std::uint64_t first_token_us_ = 0;
};

}  // namespace baton::api::openai
