#pragma once
// Relays one upstream SSE stream to the client as events arrive. The response head is sent with
// the first event ("peek before commit"): a failure before it leaves the attempt retryable. After
// it, a failure either hands the stream to a continuation on another deployment (when one could
// take over and the answer can be resumed) or ends the client's stream with an error event and a
// proper chunked end — never a silent cut.
#include <memory>
#include <vector>

#include "api/openai/attempt.hpp"
#include "core/sse.hpp"
#include "guard/redaction.hpp"

namespace baton::api::openai {

struct StreamPlan {
  bool strip_usage = false;  // baton asked for the usage chunk; the client did not
  Clock::time_point first_event_deadline;
  Clock::time_point total_deadline;
  std::chrono::milliseconds stall;
};

// What every attempt of one streamed request shares once the client's stream has started.
struct StreamState {
  bool continuation_enabled = false;  // another deployment could take over mid-stream
  bool client_wants_usage = false;
  std::uint64_t est_prompt_tokens = 0;
  bool head_sent = false;
  bool continuing = false;  // the current attempt continues an earlier one
  unsigned continuations = 0;
  std::string stream_id;  // the first attempt's "id" token: continuations are rewritten to it
  std::string text;       // assistant content streamed so far
  std::string echo;       // prefill text a continuation may repeat at its start (llama.cpp does)
  bool tool_calls = false;
  bool finished = false;  // a finish_reason was streamed
  Usage usage;            // summed over attempts
  std::uint64_t first_token_us = 0;
  const guard::Redaction* redaction = nullptr;  // the guard redacted: put the values back
  std::vector<std::unique_ptr<guard::StreamRestorer>> restorers;  // one per choice index
  guard::StreamRestorer* restorer_for(std::uint32_t choice);

  // Chunks are parsed (rather than relayed as opaque bytes) when something needs their content.
  bool tracked() const { return continuation_enabled || redaction != nullptr; }
};

class StreamRelay {
 public:
  StreamRelay(RequestContext& ctx, http::UpstreamCall& call, const routing::Deployment& d, const StreamPlan& plan,
              StreamState& state)
      : ctx_(ctx), call_(call), deployment_(d), plan_(plan), state_(state) {}

  awaitable<AttemptResult> run();

  // Ends a committed stream with an error event (no deployment could continue it).
  static awaitable<void> end_with_error(RequestContext& ctx, const Error& error);

 private:
  void take_events();
  void take_event_tracked(const SseEvent& event);
  void account_attempt_usage();
  void append_usage_chunk();
  void append_content_chunk(std::uint32_t choice, std::string_view content);
  awaitable<bool> flush();
  std::string stream_head();
  awaitable<AttemptResult> fail(http::UpstreamError error);
  void release_memory();

  RequestContext& ctx_;
  http::UpstreamCall& call_;
  const routing::Deployment& deployment_;
  const StreamPlan& plan_;
  StreamState& state_;
  SseParser sse_;
  std::string frames_;
  Usage attempt_usage_;           // this attempt's usage chunk, if it sent one
  std::uint64_t attempt_deltas_ = 0;  // content chunks this attempt (≈ tokens when no usage came)
  bool done_seen_ = false;
  bool failed_ = false;
  bool garbage_ = false;  // an event that is not a JSON chunk (tracked streams only)
};

}  // namespace baton::api::openai
