#include "api/openai/stream_relay.hpp"

#include <fmt/format.h>

#include "core/json_text.hpp"
#include "obs/metrics.hpp"

namespace baton::api::openai {

namespace {
// "<size in hex>\r\n": the line that opens a chunk of the chunked encoding (no fmt, no allocation).
class ChunkSizeLine {
 public:
  explicit ChunkSizeLine(std::size_t size) {
    static constexpr char kHex[] = "0123456789abcdef";
    char digits[16];
    std::size_t n = 0;
    do {
      digits[n++] = kHex[size & 0xF];
      size >>= 4;
    } while (size != 0);
    while (n > 0) text_[length_++] = digits[--n];
    text_[length_++] = '\r';
    text_[length_++] = '\n';
  }
  std::string_view text() const { return {text_.data(), length_}; }

 private:
  std::array<char, 20> text_{};
  std::size_t length_ = 0;
};
}  // namespace

guard::StreamRestorer* StreamState::restorer_for(std::uint32_t choice) {
  if (redaction == nullptr || choice > 128) return nullptr;
  if (restorers.size() <= choice) restorers.resize(choice + 1);
  if (!restorers[choice]) restorers[choice] = std::make_unique<guard::StreamRestorer>(*redaction);
  return restorers[choice].get();
}

awaitable<AttemptResult> StreamRelay::run() {
  auto deadline = plan_.first_event_deadline;
  bool upstream_finished = false;
  http::UpstreamError failure = http::UpstreamError::none;
  while (failure == http::UpstreamError::none) {
    std::string& body = call_.parser().body();
    if (!body.empty()) {
      sse_.append(body);
      body.clear();
    }
    take_events();
    // Events before a broken one still reach the client (a continuation's prefill includes them).
    const bool broken = sse_.overflowed() || garbage_;
    if (broken) done_seen_ = false;
    // Bytes already waiting upstream join this write: one client write per burst, not per read.
    const bool read_on = !broken && !done_seen_ && !upstream_finished && call_.more_pending() &&
                         frames_.size() < 64 * 1024;
    if (!read_on && (!frames_.empty() || done_seen_)) {
      if (!co_await flush()) {
        call_.abort();  // the client left: closing the upstream connection cancels its work
        co_return AttemptResult{AttemptResult::Kind::client_left};
      }
      deadline = earliest(Clock::now() + plan_.stall, plan_.total_deadline);
    }
    if (broken) {
      failure = http::UpstreamError::protocol;
      break;
    }
    if (done_seen_) break;
    if (upstream_finished) {
      failure = http::UpstreamError::reset;  // ended without [DONE]
      break;
    }
    if (call_.can_wait_readable()) {
      // Thousands of streams may sit waiting for their first token (a long prompt's prefill) or
      // between tokens at once: hold no buffers while waiting. (When bytes are already waiting,
      // the read below would only allocate them again.)
      release_memory();
      const UpstreamWait waiting(ctx_);
      auto [wait_ec] = co_await call_.wait_readable(deadline);
      failure = call_.wait_readable_result(wait_ec);
    }
    if (failure != http::UpstreamError::none) break;
    {
      const UpstreamWait reading(ctx_);
      failure = co_await call_.read_body_some(deadline, upstream_finished);
    }
  }
  // One result for both ends: this frame lives as long as the stream.
  AttemptResult result{AttemptResult::Kind::committed};
  if (failure != http::UpstreamError::none) {
    // GCC 12: no `co_return co_await` of a non-trivial type (see http/asio.hpp).
    result = co_await fail(failure);
    co_return result;
  }
  account_attempt_usage();
  record_usage(ctx_, state_.usage);
  call_.finish();
  result.status = 200;
  result.first_token_us = state_.first_token_us;
  co_return result;
}

// Adds this attempt's tokens to the request's total; an attempt cut short reported no usage, so
// its prompt is estimated and its completion counted in content chunks.
void StreamRelay::account_attempt_usage() {
  if (!state_.continuation_enabled) {
    state_.usage = attempt_usage_;  // exactly what the upstream reported (-1: nothing)
    return;
  }
  const bool reported = attempt_usage_.input_tokens >= 0;
  const std::int64_t input = reported ? attempt_usage_.input_tokens : static_cast<std::int64_t>(state_.est_prompt_tokens);
  const std::int64_t output =
      attempt_usage_.output_tokens >= 0 ? attempt_usage_.output_tokens : static_cast<std::int64_t>(attempt_deltas_);
  state_.usage.input_tokens = std::max<std::int64_t>(state_.usage.input_tokens, 0) + input;
  state_.usage.output_tokens = std::max<std::int64_t>(state_.usage.output_tokens, 0) + output;
  attempt_usage_ = {};
  attempt_deltas_ = 0;
}

// A content-only chunk baton writes itself (text the restorer held back until the stream's end).
void StreamRelay::append_content_chunk(std::uint32_t choice, std::string_view content) {
  if (content.empty()) return;
  std::string chunk = R"({"id":)" + (state_.stream_id.empty() ? std::string(R"("chatcmpl-baton")") : state_.stream_id) +
                      R"(,"object":"chat.completion.chunk","created":0,"model":)";
  append_json_string(chunk, ctx_.log.model);
  chunk += R"(,"choices":[{"index":)" + std::to_string(choice) + R"(,"delta":{"content":)";
  append_json_string(chunk, content);
  chunk += R"(},"finish_reason":null}]})";
  append_sse_data(frames_, chunk);
}

// After a continuation the client gets one usage chunk with both attempts' tokens.
void StreamRelay::append_usage_chunk() {
  const std::int64_t input = std::max<std::int64_t>(state_.usage.input_tokens, 0);
  const std::int64_t output = std::max<std::int64_t>(state_.usage.output_tokens, 0);
  std::string chunk = R"({"id":)" + state_.stream_id + R"(,"object":"chat.completion.chunk","created":)" +
                      std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                         std::chrono::system_clock::now().time_since_epoch())
                                         .count()) +
                      R"(,"model":)";
  append_json_string(chunk, ctx_.log.model);
  chunk += fmt::format(R"(,"choices":[],"usage":{{"prompt_tokens":{},"completion_tokens":{},"total_tokens":{}}}}})", input,
                       output, input + output);
  append_sse_data(frames_, chunk);
}

