// POST /v1/chat/completions and /v1/embeddings for OpenAI-compatible upstreams.
//
// The client's body is forwarded as spliced byte ranges (no re-serialisation). Non-stream answers are
// read whole and written back with one gathered write. Streams are relayed event by event as they
// arrive: the response head goes out together with the first event ("peek before commit": until
// then any failure still becomes an ordinary JSON error), and every later failure ends the stream
// with an error event, never a silent cut.
#include <fmt/format.h>

#include "api/handlers.hpp"
#include "api/openai/request_fields.hpp"
#include "api/openai/usage.hpp"
#include "core/sse.hpp"
#include "http/client_watch.hpp"
#include "server/worker.hpp"

namespace baton::api::openai {

namespace {

constexpr std::size_t kMaxUpstreamBody = 64 * 1024 * 1024;
constexpr std::size_t kMaxUpstreamErrorBody = 1024 * 1024;

struct InFlight {
  explicit InFlight(obs::RouteMetrics& m) : metrics(m) { metrics.in_flight.fetch_add(1, std::memory_order_relaxed); }
  ~InFlight() { metrics.in_flight.fetch_sub(1, std::memory_order_relaxed); }
  InFlight(const InFlight&) = delete;
  InFlight& operator=(const InFlight&) = delete;
  obs::RouteMetrics& metrics;
};

Clock::time_point earliest(Clock::time_point a, Clock::time_point b) { return a < b ? a : b; }

Error upstream_failure(const routing::Deployment& d, http::UpstreamError error) {
  switch (error) {
    case http::UpstreamError::timeout:
      return {ErrorCode::upstream_timeout, "upstream " + d.id + " timed out", {}};
    case http::UpstreamError::connect:
      return {ErrorCode::upstream_connect_failed, "could not connect to upstream " + d.id, {}};
    case http::UpstreamError::tls:
      return {ErrorCode::upstream_connect_failed, "TLS handshake with upstream " + d.id + " failed", {}};
    case http::UpstreamError::too_large:
      return {ErrorCode::upstream_protocol_error, "upstream " + d.id + " sent an oversized response", {}};
    case http::UpstreamError::reset:
      return {ErrorCode::upstream_connection_lost, "upstream " + d.id + " closed the connection", {}};
    case http::UpstreamError::protocol:
    case http::UpstreamError::none:
      break;
  }
  return {ErrorCode::upstream_protocol_error, "upstream " + d.id + " sent a malformed response", {}};
}

std::string route_headers(const RequestContext& ctx, const routing::Deployment& d) {
  return fmt::format("x-baton-deployment: {}\r\nx-baton-attempts: 1\r\nx-baton-overhead-us: {}\r\n", d.id,
                     ctx.overhead_us());
}

void record_usage(RequestContext& ctx, const Usage& usage) {
  ctx.log.input_tokens = usage.input_tokens;
  ctx.log.output_tokens = usage.output_tokens;
  if (usage.input_tokens >= 0) {
    ctx.metrics->input_tokens.fetch_add(static_cast<std::uint64_t>(usage.input_tokens), std::memory_order_relaxed);
    ctx.metrics->input_token_usage.observe(static_cast<double>(usage.input_tokens));
  }
  if (usage.output_tokens >= 0) {
    ctx.metrics->output_tokens.fetch_add(static_cast<std::uint64_t>(usage.output_tokens), std::memory_order_relaxed);
    ctx.metrics->output_token_usage.observe(static_cast<double>(usage.output_tokens));
  }
}

// Times one upstream wait so it can be left out of x-baton-overhead-us.
template <class Op>
awaitable<http::UpstreamError> timed(RequestContext& ctx, Op op) {
  const auto begin = Clock::now();
  const http::UpstreamError error = co_await std::move(op);
  ctx.upstream_wait += Clock::now() - begin;
  co_return error;
}

// The client hung up while we waited on the upstream (which ClientWatch has cancelled).
void client_left(RequestContext& ctx) {
  ctx.keep_alive = false;
  ctx.log.status = 499;  // nginx's "client closed request", for the log and metrics only
  ctx.log.error_code = "client_closed";
}

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

