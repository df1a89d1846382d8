#include "core/json_text.hpp"

#include "api/context.hpp"
#include "api/governance_stage.hpp"
#include "http/socket_write.hpp"
#include "server/worker.hpp"

namespace baton::api {

std::int64_t RequestContext::overhead_us() const {
  const auto inside = (Clock::now() - started) - upstream_wait;
  return std::chrono::duration_cast<std::chrono::microseconds>(inside).count();
}

std::string_view reason_phrase(unsigned status) {
  return bhttp::obsolete_reason(static_cast<bhttp::status>(status));
}

std::string response_head(RequestContext& ctx, unsigned status, std::string_view content_type,
                          std::size_t content_length, std::string_view extra) {
  std::string head;
  head.reserve(256 + extra.size());
  head += "HTTP/1.1 ";
  append_decimal(head, static_cast<std::uint64_t>(status));
  head += ' ';
  head += reason_phrase(status);
  head += "\r\ncontent-type: ";
  head += content_type;
  head += "\r\ncontent-length: ";
  append_decimal(head, static_cast<std::uint64_t>(content_length));
  head += "\r\nx-request-id: ";
  head += ctx.request_id;
  head += "\r\n";
  head += extra;
  if (ctx.draining || !ctx.keep_alive) {
    ctx.keep_alive = false;
    head += "connection: close\r\n";
  }
  head += "\r\n";
  return head;
}

awaitable<bool> write_buffers(RequestContext& ctx, std::span<const asio::const_buffer> buffers) {
  error_code ec;
  const std::size_t sent = http::write_now(ctx.client, buffers, ec);
  if (!ec && sent < http::total_size(buffers)) {
    // A client that stops reading gets idle_timeout_ms to take the rest of the answer.
    ctx.client_deadline.arm_lenient(Clock::now(), ms(ctx.worker.server_config().idle_timeout_ms));
    co_await http::write_rest(ctx.client, buffers, sent, ec);
    ctx.client_deadline.disarm();
  }
  if (ec) {
    ctx.keep_alive = false;
    co_return false;
  }
  co_return true;
}

awaitable<bool> write_response(RequestContext& ctx, unsigned status, std::string_view content_type,
                               std::string_view body, std::string_view extra) {
  ctx.log.status = status;
  const std::string head = response_head(ctx, status, content_type, body.size(), extra);
  const std::array buffers = {asio::const_buffer(head.data(), head.size()), asio::const_buffer(body.data(), body.size())};
  const bool written = co_await write_buffers(ctx, buffers);
  co_return written;
}

awaitable<void> write_error(RequestContext& ctx, const Error& error, std::string_view extra) {
  const bool anthropic = ctx.request.target().starts_with("/v1/messages");
  const std::string body = anthropic ? anthropic_error_body(error) : openai_error_body(error);
  ctx.log.error_code = error_info(error.code).code;
  const unsigned status = http_status(error.code);
  // An admitted request that ends in an error (a PII block, a failed redaction) gives its parallel
  // slot and reservation back before the client has the answer and can send its next request.
  settle_admission(ctx);
  co_await write_response(ctx, status, "application/json", body, extra);
}

}  // namespace baton::api
