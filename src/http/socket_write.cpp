#include "http/socket_write.hpp"

#include <sys/socket.h>
#include <sys/uio.h>

#include <array>
#include <cerrno>
#include <vector>

namespace baton::http {

namespace {
// Requests and responses are gathered from a handful of pieces; more go the asynchronous way.
constexpr std::size_t kMaxPieces = 16;
}  // namespace

std::size_t total_size(std::span<const asio::const_buffer> buffers) {
  std::size_t total = 0;
  for (const asio::const_buffer& buffer : buffers) total += buffer.size();
  return total;
}

std::size_t write_now(tcp::socket& socket, std::span<const asio::const_buffer> buffers, error_code& ec) {
  ec = {};
  if (buffers.size() > kMaxPieces) return 0;
  std::array<iovec, kMaxPieces> pieces{};
  std::size_t count = 0;
  for (const asio::const_buffer& buffer : buffers) {
    if (buffer.size() == 0) continue;
    pieces[count++] = iovec{const_cast<void*>(buffer.data()), buffer.size()};  // NOLINT: iovec is not const
  }
  if (count == 0) return 0;
  msghdr message{};
  message.msg_iov = pieces.data();
  message.msg_iovlen = count;
  for (;;) {
    const ssize_t sent = ::sendmsg(socket.native_handle(), &message, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (sent >= 0) return static_cast<std::size_t>(sent);
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) ec = error_code(errno, asio::error::get_system_category());
    return 0;
  }
}

awaitable<void> write_rest(tcp::socket& socket, std::span<const asio::const_buffer> buffers, std::size_t skip,
                           error_code& ec) {
  std::vector<asio::const_buffer> rest;
  rest.reserve(buffers.size());
  for (const asio::const_buffer& buffer : buffers) {
    if (skip >= buffer.size()) {
      skip -= buffer.size();
      continue;
    }
    rest.push_back(buffer + skip);
    skip = 0;
  }
  auto [write_ec, written] = co_await asio::async_write(socket, rest, use_nothrow);
  ec = write_ec;
}

}  // namespace baton::http
