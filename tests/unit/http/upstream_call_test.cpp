// UpstreamCall against a real TCP peer on a free port that writes a chunked SSE answer piece by
// piece, as a model server does between tokens.
#include <gtest/gtest.h>

#include "http/upstream.hpp"

namespace baton::http {
namespace {

constexpr std::string_view kHead =
    "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";

std::string chunk(std::string_view data) {
  char size[16];
  const int n = std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  return std::string(size, static_cast<std::size_t>(n)) + std::string(data) + "\r\n";
}

struct Peer {
  explicit Peer(asio::io_context& io) : acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)), socket(io) {}
  std::uint16_t port() const { return acceptor.local_endpoint().port(); }
  // Accepts the one connection and reads the request (small: one read is enough here).
  awaitable<void> accept_request() {
    socket = co_await acceptor.async_accept(asio::use_awaitable);
    std::array<char, 4096> request{};
    co_await socket.async_read_some(asio::buffer(request), asio::use_awaitable);
  }
  awaitable<void> send(const std::string& bytes) { co_await asio::async_write(socket, asio::buffer(bytes), asio::use_awaitable); }
  tcp::acceptor acceptor;
  tcp::socket socket;
};

// Between two chunks Beast keeps the first chunk's closing CRLF unparsed. The call must still wait
// for the next bytes (not spin on the two it has) and may give its read buffer back meanwhile;
// the kept bytes must reach the parser with the next read, and the connection must go back to the
// pool once the answer ends.
TEST(UpstreamCall, AStreamBetweenChunksWaitsForTheNextOneAndKeepsTheBytesItHeld) {
  asio::io_context io;
  TlsClientContext tls;
  const ProxySettings no_proxies;
  DeadlineSweep deadlines(io.get_executor());
  UpstreamPool pool(io.get_executor(), deadlines, tls, no_proxies);
  Peer peer(io);
  const config::Origin origin{false, "127.0.0.1", peer.port(), ""};

  // GCC 12: no non-trivial temporaries inside a co_await expression, so results go to named locals.
  bool finished = false;
  auto client = [&]() -> awaitable<void> {
    UpstreamCall call(pool);
    const std::string request = "POST /chat/completions HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\n{}";
    const asio::const_buffer buffers[] = {asio::buffer(request)};
    const auto soon = Clock::now() + std::chrono::seconds(5);
    UpstreamError error = co_await call.send(origin, buffers, soon, soon);
    EXPECT_EQ(error, UpstreamError::none);
    EXPECT_EQ(call.parser().status(), 200U);

    bool done = false;
    while (call.parser().body().empty() && error == UpstreamError::none) error = co_await call.read_body_some(soon, done);
    EXPECT_EQ(call.parser().body(), "data: one\n\n");
    call.parser().body().clear();
    call.release_memory();

    // Nothing more was sent: the wait runs into its deadline instead of returning at once.
    const auto wait_started = Clock::now();
    EXPECT_TRUE(call.can_wait_readable());  // the two bytes it holds cannot be parsed yet
    auto [idle_ec] = co_await call.wait_readable(Clock::now() + std::chrono::milliseconds(150));
    error = call.wait_readable_result(idle_ec);
    EXPECT_EQ(error, UpstreamError::timeout);
    EXPECT_GE(Clock::now() - wait_started, std::chrono::milliseconds(140));

    const std::string second = chunk("data: two\n\n");
    co_await peer.send(second);
    EXPECT_TRUE(call.can_wait_readable());
    auto [ready_ec] = co_await call.wait_readable(soon);
    error = call.wait_readable_result(ready_ec);
    EXPECT_EQ(error, UpstreamError::none);
    while (call.parser().body().empty() && !done && error == UpstreamError::none) error = co_await call.read_body_some(soon, done);
    EXPECT_EQ(call.parser().body(), "data: two\n\n");

    const std::string last = "0\r\n\r\n";
    co_await peer.send(last);
    while (!done && error == UpstreamError::none) error = co_await call.read_body_some(soon, done);
    EXPECT_EQ(error, UpstreamError::none);
    call.finish();
    EXPECT_EQ(pool.idle_connections(), 1U);  // every byte accounted for: reusable
    finished = true;
  };
  auto server = [&]() -> awaitable<void> {
    co_await peer.accept_request();
    const std::string first = std::string(kHead) + chunk("data: one\n\n");
    co_await peer.send(first);
  };
  asio::co_spawn(io, server(), [](std::exception_ptr e) { if (e) std::rethrow_exception(e); });
  asio::co_spawn(io, client(), [](std::exception_ptr e) { if (e) std::rethrow_exception(e); });
  io.run_for(std::chrono::seconds(10));
  EXPECT_TRUE(finished);
}

}  // namespace
}  // namespace baton::http
