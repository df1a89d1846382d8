#pragma once
// The governance stages of a model request (ARCHITECTURE §1: auth → limits → guard → route) and
// what happens after its response: settle the limiter ticket and queue one usage record.
#include "api/context.hpp"
#include "guard/policy.hpp"

namespace baton::api {

// Resolves the caller from `Authorization: Bearer …` (or `x-api-key`). Answers 401 and returns
// false when the key is missing, unknown, revoked or expired (open dev mode admits everyone).
awaitable<bool> authenticate(RequestContext& ctx);
// The same in two steps, so that the usual request (a known key, or open mode) awaits nothing:
//   if (!identify(ctx)) { co_await refuse_caller(ctx); co_return; }
bool identify(RequestContext& ctx);
awaitable<void> refuse_caller(RequestContext& ctx);

// After the model is known: 403 when the key may not use it, then the limiter's admission
// (429 with retry-after naming the limit, or 503 when a fail-closed limit cannot be checked).
awaitable<bool> admit(RequestContext& ctx, const routing::ModelGroup& group, std::uint64_t est_input_tokens,
                      std::uint64_t est_output_tokens);
// Admission decided without waiting, for the usual request (open mode, or a key under an
// in-process limiter that lets it through): true means admitted, with every side effect admit()
// has. False means nothing was counted and admit() must decide (a shared limiter's round trip, or
// a refusal to answer):
//   if (!admitted_at_once(ctx, ...)) { if (!co_await admit(ctx, ...)) co_return; }
bool admitted_at_once(RequestContext& ctx, const routing::ModelGroup& group, std::uint64_t est_input_tokens,
                      std::uint64_t est_output_tokens);

// The PII policy for this request: the model's, with the caller's team and key overrides laid
// over it. Returns the group's own policy when the caller has no override (no copy).
const guard::Policy& effective_pii_policy(const RequestContext& ctx, const routing::ModelGroup& group,
                                          guard::Policy& scratch);

// Settles the limiter ticket with the usage recorded so far (releases the parallel slot and the
// budget reservation); once per request, later calls do nothing. Called right before the last
// bytes of a complete answer are written, so a client that sends its next request the moment it
// has the answer never finds its own max_parallel slot still taken.
void settle_admission(RequestContext& ctx);

// Called by the session after every request: settles the ticket (if not yet) and queues the usage record.
void finish(RequestContext& ctx);

}  // namespace baton::api