void StreamRelay::take_events() {
  SseEvent event;
  while (sse_.next(event)) {
    if (event.data == "[DONE]") {
      done_seen_ = true;  // written by flush(), together with the end of the response
      for (std::size_t choice = 0; choice < state_.restorers.size(); ++choice) {
        if (state_.restorers[choice]) append_content_chunk(static_cast<std::uint32_t>(choice), state_.restorers[choice]->finish());
      }
      continue;
    }
    if (state_.tracked()) {
      take_event_tracked(event);
      if (garbage_) return;  // the frames before it still go out; nothing after it
      continue;
    }
    if (may_carry_usage(event.data)) {
      ChunkFacts facts;
      if (read_chunk_facts(event.data, facts) && facts.has_usage) {
        attempt_usage_ = facts.usage;
        if (plan_.strip_usage && facts.empty_choices) {
          obs::Registry::instance().usage_chunks_stripped.fetch_add(1, std::memory_order_relaxed);
          continue;
        }
      }
    }
    if (!event.event.empty()) {
      frames_ += "event: ";
      frames_ += event.event;
      frames_ += '\n';
    }
    append_sse_data(frames_, event.data);
  }
}

// The continuation-capable path: every chunk is read for its id, content, tool calls and finish.
void StreamRelay::take_event_tracked(const SseEvent& event) {
  DeltaFacts facts;
  if (!read_delta_facts(event.data, facts)) {
    garbage_ = true;  // not a chunk: a protocol failure, which a continuation can recover from
    return;
  }
  if (facts.has_usage) {
    attempt_usage_ = facts.usage;
    if (facts.empty_choices && (plan_.strip_usage || state_.continuations > 0)) {
      if (plan_.strip_usage) obs::Registry::instance().usage_chunks_stripped.fetch_add(1, std::memory_order_relaxed);
      return;  // after a continuation the combined chunk is written at the end instead
    }
  }
  if (state_.stream_id.empty() && facts.id_length > 0) state_.stream_id.assign(event.data.substr(facts.id_offset, facts.id_length));
  // Only a single-choice answer can be continued (the prefill is one assistant turn).
  if (facts.choice_index != 0) state_.continuation_enabled = false;
  guard::StreamRestorer* restorer = state_.restorer_for(facts.choice_index);
  std::string_view content = facts.content;
  bool content_changed = false;
  if (!state_.echo.empty() && facts.content_length > 0) {
    // Servers that take the partial answer as a prefill may repeat it before continuing: drop it.
    if (content.starts_with(state_.echo)) {
      content.remove_prefix(state_.echo.size());
      state_.echo.clear();
    } else if (std::string_view(state_.echo).starts_with(content)) {
      state_.echo.erase(0, content.size());
      content = {};
    } else {
      state_.echo.clear();  // no echo: the continuation starts fresh
    }
    content_changed = content.size() != facts.content.size();
  }
  if (facts.choice_index == 0) state_.text += content;  // what the upstream said (redacted): the prefill
  if (!content.empty()) ++attempt_deltas_;
  std::string restored;
  if (restorer != nullptr && facts.content_length > 0) {
    // Placeholders go back to the user's values; one split across chunks is held until complete.
    restored = restorer->feed(content);
    if (facts.finished) restored += restorer->finish();  // the answer ends here: nothing held back
    content = restored;
    content_changed = content != std::string_view(facts.content);
  } else if (facts.finished && restorer != nullptr) {
    append_content_chunk(facts.choice_index, restorer->finish());  // before the finishing chunk
  }
  state_.tool_calls = state_.tool_calls || facts.tool_calls;
  state_.finished = state_.finished || facts.finished;
  if (!event.event.empty()) {
    frames_ += "event: ";
    frames_ += event.event;
    frames_ += '\n';
  }
  if (!state_.continuing && !content_changed) {
    append_sse_data(frames_, event.data);
    return;
  }
  // One stream, one id: the continuation's chunks carry the first attempt's id (and lose any
  // echoed prefill). Upstreams order the fields differently (llama.cpp puts choices first).
  struct Edit {
    std::size_t offset;
    std::size_t length;
    std::string text;
  };
  std::array<Edit, 2> edits{};
  std::size_t count = 0;
  if (state_.continuing && facts.id_length > 0 && !state_.stream_id.empty()) {
    edits[count++] = {facts.id_offset, facts.id_length, state_.stream_id};
  }
  if (content_changed) {
    std::string escaped;
    append_json_string(escaped, content);
    edits[count++] = {facts.content_offset, facts.content_length, std::move(escaped)};
  }
  if (count == 2 && edits[1].offset < edits[0].offset) std::swap(edits[0], edits[1]);
  std::string rewritten;
  std::size_t cursor = 0;
  for (std::size_t i = 0; i < count; ++i) {
    rewritten.append(event.data.substr(cursor, edits[i].offset - cursor));
    rewritten += edits[i].text;
    cursor = edits[i].offset + edits[i].length;
  }
  rewritten.append(event.data.substr(cursor));
  append_sse_data(frames_, rewritten);
}

