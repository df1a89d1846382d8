// POST /v1/chat/completions and /v1/embeddings for OpenAI-compatible upstreams.
//
// The client's body is forwarded as spliced byte ranges (no re-serialisation). A request is served
// by attempts: the router picks a deployment, the attempt sends the request and reads the answer,
// and until something has been written to the client a failure may be retried on another
// deployment, after a backoff on the same one, or on a fallback model. Non-stream answers are read
// whole and written back with one gathered write; streams are relayed as they arrive
// (stream_relay.cpp).
#include <fmt/format.h>

#include "api/governance_stage.hpp"
#include "api/handlers.hpp"
#include "api/openai/attempt.hpp"
#include "api/openai/request_fields.hpp"
#include "api/openai/stream_relay.hpp"
#include "core/json_text.hpp"
#include "guard/policy.hpp"
#include "http/client_watch.hpp"
#include "routing/router.hpp"
#include "server/worker.hpp"
#include "tenancy/pricing.hpp"

namespace baton::api::openai {

namespace {

constexpr std::size_t kMaxUpstreamBody = 64 * 1024 * 1024;
constexpr std::size_t kMaxUpstreamErrorBody = 1024 * 1024;
constexpr std::uint64_t kDefaultCompletionAllowance = 256;  // tokens, when max_tokens is absent

struct InFlight {
  explicit InFlight(obs::RouteMetrics& m) : metrics(m) { metrics.in_flight.fetch_add(1, std::memory_order_relaxed); }
  ~InFlight() { metrics.in_flight.fetch_sub(1, std::memory_order_relaxed); }
  InFlight(const InFlight&) = delete;
  InFlight& operator=(const InFlight&) = delete;
  obs::RouteMetrics& metrics;
};

routing::ErrorKind error_kind(const AttemptResult& r) {
  switch (r.error) {
    case http::UpstreamError::connect:
    case http::UpstreamError::tls: return routing::ErrorKind::connect;
    case http::UpstreamError::timeout: return routing::ErrorKind::timeout;
    case http::UpstreamError::protocol:
    case http::UpstreamError::too_large: return routing::ErrorKind::protocol;
    case http::UpstreamError::reset: return routing::ErrorKind::stream;
    case http::UpstreamError::none: break;
  }
  if (r.status == 429) return routing::ErrorKind::rate_limited;
  if (r.status == 408) return routing::ErrorKind::timeout;
  if (r.status >= 500) return routing::ErrorKind::server_error;
  return routing::ErrorKind::other;
}

// What the guard decided for one request, and the redacted request when it redacted.
struct GuardedRequest {
  guard::Decision pii;
  std::string body;
  RequestFields fields;
};

// Failed attempts of one request, to answer with when no attempt succeeds. Off the coroutine
// frame: a healthy stream never needs them.
struct FailedAttempts {
  AttemptResult last;  // the last failed attempt
  const routing::Deployment* last_deployment = nullptr;
  AttemptResult last_answer;  // the last one an upstream actually answered (status != 0)
  const routing::Deployment* last_answer_deployment = nullptr;
};

struct Forward {
  const std::string& body;  // what the upstream gets (redacted when the guard says so)
  const RequestFields& fields;
  const guard::Redaction* redaction;  // set when values were replaced by placeholders
  Endpoint endpoint;
  std::string_view upstream_path;
  bool stream;
};

// One exchange with one deployment. Writes to the client only when it commits.
// `now`: when the attempt starts (the caller has just read the clock).
awaitable<AttemptResult> attempt(RequestContext& ctx, const routing::Deployment& d, const Forward& f,
                                 Clock::time_point now, Clock::time_point request_deadline, StreamState& stream_state) {
  const config::Origin origin = d.origin();
  const config::Timeouts& t = d.timeouts;
  const auto first_byte_deadline = earliest(now + ms(t.first_token_ms), request_deadline);
  http::UpstreamCall call(ctx.worker.pool());
  const http::ClientWatch watch(ctx.worker.deadlines(), ctx.client, call, now);
  AttemptResult result;
  {
    // What only sending needs (the head, the body's pieces) is freed once it is sent: a stream
    // keeps this frame for its whole life.
    std::vector<Splice> splices = upstream_body_splices(f.fields, d.upstream_model_json, f.stream);
    if (stream_state.continuing) add_continuation_splice(f.fields, stream_state.text, splices);
    std::size_t body_length = f.body.size();
    for (const Splice& s : splices) body_length = body_length - s.length + s.text.size();
    std::string head;
    head.reserve(128 + d.static_head.size());
    head += "POST ";
    head += origin.path_prefix;
    head += f.upstream_path;
    head += " HTTP/1.1\r\n";
    head += d.static_head;
    head += "content-length: ";
    append_decimal(head, static_cast<std::uint64_t>(body_length));
    head += "\r\nx-request-id: ";
    head += ctx.request_id;
    head += f.stream ? "\r\naccept: text/event-stream\r\n\r\n" : "\r\naccept: application/json\r\n\r\n";
    std::vector<asio::const_buffer> request;
    request.reserve(2 + 2 * splices.size());
    request.emplace_back(head.data(), head.size());
    std::size_t cursor = 0;
    for (const Splice& s : splices) {
      request.emplace_back(f.body.data() + cursor, s.offset - cursor);
      request.emplace_back(s.text.data(), s.text.size());
      cursor = s.offset + s.length;
    }
    request.emplace_back(f.body.data() + cursor, f.body.size() - cursor);
    const UpstreamWait waiting(ctx, now);
    result.error = co_await call.send(origin, request, earliest(now + ms(t.connect_ms), request_deadline), first_byte_deadline);
  }
  if (watch.client_gone()) co_return AttemptResult{AttemptResult::Kind::client_left};
  if (result.error != http::UpstreamError::none) {
    result.kind = AttemptResult::Kind::retryable;
    co_return result;
  }

  http::ResponseParser& reply = call.parser();
  if (reply.status() == 200 && f.stream && reply.content_type().starts_with("text/event-stream")) {
    const StreamPlan plan{!f.fields.include_usage, first_byte_deadline, request_deadline, ms(t.stall_ms)};
    StreamRelay relay(ctx, call, d, plan, stream_state);
    result = co_await relay.run();  // into `result`: every local is frame space for the stream's life
    co_return result;
  }

  const std::size_t limit = reply.status() == 200 ? kMaxUpstreamBody : kMaxUpstreamErrorBody;
  if (!reply.is_done()) {  // usually the whole answer came with its head: nothing to wait for
    const UpstreamWait waiting(ctx);
    result.error = co_await call.read_body_all(request_deadline, limit);
  }
  if (watch.client_gone()) co_return AttemptResult{AttemptResult::Kind::client_left};
  if (result.error != http::UpstreamError::none) {
    result.kind = AttemptResult::Kind::retryable;
    co_return result;
  }
  result.status = reply.status();
  // Both arms are views: a std::string arm would make the view dangle on a temporary.
  const std::string_view content_type =
      reply.content_type().empty() ? std::string_view("application/json") : std::string_view(reply.content_type());
  call.finish();  // the connection is free for the next request while the client is written to
  if (reply.status() != 200 || stream_state.head_sent) {
    result.content_type = content_type;  // the answer outlives this attempt
    result.retry_after = reply.retry_after();
    // A continuation must answer with a stream; anything else is a failed attempt.
    const bool passable = !stream_state.head_sent && !routing::retryable_status(result.status);
    result.body = std::move(reply.body());
    result.kind = passable ? AttemptResult::Kind::final_response : AttemptResult::Kind::retryable;
    if (stream_state.head_sent && result.status == 200) result.error = http::UpstreamError::protocol;
    co_return result;
  }
  Usage usage;
  if (f.redaction != nullptr) reply.body() = guard::restore_in_json(reply.body(), *f.redaction);
  if (!read_answer_usage(reply.body(), usage)) {
    result.kind = AttemptResult::Kind::retryable;  // a 200 that is not JSON is a malformed answer
    result.error = http::UpstreamError::protocol;
    result.status = 0;
    co_return result;
  }
  record_usage(ctx, usage);
  settle_admission(ctx);  // before the client can have the answer and send its next request
  const std::string extra = route_headers(ctx, d);
  co_await write_response(ctx, 200, content_type, reply.body(), extra);
  result.kind = AttemptResult::Kind::committed;
  co_return result;
}

// Tells the client how the last attempt failed: the upstream's own answer when it gave one,
// else baton's 502/504.
awaitable<void> answer_failure(RequestContext& ctx, const routing::Deployment& d, const AttemptResult& last) {
  if (last.status != 0) {
    std::string extra = route_headers(ctx, d);
    if (!last.retry_after.empty()) extra += "retry-after: " + last.retry_after + "\r\n";
    settle_admission(ctx);
    co_await write_response(ctx, last.status, last.content_type, last.body, extra);
    co_return;
  }
  const Error failure = upstream_failure(d, last.error);
  const std::string extra = route_headers(ctx, d);
  co_await write_error(ctx, failure, extra);
}

std::string join_names(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& name : names) out += (out.empty() ? "" : ", ") + name;
  return out;
}

awaitable<void> sleep_until(RequestContext& ctx, Clock::time_point when) {
  asio::steady_timer timer(ctx.client.get_executor(), when);
  co_await timer.async_wait(use_nothrow);
}

awaitable<void> proxy(RequestContext& ctx, Endpoint endpoint, std::string_view upstream_path) {
  if (!identify(ctx)) {
    co_await refuse_caller(ctx);
    co_return;
  }
  const std::string& body = ctx.request.body();
  RequestFields fields;
  Error error;
  if (!inspect_request(body, endpoint, fields, error)) {
    co_await write_error(ctx, error);
    co_return;
  }
  const routing::ModelGroup* group = ctx.routes->find(fields.model);
  // Error paths reuse `error`: every local here lives in the coroutine frame, which an open
  // stream holds for its whole life.
  if (group == nullptr) {
    error = {ErrorCode::model_not_found, "The model '" + fields.model + "' does not exist or is not served here", "model"};
    co_await write_error(ctx, error);
    co_return;
  }
  ctx.log.model = group->config->name;
  const bool stream = endpoint == Endpoint::chat_completions && fields.stream;
  ctx.log.stream = stream;
  // A stream may stay open for minutes: give back the client read buffer's capacity now (the
  // request is read whole) rather than hold it while the upstream prepares its first token.
  if (stream && ctx.client_buffer.size() == 0) ctx.client_buffer.shrink_to_fit();

  routing::RequestNeeds needs;
  needs.est_input_tokens = body.size() / 4;  // a cheap estimate: ~4 bytes per token
  needs.est_output_tokens = fields.max_tokens > 0 ? static_cast<std::uint64_t>(fields.max_tokens) : kDefaultCompletionAllowance;
  if (fields.max_tokens > 0) needs.required_context = needs.est_input_tokens + needs.est_output_tokens;
  if (!admitted_at_once(ctx, *group, needs.est_input_tokens, needs.est_output_tokens)) {
    if (!co_await admit(ctx, *group, needs.est_input_tokens, needs.est_output_tokens)) co_return;
  }
  routing::AttemptPlanner planner(*ctx.routes, *group, ctx.worker.strategies(), needs);

  const config::Timeouts& first_timeouts = group->deployments.front().timeouts;
  const auto request_deadline = ctx.started + ms(first_timeouts.total_ms);
  StreamState stream_state;

  // The sovereignty guard: scan everything the upstream would see, then block, pin or redact.
  // Its state is allocated only when a policy applies (see the note on `error` above).
  std::unique_ptr<GuardedRequest> guarded;
  guard::Policy policy_scratch;
  const guard::Policy& pii_policy = effective_pii_policy(ctx, *group, policy_scratch);
  if (pii_policy.enforces_anything()) {
    const guard::Scanner* scanner = guard::shared_scanner();
    const guard::RequestFormat format =
        endpoint == Endpoint::chat_completions ? guard::RequestFormat::openai_chat : guard::RequestFormat::openai_embeddings;
    guarded = std::make_unique<GuardedRequest>();
    guard::Decision& pii = guarded->pii;
    if (scanner == nullptr || !guard::decide(*scanner, pii_policy, body, pii, format)) {
      error = {ErrorCode::internal_error, "the PII guard could not scan this request; it was not forwarded", {}};
      co_await write_error(ctx, error);  // fail closed: never forward unscanned text
      co_return;
    }
    obs::Registry::instance().count_pii(pii);
    if (pii.total_findings() > 0) {
      ctx.pii_types = pii.types_summary();
      ctx.log.pii_types = ctx.pii_types;
      ctx.log.pii_action = guard::to_string(pii.action);
    }
    if (pii.action == guard::Action::block) {
      error = {ErrorCode::pii_blocked, pii.block_message(), endpoint == Endpoint::chat_completions ? "messages" : "input"};
      co_await write_error(ctx, error);
      co_return;
    }
    if (pii.pin) needs.allowed_residency = &pii_policy.allowed_residency;
    if (pii.redact) {
      guarded->body = guard::apply_splices(body, pii.splices);
      if (!inspect_request(guarded->body, endpoint, guarded->fields, error)) {
        error = {ErrorCode::internal_error, "redaction produced an invalid request", {}};
        co_await write_error(ctx, error);
        co_return;
      }
      stream_state.redaction = pii.redaction.get();
    }
  }
  const bool redacted = guarded && guarded->pii.redact;
  const bool pinned = guarded && guarded->pii.pin;
  const Forward forward{redacted ? guarded->body : body, redacted ? guarded->fields : fields,
                        redacted ? guarded->pii.redaction.get() : nullptr, endpoint, upstream_path, stream};
  stream_state.client_wants_usage = fields.include_usage;
  stream_state.est_prompt_tokens = needs.est_input_tokens;
  // Mid-stream continuation needs somewhere to continue: another deployment or a fallback.
  stream_state.continuation_enabled = stream && (group->deployments.size() > 1 || !group->fallbacks.empty());
  std::unique_ptr<FailedAttempts> failures;  // allocated at the first failure
  for (;;) {
    std::chrono::milliseconds wait{0};
    Clock::time_point started = Clock::now();
    const routing::Deployment* d = planner.next(started, wait);
    if (d == nullptr) break;
    if (wait.count() > 0) {
      const auto wake = started + wait;
      if (wake >= request_deadline) {
        d->health->breaker().release_probe();
        break;
      }
      co_await sleep_until(ctx, wake);
      started = Clock::now();
    }
    ctx.metrics = d->metrics;
    ctx.price = &d->price;
    ctx.log.deployment = d->id;
    ctx.log.attempts = planner.attempts();
    InFlight in_flight(*d->metrics);
    routing::InFlightGuard busy(*d->health);
    const AttemptResult result = co_await attempt(ctx, *d, forward, started, request_deadline, stream_state);
    const auto finished = Clock::now();
    if (result.kind == AttemptResult::Kind::client_left) {
      d->health->breaker().release_probe();
      ctx.keep_alive = false;
      ctx.log.status = 499;  // nginx's "client closed request", for the log and metrics only
      ctx.log.error_code = "client_closed";
      co_return;
    }
    const bool failed = result.kind == AttemptResult::Kind::retryable || result.error != http::UpstreamError::none;
    if (!failed) {
      const auto total_us = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(finished - started).count());
      planner.on_success(*d, result.first_token_us, total_us, finished);
      if (result.kind == AttemptResult::Kind::final_response) co_await answer_failure(ctx, *d, result);
      co_return;
    }
    if (result.error != http::UpstreamError::none) {
      d->metrics->count_upstream_error(result.error);
      ctx.log.upstream_error = http::to_string(result.error);
    } else {
      d->metrics->upstream_status_errors.fetch_add(1, std::memory_order_relaxed);
    }
    std::optional<std::chrono::milliseconds> retry_after;
    if (!result.retry_after.empty()) {
      retry_after = routing::parse_retry_after(result.retry_after, std::chrono::system_clock::now());
    }
    planner.on_failure(*d, error_kind(result), retry_after, finished);
    if (result.kind == AttemptResult::Kind::committed) co_return;  // a stream that failed after its first event
    if (result.kind == AttemptResult::Kind::continue_stream) {
      // The client's stream goes on: the next deployment continues from the text so far.
      stream_state.continuing = true;
      stream_state.echo = stream_state.text;
      ++stream_state.continuations;
    }
    if (!failures) failures = std::make_unique<FailedAttempts>();
    failures->last = result;
    failures->last_deployment = d;
    if (result.status != 0) {
      failures->last_answer = result;
      failures->last_answer_deployment = d;
    }
    if (Clock::now() >= request_deadline) break;
  }
  if (stream_state.head_sent) {
    // The stream had started and no deployment could continue it.
    error = failures ? upstream_failure(*failures->last_deployment, failures->last.error)
                     : Error{ErrorCode::upstream_stream_failed, "stream could not be continued", {}};
    co_await StreamRelay::end_with_error(ctx, error);
    co_return;
  }
  if (failures && failures->last_answer_deployment != nullptr) {
    // An upstream's own answer (e.g. its 500 or 429) says more than a later connect error.
    co_await answer_failure(ctx, *failures->last_answer_deployment, failures->last_answer);
    co_return;
  }
  if (failures) {
    co_await answer_failure(ctx, *failures->last_deployment, failures->last);
    co_return;
  }
  error = {ErrorCode::no_deployment_available,
           pinned ? "the request carries personal data that may only go to residency [" + join_names(pii_policy.allowed_residency) +
                        "], and no deployment there is available for model '" + fields.model + "'"
                  : "no deployment of model '" + fields.model + "' is available right now (disabled, starting, or circuit open)",
           {}};
  co_await write_error(ctx, error);
}

}  // namespace

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
  std::string out;
  out.reserve(96 + d.id.size());
  out += "x-baton-deployment: ";
  out += d.id;
  out += "\r\nx-baton-attempts: ";
  append_decimal(out, static_cast<std::uint64_t>(ctx.log.attempts));
  out += "\r\nx-baton-overhead-us: ";
  append_decimal(out, ctx.overhead_us());
  out += "\r\n";
  return out;
}

