// Operational endpoints: liveness, readiness and Prometheus metrics.
#include "api/handlers.hpp"
#include "obs/metrics.hpp"
#include "server/app.hpp"
#include "server/worker.hpp"

namespace baton::api {

awaitable<void> openai::list_models(RequestContext& ctx) {
  co_await write_response(ctx, 200, "application/json", ctx.routes->models_json());
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
