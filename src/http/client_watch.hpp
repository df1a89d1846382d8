#pragma once
// Notices a client that hangs up while baton waits on an upstream, and cancels the upstream
// exchange so the model stops generating for nobody. Costs no syscall unless the client's socket
// becomes readable: an idle request/response client never sends while it waits for its answer, so
// readability means it closed (peeked EOF) or pipelined its next request (then we stop watching).
#include <sys/socket.h>

#include <cerrno>

#include <memory>

#include "http/asio.hpp"
#include "http/upstream.hpp"

namespace baton::http {

class ClientWatch {
 public:
  ClientWatch(beast::tcp_stream& client, UpstreamCall& call) : client_(client), state_(std::make_shared<State>()) {
    state_->call = &call;
    client.socket().async_wait(tcp::socket::wait_read, [state = state_, fd = client.socket().native_handle()](const error_code& ec) {
      state->pending = false;
      if (ec || !state->active) return;  // cancelled: the exchange is over, touch nothing else
      char byte = 0;
      const ssize_t n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
        state->gone = true;
        state->call->cancel();
      }
    });
  }
  ~ClientWatch() {
    state_->active = false;
    error_code ignored;
    if (state_->pending) client_.socket().cancel(ignored);
  }
  ClientWatch(const ClientWatch&) = delete;
  ClientWatch& operator=(const ClientWatch&) = delete;

  bool client_gone() const { return state_->gone; }

 private:
  struct State {
    UpstreamCall* call = nullptr;
    bool active = true;
    bool pending = true;
    bool gone = false;
  };
  beast::tcp_stream& client_;
  std::shared_ptr<State> state_;
};

}  // namespace baton::http