void record_usage(RequestContext& ctx, const Usage& usage) {
  ctx.log.input_tokens = usage.input_tokens;
  ctx.log.output_tokens = usage.output_tokens;
  ctx.cached_input_tokens = usage.cached_input_tokens;
  if (ctx.price != nullptr) {
    ctx.cost_usd = tenancy::cost_usd(*ctx.price, {usage.input_tokens, usage.cached_input_tokens, usage.output_tokens});
  }
  if (usage.input_tokens >= 0) {
    ctx.metrics->input_tokens.fetch_add(static_cast<std::uint64_t>(usage.input_tokens), std::memory_order_relaxed);
    ctx.metrics->input_token_usage.observe(static_cast<double>(usage.input_tokens));
  }
  if (usage.output_tokens >= 0) {
    ctx.metrics->output_tokens.fetch_add(static_cast<std::uint64_t>(usage.output_tokens), std::memory_order_relaxed);
    ctx.metrics->output_token_usage.observe(static_cast<double>(usage.output_tokens));
  }
}

// Plain functions handing back proxy()'s awaitable: no frame of their own for the request's life.
awaitable<void> chat_completions(RequestContext& ctx) { return proxy(ctx, Endpoint::chat_completions, "/chat/completions"); }

awaitable<void> embeddings(RequestContext& ctx) { return proxy(ctx, Endpoint::embeddings, "/embeddings"); }

}  // namespace baton::api::openai