void StreamRelay::release_memory() {
  if (sse_.pending_bytes() == 0) sse_.release_memory();
  frames_.shrink_to_fit();
  call_.release_memory();
  if (ctx_.client_buffer.size() == 0) ctx_.client_buffer.shrink_to_fit();
}

// Writes pending frames as one HTTP chunk; the response head rides along with the first one.
awaitable<bool> StreamRelay::flush() {
  if (done_seen_) {
    if (state_.continuations > 0 && state_.client_wants_usage) {
      account_attempt_usage();
      append_usage_chunk();
    }
    frames_ += "data: [DONE]\n\n";
  }
  std::string head;
  if (!state_.head_sent) {
    const auto first_token = Clock::now() - ctx_.started;
    state_.first_token_us =
        static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(first_token).count());
    ctx_.metrics->first_token.observe(std::chrono::duration<double>(first_token).count());
    ctx_.log.first_token_ms = static_cast<double>(state_.first_token_us) / 1000.0;
    head = stream_head();
    state_.head_sent = true;
  }
  const ChunkSizeLine size_line(frames_.size());
  const std::string_view tail = done_seen_ || failed_ ? "\r\n0\r\n\r\n" : "\r\n";
  const std::array buffers = {asio::const_buffer(head.data(), head.size()),
                              asio::buffer(size_line.text()),
                              asio::const_buffer(frames_.data(), frames_.size()),
                              asio::const_buffer(tail.data(), tail.size())};
  const bool ok = co_await write_buffers(ctx_, buffers);
  frames_.clear();
  co_return ok;
}

