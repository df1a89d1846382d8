#pragma once
// Endpoint handlers. Each writes exactly one response (or one stream) and never throws.
#include "api/context.hpp"

namespace baton::api {

namespace openai {
awaitable<void> chat_completions(RequestContext& ctx);
awaitable<void> embeddings(RequestContext& ctx);
awaitable<void> list_models(RequestContext& ctx);
}  // namespace openai

// Answers 401 and returns false unless the request carries the master key (or none is configured).
awaitable<bool> admin_authorized(RequestContext& ctx);

namespace admin {
awaitable<void> deployments(RequestContext& ctx);
awaitable<void> guard_scan(RequestContext& ctx);  // POST /admin/guard/scan (admin_guard.cpp)
awaitable<void> keys(RequestContext& ctx);        // /admin/keys[/{id}] (admin_tenancy.cpp)
awaitable<void> teams(RequestContext& ctx);       // /admin/teams[/{id}]
awaitable<void> usage(RequestContext& ctx);       // GET /admin/usage (admin_usage.cpp)
}  // namespace admin

namespace ops {
awaitable<void> health_live(RequestContext& ctx);
awaitable<void> health_ready(RequestContext& ctx);
awaitable<void> metrics(RequestContext& ctx);
}  // namespace ops

}  // namespace baton::api
