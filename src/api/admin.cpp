// Admin endpoints (ARCHITECTURE §3.3): Bearer master key. With no master key configured baton runs
// in open dev mode (warned at startup) and admin endpoints answer without a key.
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <fmt/format.h>

#include "api/handlers.hpp"
#include "core/json_text.hpp"

namespace baton::api {

namespace {

// Compares SHA-256 digests with CRYPTO_memcmp: time does not depend on where the keys differ, nor
// (since digests have a fixed size) on the key's length.
bool same_secret(std::string_view presented, std::string_view expected) {
  unsigned char a[SHA256_DIGEST_LENGTH];
  unsigned char b[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(presented.data()), presented.size(), a);
  SHA256(reinterpret_cast<const unsigned char*>(expected.data()), expected.size(), b);
  return CRYPTO_memcmp(a, b, sizeof(a)) == 0;
}

}  // namespace

awaitable<bool> admin_authorized(RequestContext& ctx) {
  const std::string& master = ctx.routes->config().auth.master_key;
  if (master.empty()) co_return true;  // open dev mode
  std::string_view header = ctx.request.authorization();
  constexpr std::string_view kBearer = "Bearer ";
  if (header.starts_with(kBearer) && same_secret(header.substr(kBearer.size()), master)) co_return true;
  const Error denied{ErrorCode::invalid_api_key, "admin endpoints need 'Authorization: Bearer <master key>'", {}};
  co_await write_error(ctx, denied, "www-authenticate: Bearer\r\n");
  co_return false;
}

awaitable<void> admin::deployments(RequestContext& ctx) {
  if (!co_await admin_authorized(ctx)) co_return;
  std::string body = R"({"object":"list","data":[)";
  bool first = true;
  for (const routing::ModelGroup& group : ctx.routes->groups()) {
    for (const routing::Deployment& d : group.deployments) {
      if (!first) body += ',';
      first = false;
      body += R"({"model":)";
      append_json_string(body, group.config->name);
      body += R"(,"deployment":)";
      append_json_string(body, d.id);
      body += R"(,"provider":)";
      append_json_string(body, d.provider->name);
      body += R"(,"residency":)";
      append_json_string(body, d.provider->residency);
      const routing::DeploymentHealth& health = *d.health;
      body += fmt::format(
          R"(,"enabled":{},"live":{},"in_flight":{},"breaker":"{}","ewma_ttft_ms":{:.3f},"ewma_latency_ms":{:.3f},"recent_errors":[)",
          d.provider->enabled, d.live(), health.in_flight(), routing::to_string(health.breaker().state(Clock::now())),
          health.ewma_ttft_us() / 1000.0, health.ewma_total_us() / 1000.0);
      const routing::RecentErrors recent = health.recent_errors();
      for (std::size_t i = 0; i < recent.count; ++i) {
        if (i > 0) body += ',';
        append_json_string(body, routing::to_string(recent.kinds[i]));
      }
      body += ']';
      if (d.local != nullptr) {
        body += fmt::format(R"(,"local":{{"ready":{},"port":{},"pid":{},"restarts":{}}})", d.local->ready.load(),
                            d.local->port.load(), d.local->pid.load(), d.local->restarts.load());
      }
      body += '}';
    }
  }
  body += "]}";
  co_await write_response(ctx, 200, "application/json", body);
}

}  // namespace baton::api