  awaitable<void> run() {
    auto deadline = plan_.first_event_deadline;
    bool upstream_finished = false;
    for (;;) {
      std::string& body = call_.parser().body();
      if (!body.empty()) {
        sse_.append(body);
        body.clear();
      }
      take_events();
      if (sse_.overflowed()) co_return co_await fail(http::UpstreamError::protocol);
      if (!frames_.empty() || done_seen_) {
        if (!co_await flush()) {
          call_.abort();  // the client left: closing the upstream connection cancels its work
          co_return;
        }
        deadline = earliest(Clock::now() + plan_.stall, plan_.total_deadline);
      }
      if (done_seen_) break;
      if (upstream_finished) co_return co_await fail(http::UpstreamError::reset);
      if (head_sent_) {
        // Thousands of streams may sit between tokens at once: hold no buffers while waiting.
        release_memory();
        const http::UpstreamError waited = co_await timed(ctx_, call_.wait_readable(deadline));
        if (waited != http::UpstreamError::none) co_return co_await fail(waited);
      }
      const http::UpstreamError error = co_await timed(ctx_, call_.read_body_some(deadline, upstream_finished));
      if (error != http::UpstreamError::none) co_return co_await fail(error);
    }
    record_usage(ctx_, usage_);
    call_.finish();
  }

