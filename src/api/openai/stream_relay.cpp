#include "api/openai/stream_relay.hpp"

#include <fmt/format.h>

#include "obs/metrics.hpp"

namespace baton::api::openai {

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
    if (sse_.overflowed()) {
      failure = http::UpstreamError::protocol;
      break;
    }
    if (!frames_.empty() || done_seen_) {
      if (!co_await flush()) {
        call_.abort();  // the client left: closing the upstream connection cancels its work
        co_return AttemptResult{AttemptResult::Kind::client_left};
      }
      deadline = earliest(Clock::now() + plan_.stall, plan_.total_deadline);
    }
    if (done_seen_) break;
    if (upstream_finished) {
      failure = http::UpstreamError::reset;  // ended without [DONE]
      break;
    }
    if (head_sent_) {
      // Thousands of streams may sit between tokens at once: hold no buffers while waiting.
      release_memory();
      failure = co_await timed(ctx_, call_.wait_readable(deadline));
      if (failure != http::UpstreamError::none) break;
    }
    failure = co_await timed(ctx_, call_.read_body_some(deadline, upstream_finished));
  }
  if (failure != http::UpstreamError::none) {
    // GCC 12: no `co_return co_await` of a non-trivial type (see http/asio.hpp).
    AttemptResult failed = co_await fail(failure);
    co_return failed;
  }
  record_usage(ctx_, usage_);
  call_.finish();
  AttemptResult result{AttemptResult::Kind::committed};
  result.status = 200;
  result.first_token_us = first_token_us_;
  co_return result;
}

void StreamRelay::take_events() {
  SseEvent event;
  while (sse_.next(event)) {
    if (event.data == "[DONE]") {
      done_seen_ = true;  // written by flush(), together with the end of the response
      continue;
    }
    if (event.data.find("\"usage\"") != std::string_view::npos) {
      ChunkFacts facts;
      if (read_chunk_facts(event.data, facts) && facts.has_usage) {
        usage_ = facts.usage;
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

void StreamRelay::release_memory() {
  if (sse_.pending_bytes() == 0) sse_.release_memory();
  frames_.shrink_to_fit();
  call_.release_memory();
  if (ctx_.client_buffer.size() == 0) ctx_.client_buffer.shrink_to_fit();
}

// Writes pending frames as one HTTP chunk; the response head rides along with the first one.
awaitable<bool> StreamRelay::flush() {
  if (done_seen_) frames_ += "data: [DONE]\n\n";
  std::string head;
  if (!head_sent_) {
    const auto first_token = Clock::now() - ctx_.started;
    first_token_us_ = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(first_token).count());
    ctx_.metrics->first_token.observe(std::chrono::duration<double>(first_token).count());
    ctx_.log.first_token_ms = static_cast<double>(first_token_us_) / 1000.0;
    head = stream_head();
    head_sent_ = true;
  }
  const std::string size_line = fmt::format("{:x}\r\n", frames_.size());
  const std::string_view tail = done_seen_ || failed_ ? "\r\n0\r\n\r\n" : "\r\n";
  const std::array buffers = {asio::const_buffer(head.data(), head.size()),
                              asio::const_buffer(size_line.data(), size_line.size()),
                              asio::const_buffer(frames_.data(), frames_.size()),
                              asio::const_buffer(tail.data(), tail.size())};
  const bool ok = co_await write_buffers(ctx_, buffers);
  frames_.clear();
  co_return ok;
}

std::string StreamRelay::stream_head() {
  ctx_.log.status = 200;
  std::string head = fmt::format(
      "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
      "x-accel-buffering: no\r\ntransfer-encoding: chunked\r\nx-request-id: {}\r\n{}",
      ctx_.request_id, route_headers(ctx_, deployment_));
  if (ctx_.draining) {
    ctx_.keep_alive = false;
    head += "connection: close\r\n";
  }
  head += "\r\n";
  return head;
}

awaitable<AttemptResult> StreamRelay::fail(http::UpstreamError error) {
  call_.abort();
  record_usage(ctx_, usage_);
  if (!head_sent_) {
    AttemptResult retry{AttemptResult::Kind::retryable};  // nothing reached the client yet
    retry.error = error;
    co_return retry;
  }
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
