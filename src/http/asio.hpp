#pragma once
// The Asio/Beast vocabulary used across baton: coroutines that report errors as values (no
// exceptions on the request path) and the clock every deadline is measured on.
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>

namespace baton {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = boost::asio::ip::tcp;
using error_code = boost::system::error_code;
using Clock = std::chrono::steady_clock;
template <class T = void>
using awaitable = boost::asio::awaitable<T>;

// `co_await op(..., use_nothrow)` yields a tuple (error_code, result...) instead of throwing.
inline constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

inline std::chrono::milliseconds ms(std::uint64_t value) { return std::chrono::milliseconds(value); }

}  // namespace baton

// Note for coroutine code: GCC 12 miscompiles non-trivially-destructible temporaries created inside
// a `co_await` expression (double free), and `co_return co_await f()` of a non-trivial type
// (corrupted frame). Build such arguments (std::string, Error...) as named locals first, and
// co_await into a named local before co_return.