 private:
  void take_events() {
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

  void release_memory() {
    if (sse_.pending_bytes() == 0) sse_.release_memory();
    frames_.shrink_to_fit();
    call_.release_memory();
    if (ctx_.client_buffer.size() == 0) ctx_.client_buffer.shrink_to_fit();
  }

  // Writes pending frames as one HTTP chunk; the response head rides along with the first one.
  awaitable<bool> flush() {
    if (done_seen_) frames_ += "data: [DONE]\n\n";
    std::string head;
    if (!head_sent_) {
      const double first_token = std::chrono::duration<double>(Clock::now() - ctx_.started).count();
      ctx_.metrics->first_token.observe(first_token);
      ctx_.log.first_token_ms = first_token * 1000;
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

  std::string stream_head() {
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

  awaitable<void> fail(http::UpstreamError error) {
    deployment_.metrics->count_upstream_error(error);
    ctx_.log.upstream_error = http::to_string(error);
    call_.abort();
    const Error failure = upstream_failure(deployment_, error);
    record_usage(ctx_, usage_);
    if (!head_sent_) {
      co_await write_error(ctx_, failure);
      co_return;
    }
    // Already committed to a 200 stream: end it with an error event the SDKs surface as an error.
    ctx_.log.error_code = error_info(failure.code).code;
    failed_ = true;
    frames_.clear();
    append_sse_data(frames_, openai_error_body(failure));
    co_await flush();
  }

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
};

awaitable<void> proxy(RequestContext& ctx, Endpoint endpoint, std::string_view upstream_path) {
  const std::string& body = ctx.request.body();
  RequestFields fields;
  Error error;
  if (!inspect_request(body, endpoint, fields, error)) {
    co_await write_error(ctx, error);
    co_return;
  }
  const routing::ModelGroup* group = ctx.routes->find(fields.model);
  if (group == nullptr) {
    const Error unknown{ErrorCode::model_not_found,
                        "The model '" + fields.model + "' does not exist or is not served here", "model"};
    co_await write_error(ctx, unknown);
    co_return;
  }
  const routing::Deployment* picked = ctx.routes->pick(*group);
  if (picked == nullptr) {
    const Error none{ErrorCode::no_deployment_available,
                     "no deployment of model '" + fields.model + "' is available right now (disabled or starting)", {}};
    co_await write_error(ctx, none);
    co_return;
  }
  const routing::Deployment& deployment = *picked;
  const config::ProviderConfig& provider = *deployment.provider;
  const config::Origin origin = deployment.origin();
  ctx.metrics = deployment.metrics;
  ctx.log.model = group->config->name;
  ctx.log.deployment = deployment.id;
  ctx.log.attempts = 1;
  InFlight in_flight(*deployment.metrics);

  const bool stream = endpoint == Endpoint::chat_completions && fields.stream;
  ctx.log.stream = stream;
  const std::vector<Splice> splices = upstream_body_splices(fields, deployment.upstream_model_json, stream);
  std::size_t body_length = body.size();
  for (const Splice& s : splices) body_length = body_length - s.length + s.text.size();
  const std::string head =
      fmt::format("POST {}{} HTTP/1.1\r\n{}content-length: {}\r\nx-request-id: {}\r\naccept: {}\r\n\r\n",
                  origin.path_prefix, upstream_path, deployment.static_head, body_length, ctx.request_id,
                  stream ? "text/event-stream" : "application/json");
  std::vector<asio::const_buffer> request;
  request.reserve(2 + 2 * splices.size());
  request.emplace_back(head.data(), head.size());
  std::size_t cursor = 0;
  for (const Splice& s : splices) {
    request.emplace_back(body.data() + cursor, s.offset - cursor);
    request.emplace_back(s.text.data(), s.text.size());
    cursor = s.offset + s.length;
  }
  request.emplace_back(body.data() + cursor, body.size() - cursor);

  const config::Timeouts& t = provider.timeouts;
  const auto now = Clock::now();
  const auto total_deadline = now + ms(t.total_ms);
  const auto first_byte_deadline = earliest(now + ms(t.first_token_ms), total_deadline);
  http::UpstreamCall call(ctx.worker.pool());
  const http::ClientWatch watch(ctx.client, call);
  http::UpstreamError failure = co_await timed(
      ctx, call.send(origin, request, earliest(now + ms(t.connect_ms), total_deadline), first_byte_deadline));
  if (watch.client_gone()) co_return client_left(ctx);
  if (failure != http::UpstreamError::none) {
    deployment.metrics->count_upstream_error(failure);
    ctx.log.upstream_error = http::to_string(failure);
    const Error upstream_error = upstream_failure(deployment, failure);
    co_await write_error(ctx, upstream_error);
    co_return;
  }

  http::ResponseParser& reply = call.parser();
  const bool event_stream = reply.content_type().starts_with("text/event-stream");
  if (reply.status() == 200 && stream && event_stream) {
    const StreamPlan plan{!fields.include_usage, first_byte_deadline, total_deadline, ms(t.stall_ms)};
    StreamRelay relay(ctx, call, deployment, plan);
    co_await relay.run();
    co_return;
  }

  const std::size_t limit = reply.status() == 200 ? kMaxUpstreamBody : kMaxUpstreamErrorBody;
  failure = co_await timed(ctx, call.read_body_all(total_deadline, limit));
  if (watch.client_gone()) co_return client_left(ctx);
  if (failure != http::UpstreamError::none) {
    deployment.metrics->count_upstream_error(failure);
    ctx.log.upstream_error = http::to_string(failure);
    const Error upstream_error = upstream_failure(deployment, failure);
    co_await write_error(ctx, upstream_error);
    co_return;
  }
  std::string extra = route_headers(ctx, deployment);
  if (reply.status() != 200) {
    // The upstream's own error goes to the client as it was: status, body, retry-after.
    deployment.metrics->upstream_status_errors.fetch_add(1, std::memory_order_relaxed);
    if (!reply.retry_after().empty()) extra += "retry-after: " + reply.retry_after() + "\r\n";
  } else {
    ChunkFacts facts;
    if (read_chunk_facts(reply.body(), facts)) record_usage(ctx, facts.usage);
  }
  call.finish();  // the connection is free for the next request while the client is written to
  const std::string content_type = reply.content_type().empty() ? "application/json" : reply.content_type();
  co_await write_response(ctx, reply.status(), content_type, reply.body(), extra);
}

}  // namespace

awaitable<void> chat_completions(RequestContext& ctx) { co_await proxy(ctx, Endpoint::chat_completions, "/chat/completions"); }

awaitable<void> embeddings(RequestContext& ctx) { co_await proxy(ctx, Endpoint::embeddings, "/embeddings"); }

}  // namespace baton::api::openai
