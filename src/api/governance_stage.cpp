#include "api/governance_stage.hpp"

#include <fmt/format.h>

#include "server/app.hpp"
#include "server/worker.hpp"
#include "tenancy/governance.hpp"
#include "tenancy/local_limiter.hpp"
#include "tenancy/periods.hpp"
#include "tenancy/pricing.hpp"

namespace baton::api {

namespace {

tenancy::Governance& governance(RequestContext& ctx) { return ctx.worker.app().governance(); }

std::string_view header_token(const Request& request) {
  const std::string_view authorization = request.authorization();
  if (!authorization.empty()) return tenancy::bearer_token(authorization);
  return tenancy::bearer_token(request.api_key());
}

// The fail mode that applies when usage cannot be recorded: the key's, else its team's, else the config's.
bool fails_closed(const RequestContext& ctx, bool config_default) {
  if (ctx.caller.entry == nullptr) return config_default;
  for (const store::FailMode mode :
       {ctx.caller.entry->key.limits.fail_mode,
        ctx.caller.entry->team != nullptr ? ctx.caller.entry->team->limits.fail_mode : store::FailMode::inherit}) {
    if (mode != store::FailMode::inherit) return mode == store::FailMode::closed;
  }
  return config_default;
}

// What a request could cost, reserved before it runs: the estimated prompt plus max_tokens (or an
// allowance), priced at the group's first deployment. settle() releases it against the real usage.
double reservation(const routing::ModelGroup& group, std::uint64_t est_input_tokens, std::uint64_t est_output_tokens) {
  return tenancy::cost_usd(group.deployments.front().price,
                           {static_cast<std::int64_t>(est_input_tokens), 0, static_cast<std::int64_t>(est_output_tokens)});
}

std::string limit_description(const tenancy::Subject& s, std::string_view limit) {
  if (limit == "rpm") return fmt::format("{} requests per minute", s.rpm);
  if (limit == "tpm") return fmt::format("{} tokens per minute", s.tpm);
  if (limit == "parallel") return fmt::format("{} requests in parallel", s.max_parallel);
  return fmt::format("a budget of {:.4f} USD for period {}", s.budget_usd, s.period_id);
}

}  // namespace

bool identify(RequestContext& ctx) {
  const std::string& master = ctx.routes->config().auth.master_key;
  ctx.caller = tenancy::authenticate(ctx.worker.key_directory(), header_token(ctx.request), master,
                                     tenancy::unix_now_ms(), ctx.token_memo);
  return ctx.caller.admitted();
}

awaitable<bool> authenticate(RequestContext& ctx) {
  if (identify(ctx)) co_return true;
  co_await refuse_caller(ctx);
  co_return false;
}

awaitable<void> refuse_caller(RequestContext& ctx) {
  std::string message;
  switch (ctx.caller.status) {
    case tenancy::Caller::Status::missing:
      message = "no API key: send 'Authorization: Bearer sk-baton-…'";
      break;
    case tenancy::Caller::Status::revoked:
      message = "this API key (" + ctx.caller.entry->key.id + ") has been revoked";
      break;
    case tenancy::Caller::Status::expired:
      message = "this API key (" + ctx.caller.entry->key.id + ") has expired";
      break;
    default:
      message = "invalid API key";  // never echo the presented secret
      break;
  }
  const Error denied{ErrorCode::invalid_api_key, message, {}};
  co_await write_error(ctx, denied, "www-authenticate: Bearer\r\n");
}

namespace {
// Admission's synchronous part, shared by admitted_at_once() and admit(): the checks that need no
// limiter, then the ticket. `now` is set for the limiter when the answer is `count`.
enum class Precheck : std::uint8_t { model_refused, store_full, admitted, count };

Precheck precheck(RequestContext& ctx, const routing::ModelGroup& group, std::uint64_t est_input_tokens,
                  std::uint64_t est_output_tokens, std::int64_t& now) {
  ctx.usage_expected = true;  // from here on every outcome, refusals included, leaves a usage record
  if (!ctx.caller.may_use(group.config->name)) return Precheck::model_refused;
  tenancy::Governance& gov = governance(ctx);
  if (!gov.usage().has_room() && fails_closed(ctx, gov.storage().fail_closed)) return Precheck::store_full;
  if (ctx.caller.status != tenancy::Caller::Status::key) {
    ctx.ticket.subjects.clear();  // the connection's ticket may hold an earlier request's
    return Precheck::admitted;
  }
  now = tenancy::unix_now_ms();
  gov.fill_ticket(ctx.ticket, ctx.caller, ctx.request_id, reservation(group, est_input_tokens, est_output_tokens), now,
                  ctx.routes->config().pricing);
  return ctx.ticket.subjects.empty() ? Precheck::admitted : Precheck::count;
}
}  // namespace

bool admitted_at_once(RequestContext& ctx, const routing::ModelGroup& group, std::uint64_t est_input_tokens,
                      std::uint64_t est_output_tokens) {
  tenancy::LocalLimiter* local = governance(ctx).local_limiter();
  // A shared (Redis) limiter answers asynchronously: admit() asks it.
  if (local == nullptr && ctx.caller.status == tenancy::Caller::Status::key) return false;
  std::int64_t now = 0;
  const Precheck step = precheck(ctx, group, est_input_tokens, est_output_tokens, now);
  if (step != Precheck::count) return step == Precheck::admitted;  // a refusal: admit() answers it
  if (local->try_admit(ctx.ticket, now).outcome != tenancy::Outcome::admitted) {
    // A refusal counted nothing: admit() fills the ticket again, decides again and answers it.
    return false;
  }
  ctx.ticket_admitted = true;
  return true;
}

awaitable<bool> admit(RequestContext& ctx, const routing::ModelGroup& group, std::uint64_t est_input_tokens,
                      std::uint64_t est_output_tokens) {
  std::int64_t now = 0;
  const Precheck step = precheck(ctx, group, est_input_tokens, est_output_tokens, now);
  if (step == Precheck::model_refused) {
    const Error denied{ErrorCode::permission_denied,
                       "this API key may not use model '" + group.config->name + "'", "model"};
    co_await write_error(ctx, denied);
    co_return false;
  }
  if (step == Precheck::store_full) {
    const Error full{ErrorCode::store_unavailable,
                     "usage records cannot be written right now and this key's fail mode is closed", {}};
    co_await write_error(ctx, full, "retry-after: 1\r\n");
    co_return false;
  }
  if (step == Precheck::admitted) co_return true;
  tenancy::Governance& gov = governance(ctx);
  tenancy::Admission admission;
  if (tenancy::LocalLimiter* local = gov.local_limiter(); local != nullptr) {
    admission = local->try_admit(ctx.ticket, now);
  } else {
    admission = co_await gov.limiter().admit(ctx.ticket, now);
  }
  if (admission.outcome == tenancy::Outcome::admitted) {
    ctx.ticket_admitted = true;
    co_return true;
  }

  const tenancy::Subject* subject = nullptr;
  for (const tenancy::Subject& s : ctx.ticket.subjects) {
    if (s.scope == admission.scope) subject = &s;
  }
  if (admission.outcome == tenancy::Outcome::unavailable) {
    const Error down{ErrorCode::limits_unavailable,
                     "the limits of " + admission.scope + " cannot be checked right now (fail mode: closed)", {}};
    co_await write_error(ctx, down, "retry-after: 1\r\n");
    co_return false;
  }
  const std::uint32_t retry = std::max<std::uint32_t>(admission.retry_after_s, 1);
  const std::string extra = fmt::format("retry-after: {}\r\nx-baton-limit: {}\r\n", retry, admission.limit);
  const std::string what = subject != nullptr ? limit_description(*subject, admission.limit) : admission.limit;
  const bool budget = admission.limit == "budget";
  const Error limited{budget ? ErrorCode::budget_exceeded : ErrorCode::rate_limited,
                      fmt::format("{} is over its limit of {}; retry in {} s", admission.scope, what, retry), {}};
  co_await write_error(ctx, limited, extra);
  co_return false;
}

const guard::Policy& effective_pii_policy(const RequestContext& ctx, const routing::ModelGroup& group,
                                          guard::Policy& scratch) {
  const tenancy::KeyDirectory::Entry* entry = ctx.caller.entry;
  if (ctx.caller.status != tenancy::Caller::Status::key || entry == nullptr ||
      (!entry->key_guard && !entry->team_guard)) {
    return group.pii_policy;
  }
  const config::Config& config = ctx.routes->config();
  config::PiiPolicyConfig merged =
      config::merge_pii_policy(config.guard.pii, group.config->guard ? &group.config->guard->pii : nullptr);
  if (entry->team_guard) merged = config::merge_pii_policy(merged, &*entry->team_guard);
  if (entry->key_guard) merged = config::merge_pii_policy(merged, &*entry->key_guard);
  scratch = guard::Policy::from_config(merged, nullptr);
  return scratch;
}

void settle_admission(RequestContext& ctx) {
  if (!ctx.ticket_admitted) return;
  ctx.ticket_admitted = false;
  const std::int64_t input = std::max<std::int64_t>(ctx.log.input_tokens, 0);
  const std::int64_t output = std::max<std::int64_t>(ctx.log.output_tokens, 0);
  governance(ctx).limiter().settle(ctx.ticket, static_cast<std::uint64_t>(input + output), ctx.cost_usd,
                                   tenancy::unix_now_ms());
}

void finish(RequestContext& ctx) {
  if (!ctx.usage_expected) return;
  ctx.log.key_id = ctx.caller.key_id();
  ctx.log.cost_usd = ctx.cost_usd;
  settle_admission(ctx);
  tenancy::Governance& gov = governance(ctx);
  const std::int64_t now = tenancy::unix_now_ms();
  const std::int64_t input = std::max<std::int64_t>(ctx.log.input_tokens, 0);
  const std::int64_t output = std::max<std::int64_t>(ctx.log.output_tokens, 0);
  gov.usage().push_with([&](store::UsageRecord& record) {
    record.ts_ms = now;
    record.request_id = ctx.request_id;
    record.key_id = ctx.caller.key_id();
    record.team_id = ctx.caller.team_id();
    record.model = ctx.log.model;
    record.deployment = ctx.log.deployment;
    record.input_tokens = input;
    record.cached_input_tokens = ctx.cached_input_tokens;
    record.output_tokens = output;
    record.cost_usd = ctx.cost_usd;
    record.latency_ms = static_cast<std::uint32_t>(ctx.log.duration_ms);
    record.ttft_ms = ctx.log.first_token_ms > 0 ? static_cast<std::uint32_t>(ctx.log.first_token_ms) : 0;
    record.status = static_cast<std::uint16_t>(ctx.log.status);
    record.attempts = static_cast<std::uint8_t>(std::min(ctx.log.attempts, 255U));
    record.guard_action = ctx.log.pii_action;
  });
}

}  // namespace baton::api
