// Operational endpoints: liveness, readiness and Prometheus metrics.
#include "api/governance_stage.hpp"
#include "api/handlers.hpp"
#include "core/json_text.hpp"
#include "obs/metrics.hpp"
#include "server/app.hpp"
#include "server/worker.hpp"

namespace baton::api {

awaitable<void> openai::list_models(RequestContext& ctx) {
  if (!co_await authenticate(ctx)) co_return;
  const tenancy::KeyDirectory::Entry* entry = ctx.caller.entry;
  const bool restricted = ctx.caller.status == tenancy::Caller::Status::key && entry != nullptr &&
                          (!entry->key.limits.allowed_models.empty() ||
                           (entry->team != nullptr && !entry->team->limits.allowed_models.empty()));
  if (!restricted) {
    co_await write_response(ctx, 200, "application/json", ctx.routes->models_json());
    co_return;
  }
  // A key limited to some models sees only those.
  std::string body = R"({"object":"list","data":[)";
  bool first = true;
  for (const routing::ModelGroup& group : ctx.routes->groups()) {
    if (!ctx.caller.may_use(group.config->name)) continue;
    if (!first) body += ',';
    first = false;
    body += R"({"id":)";
    append_json_string(body, group.config->name);
    body += R"(,"object":"model","created":0,"owned_by":"baton"})";
  }
  body += "]}";
  co_await write_response(ctx, 200, "application/json", body);
}

awaitable<void> ops::health_live(RequestContext& ctx) {
  co_await write_response(ctx, 200, "application/json", R"({"status":"ok"})");
}

awaitable<void> ops::health_ready(RequestContext& ctx) {
  if (ctx.draining) {
    co_await write_response(ctx, 503, "application/json", R"({"status":"draining"})");
  } else if (!ctx.worker.app().local_models_ready()) {
    co_await write_response(ctx, 503, "application/json", R"({"status":"starting","reason":"local model servers are not ready"})");
  } else {
    co_await write_response(ctx, 200, "application/json", R"({"status":"ready"})");
  }
}

awaitable<void> ops::metrics(RequestContext& ctx) {
  const std::string body = obs::Registry::instance().render();
  co_await write_response(ctx, 200, "text/plain; version=0.0.4; charset=utf-8", body);
}

}  // namespace baton::api
