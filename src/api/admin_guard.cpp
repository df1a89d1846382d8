// POST /admin/guard/scan: the `baton guard scan` contract over HTTP (ARCHITECTURE §3.1, §3.3).
// Body: JSON lines {"id","text"} (or one JSON object, pretty-printed or not); answer: exactly the
// CLI's output lines as application/x-ndjson. A malformed line is an error line in a 200 answer,
// as it is in the CLI's output. The scan runs on the worker thread (~4 GB/s on clean text, worst
// cases ~0.2 s per MB), so bodies over kMaxScanBody are refused with 413 (server.max_body_bytes
// applies first); larger batches belong to the CLI.
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <optional>
#include <sstream>

#include "api/handlers.hpp"
#include "guard/jsonl.hpp"
#include "guard/policy.hpp"

namespace baton::api {

namespace {

constexpr std::size_t kMaxScanBody = 1024 * 1024;

// nullopt when the scan itself failed (allocation), never for bad input.
std::optional<std::string> scan_body(const guard::Scanner& scanner, const std::string& body) {
  std::istringstream in;
  boost::system::error_code ec;
  const boost::json::value whole = boost::json::parse(body, ec);
  if (!ec && whole.is_object()) {
    in.str(boost::json::serialize(whole));  // one object, perhaps over several lines: one line
  } else {
    in.str(body);
  }
  std::ostringstream out;
  if (guard::scan_jsonl(scanner, in, out) == guard::kJsonlIoError) return std::nullopt;
  return std::move(out).str();
}

}  // namespace

awaitable<void> admin::guard_scan(RequestContext& ctx) {
  if (!co_await admin_authorized(ctx)) co_return;
  if (ctx.request.body().size() > kMaxScanBody) {
    const Error error{ErrorCode::body_too_large,
                      "guard scan bodies are limited to 1 MiB; use `baton guard scan` for larger batches", {}};
    co_await write_error(ctx, error);
    co_return;
  }
  const guard::Scanner* scanner = guard::shared_scanner();
  std::optional<std::string> output;
  if (scanner != nullptr) output = scan_body(*scanner, ctx.request.body());
  if (!output) {
    const Error error{ErrorCode::internal_error,
                      scanner == nullptr ? "the PII scanner cannot run on this CPU" : "the PII scan failed", {}};
    co_await write_error(ctx, error);
    co_return;
  }
  co_await write_response(ctx, 200, "application/x-ndjson", *output);
}

}  // namespace baton::api
