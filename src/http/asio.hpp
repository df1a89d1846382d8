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

// For waits that may last the life of a stream (readiness, stall timers, the client watch):
// Asio's recycling allocator would hand such a small operation whatever cached block came free
// last (often a ~1 KB write operation), and it would hold that block for minutes. These take
// exactly their size from malloc instead. (Binding std::allocator would not do: Asio replaces the
// default allocator with its recycling one.)
template <class T>
struct ExactAllocator {
  using value_type = T;
  ExactAllocator() = default;
  template <class U>
  ExactAllocator(const ExactAllocator<U>&) noexcept {}  // NOLINT(google-explicit-constructor): rebinding
  T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T))); }
  void deallocate(T* p, std::size_t) noexcept { ::operator delete(p); }
  template <class U>
  bool operator==(const ExactAllocator<U>&) const noexcept { return true; }
};
inline auto use_nothrow_long_wait() { return asio::bind_allocator(ExactAllocator<void>(), use_nothrow); }
template <class Handler>
auto long_wait_handler(Handler handler) {
  return asio::bind_allocator(ExactAllocator<void>(), std::move(handler));
}

inline std::chrono::milliseconds ms(std::uint64_t value) { return std::chrono::milliseconds(value); }

}  // namespace baton

// Note for coroutine code: GCC 12 miscompiles non-trivially-destructible temporaries created inside
// a `co_await` expression (double free), and `co_return co_await f()` of a non-trivial type
// (corrupted frame). Build such arguments (std::string, Error...) as named locals first, and
// co_await into a named local before co_return.
