#pragma once
// The governance stages of a model request (ARCHITECTURE §1: auth → limits → guard → route) and
// what happens after its response: settle the limiter ticket and queue one usage record.
#include "api/context.hpp"
#include "guard/policy.hpp"

namespace baton::api {

// Resolves the caller from `Authorization: Bearer …` (or `x-api-key`). Answers 401 and returns
// false when the key is missing, unknown, revoked or expired (open dev mode admits everyone).
awaitable<bool> authenticate(RequestContext& ctx);

// After the model is known: 403 when the key may not use it, then the limiter's admission
// (429 with retry-after naming the limit, or 503 when a fail-closed limit cannot be checked).
awaitable<bool> admit(RequestContext& ctx, const routing::ModelGroup& group, std::uint64_t est_input_tokens,
                      std::uint64_t est_output_tokens);

// The PII policy for this request: the model's, with the caller's team and key overrides laid
// over it. Returns the group's own policy when the caller has no override (no copy).
const guard::Policy& effective_pii_policy(const RequestContext& ctx, const routing::ModelGroup& group,
                                          guard::Policy& scratch);

// Called by the session after every request: settles the ticket and queues the usage record.
void finish(RequestContext& ctx);

}  // namespace baton::api
