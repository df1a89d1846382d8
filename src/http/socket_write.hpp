#pragma once
// Writes that skip Asio's asynchronous machinery when the kernel takes the bytes at once, which it
// almost always does for a response head and body or a forwarded request (tens of KB fit the send
// buffer). An async_write costs an operation object, a posted completion and a coroutine resume
// even when its first, speculative sendmsg sends everything; write_now() is that one sendmsg.
// Only a write the socket could not take whole waits, through Asio, for the rest.
#include <span>

#include "http/asio.hpp"

namespace baton::http {

// One non-blocking sendmsg of `buffers`. Returns the bytes the kernel took (0 when it would block);
// `ec` is set only on a real error. Needs no particular socket mode (MSG_DONTWAIT).
std::size_t write_now(tcp::socket& socket, std::span<const asio::const_buffer> buffers, error_code& ec);

// Writes `buffers` after their first `skip` bytes, waiting for the socket as needed. The caller
// bounds the wait (a Deadline that cancels the socket).
awaitable<void> write_rest(tcp::socket& socket, std::span<const asio::const_buffer> buffers, std::size_t skip,
                           error_code& ec);

std::size_t total_size(std::span<const asio::const_buffer> buffers);

}  // namespace baton::http
