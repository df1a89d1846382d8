#pragma once
// Everything one request's handler works with. Lives on the session coroutine's frame for the
// duration of the request; the route table is pinned so a reload mid-request changes nothing here.
#include <memory>
#include <string>

#include "core/errors.hpp"
#include "http/asio.hpp"
#include "http/deadline_sweep.hpp"
#include "http/request.hpp"
#include "obs/access_log.hpp"
#include "routing/route_table.hpp"
#include "tenancy/keys.hpp"
#include "tenancy/limiter.hpp"

namespace baton::server {
class Worker;
}

namespace baton::api {

using Request = http::Request;

struct RequestContext {
  server::Worker& worker;
  tcp::socket& client;
  http::SocketDeadline& client_deadline;  // the session's: bounds every read and write on `client`
  beast::flat_buffer& client_buffer;  // the session's read buffer (may hold a pipelined request)
  Request& request;
  std::shared_ptr<const routing::RouteTable> routes;
  std::string_view request_id;  // the session keeps the text
  // The limiter ticket to settle once the response is done. The session's: its strings keep their
  // capacity from one request to the next on the connection.
  tenancy::Ticket& ticket;
  Clock::time_point started;
  bool keep_alive = true;
  bool draining = false;          // answer with connection: close
  Clock::duration upstream_wait{};  // time spent waiting on upstreams (excluded from overhead)
  obs::AccessRecord log;
  obs::RouteMetrics* metrics = nullptr;  // set once a deployment is chosen
  std::string pii_types;                 // audit: "KR_RRN:2,..." (the log holds a view of it)

  // Governance: who called (the ticket is above).
  tenancy::TokenDigestMemo* token_memo = nullptr;  // the session's
  tenancy::Caller caller;
  bool ticket_admitted = false;       // admit() let it through (counted, or failed open) and settle() is still owed
  bool usage_expected = false;        // a model request: one usage record when it ends
  const config::Price* price = nullptr;  // the answering deployment's price
  std::int64_t cached_input_tokens = 0;
  double cost_usd = 0;

  std::int64_t overhead_us() const;
};

// Response head with the headers every answer carries (request id, connection handling).
// `extra` is zero or more complete "name: value\r\n" lines.
std::string response_head(RequestContext& ctx, unsigned status, std::string_view content_type,
                          std::size_t content_length, std::string_view extra = {});

// Writes head and body with one gathered write. Returns false (and clears keep_alive) on failure.
awaitable<bool> write_response(RequestContext& ctx, unsigned status, std::string_view content_type,
                               std::string_view body, std::string_view extra = {});
awaitable<bool> write_buffers(RequestContext& ctx, std::span<const asio::const_buffer> buffers);

// An error in the OpenAI shape (or Anthropic's on /v1/messages), counted in metrics and the log.
awaitable<void> write_error(RequestContext& ctx, const Error& error, std::string_view extra = {});

// Routes one parsed request to its handler. Never throws.
awaitable<void> dispatch(RequestContext& ctx);

std::string_view reason_phrase(unsigned status);

}  // namespace baton::api