awaitable<void> StreamRelay::end_with_error(RequestContext& ctx, const Error& error) {
  ctx.log.error_code = error_info(error.code).code;
  std::string frames;
  append_sse_data(frames, openai_error_body(error));
  const ChunkSizeLine size_line(frames.size());
  static constexpr std::string_view kTail = "\r\n0\r\n\r\n";
  const std::array buffers = {asio::buffer(size_line.text()),
                              asio::const_buffer(frames.data(), frames.size()),
                              asio::const_buffer(kTail.data(), kTail.size())};
  co_await write_buffers(ctx, buffers);
}

std::string StreamRelay::stream_head() {
  ctx_.log.status = 200;
  std::string head;
  head.reserve(320);
  head +=
      "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
      "x-accel-buffering: no\r\ntransfer-encoding: chunked\r\nx-request-id: ";
  head += ctx_.request_id;
  head += "\r\n";
  head += route_headers(ctx_, deployment_);
  if (ctx_.draining) {
    ctx_.keep_alive = false;
    head += "connection: close\r\n";
  }
  head += "\r\n";
  return head;
}

awaitable<AttemptResult> StreamRelay::fail(http::UpstreamError error) {
  if (call_.cancelled()) {
    // The client watch cancelled the upstream because the client hung up: the broken read is the
    // client's doing, not a deployment failure (breaker, upstream error metrics) or a reason to continue.
    co_return AttemptResult{AttemptResult::Kind::client_left};
  }
  call_.abort();
  if (!state_.head_sent) {
    AttemptResult retry{AttemptResult::Kind::retryable};  // nothing reached the client yet
    retry.error = error;
    co_return retry;
  }
  if (state_.finished) {
    // The answer was complete (finish_reason streamed); only the upstream's [DONE] went missing.
    done_seen_ = true;
    const bool written = co_await flush();
    record_usage(ctx_, state_.usage);
    AttemptResult ended{written ? AttemptResult::Kind::committed : AttemptResult::Kind::client_left};
    ended.error = error;
    co_return ended;
  }
  if (state_.continuation_enabled && !state_.tool_calls) {
    account_attempt_usage();
    AttemptResult handover{AttemptResult::Kind::continue_stream};
    handover.error = error;
    co_return handover;
  }
  account_attempt_usage();
  record_usage(ctx_, state_.usage);
  // Already committed to a 200 stream: end it with an error event the SDKs surface as an error.
  deployment_.metrics->count_upstream_error(error);
  ctx_.log.upstream_error = http::to_string(error);
  const Error failure = upstream_failure(deployment_, error);
  ctx_.log.error_code = error_info(failure.code).code;
  failed_ = true;
  frames_.clear();
  append_sse_data(frames_, openai_error_body(failure));
  co_await flush();
  AttemptResult result{AttemptResult::Kind::committed};
  result.error = error;
  co_return result;
}

}  // namespace baton::api::openai
