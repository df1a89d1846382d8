#include <array>

#include "api/handlers.hpp"

namespace baton::api {

namespace {
using Handler = awaitable<void> (*)(RequestContext&);

struct Route {
  std::string_view path;
  bhttp::verb method;  // unknown: the handler serves several methods and answers 405 itself
  Handler handler;
  bool with_items = false;  // also serves "path/{id}"
};

constexpr std::array kRoutes = {
    Route{"/v1/chat/completions", bhttp::verb::post, &openai::chat_completions},
    Route{"/v1/embeddings", bhttp::verb::post, &openai::embeddings},
    Route{"/v1/models", bhttp::verb::get, &openai::list_models},
    Route{"/admin/deployments", bhttp::verb::get, &admin::deployments},
    Route{"/admin/guard/scan", bhttp::verb::post, &admin::guard_scan},
    Route{"/admin/keys", bhttp::verb::unknown, &admin::keys, true},
    Route{"/admin/teams", bhttp::verb::unknown, &admin::teams, true},
    Route{"/admin/usage", bhttp::verb::get, &admin::usage},
    Route{"/health/live", bhttp::verb::get, &ops::health_live},
    Route{"/health/ready", bhttp::verb::get, &ops::health_ready},
    Route{"/metrics", bhttp::verb::get, &ops::metrics},
};

awaitable<void> method_not_allowed(RequestContext& ctx, std::string_view path, bhttp::verb allowed) {
  const std::string allow = "allow: " + std::string(bhttp::to_string(allowed)) + "\r\n";
  const Error error{ErrorCode::method_not_allowed,
                    std::string(ctx.request.method_string()) + " is not allowed on " + std::string(path) + "; use " +
                        std::string(bhttp::to_string(allowed)),
                    {}};
  co_await write_error(ctx, error, allow);
}

awaitable<void> not_found(RequestContext& ctx, std::string_view path) {
  const Error error{ErrorCode::not_found, "no such endpoint: " + std::string(path), {}};
  co_await write_error(ctx, error);
}
}  // namespace

// Not a coroutine: it hands back the handler's own awaitable, so a request (and an open stream for
// its whole life) carries no dispatch frame.
awaitable<void> dispatch(RequestContext& ctx) {
  std::string_view path = ctx.request.target();
  path = path.substr(0, path.find('?'));
  for (const Route& route : kRoutes) {
    const bool item = route.with_items && path.size() > route.path.size() + 1 && path.starts_with(route.path) &&
                      path[route.path.size()] == '/';
    if (route.path != path && !item) continue;
    const bhttp::verb method = ctx.request.method();
    if (route.method == bhttp::verb::unknown || method == route.method || (method == bhttp::verb::head && route.method == bhttp::verb::get)) {
      return route.handler(ctx);
    }
    return method_not_allowed(ctx, path, route.method);
  }
  return not_found(ctx, path);
}

}  // namespace baton::api
