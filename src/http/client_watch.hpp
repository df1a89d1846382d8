#pragma once
// Notices a client that hangs up while baton waits on an upstream, and cancels the upstream
// exchange so the model stops generating for nobody. Costs no syscall unless the client's socket
// becomes readable: an idle request/response client never sends while it waits for its answer, so
// readability means it closed (peeked EOF) or pipelined its next request (then we stop watching).
#include <sys/socket.h>

#include <cerrno>

#include <memory>

#include "http/asio.hpp"
#include "http/deadline_sweep.hpp"
#include "http/upstream.hpp"

namespace baton::http {

class ClientWatch final : private Deadline {
 public:
  // A fast upstream answers before anyone could notice a departed client; arming the watch costs an
  // epoll_ctl, so it starts only once the wait has lasted this long.
  static constexpr auto kArmAfter = std::chrono::milliseconds(50);
  // It may start up to this much later: a departed client is still noticed within a third of a
  // second, and the watch then rides along with whichever sweep is already scheduled instead of
  // moving the worker's timer for every request.
  static constexpr auto kArmTolerance = std::chrono::milliseconds(250);

  ClientWatch(DeadlineSweep& sweep, tcp::socket& client, UpstreamCall& call, Clock::time_point now)
      : Deadline(sweep), client_(client), call_(call) {
    arm(now + kArmAfter, kArmTolerance);
  }
  ~ClientWatch() {
    if (!state_) return;
    state_->active = false;
    error_code ignored;
    if (state_->armed) state_->socket->cancel(ignored);
  }
  ClientWatch(const ClientWatch&) = delete;
  ClientWatch& operator=(const ClientWatch&) = delete;

  bool client_gone() const { return state_ && state_->gone; }

 private:
  // Shared with the readiness handler, which may run after the watch is gone (then it only sees
  // active == false). Allocated only for the slow waits that get that far.
  struct State {
    UpstreamCall* call;
    tcp::socket* socket;
    bool active = true;
    bool armed = false;
    bool gone = false;
  };

  void expire() override {
    state_ = std::make_shared<State>(State{&call_, &client_});
    state_->armed = true;
    client_.async_wait(tcp::socket::wait_read, long_wait_handler([state = state_](const error_code& wait_ec) {
      state->armed = false;
      if (wait_ec || !state->active) return;  // cancelled: the exchange is over, touch nothing else
      char byte = 0;
      const ssize_t n = ::recv(state->socket->native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
        state->gone = true;
        state->call->cancel();
      }
    }));
  }

  tcp::socket& client_;
  UpstreamCall& call_;
  std::shared_ptr<State> state_;
};

}  // namespace baton::http
