#pragma once
// Deadlines for every wait of one worker, on one timer. An Asio timer per wait costs a heap insert,
// a cancel and a completion handler each time, and a JSON request armed six of them (client idle
// read, head read, response write, the client watch, upstream write and read: ~1.2 µs of a 10 µs
// user-space budget). Arming a Deadline is a list link and a store. The worker's one timer fires at
// the earliest time some armed entry may be expired by (its deadline plus its tolerance, so
// neighbours share a sweep), walks the armed entries and expires the due ones; almost every deadline
// is disarmed long before it is due and costs the timer nothing.
//
// Moving the timer costs a timerfd_settime (and, in a VM, often a trap to program the host's
// timer). A new connection used to move it four times: the idle wait, the head read, the client
// watch, then a cancel when nothing was left armed. Generous tolerances on the session's
// second-scale deadlines and a timer that stays put while the worker serves (hold_when_idle) make
// one sweep serve every connection that arrives before it.
#include <algorithm>
#include <cstddef>

#include "http/asio.hpp"

namespace baton::http {

class DeadlineSweep;

inline constexpr Clock::duration kDefaultTolerance = std::chrono::milliseconds(5);

// A tolerance for a deadline `timeout` away that nobody needs to the millisecond (a keep-alive
// idle wait, a request-head read): an eighth of it, between 5 ms and one second.
constexpr Clock::duration lenient_tolerance(Clock::duration timeout) {
  return std::clamp<Clock::duration>(timeout / 8, kDefaultTolerance, std::chrono::seconds(1));
}

// One wait's deadline. expire() runs on the worker's thread once the deadline has passed while
// armed (within its tolerance); it is expected to cancel the wait (a socket's pending operation)
// and must not arm, disarm or destroy any other Deadline: a sweep expires its due entries in a row.
class Deadline {
 public:
  explicit Deadline(DeadlineSweep& sweep) : sweep_(&sweep) {}
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;

  // (Re)arms for `at`, clearing expired(). Arming with a time already past expires at the next sweep.
  // expire() runs between `at` and `at + tolerance` (plus the loop's own delay).
  void arm(Clock::time_point at, Clock::duration tolerance = kDefaultTolerance);
  // arm(from + timeout) with lenient_tolerance(timeout): for second-scale waits nobody times to the
  // millisecond (a keep-alive idle wait, a request read, a client write).
  void arm_lenient(Clock::time_point from, Clock::duration timeout) { arm(from + timeout, lenient_tolerance(timeout)); }
  void disarm();
  bool armed() const { return linked_; }
  // The deadline passed while armed (cleared by the next arm()).
  bool expired() const { return expired_; }

 protected:
  ~Deadline() { disarm(); }
  virtual void expire() = 0;

 private:
  friend class DeadlineSweep;
  DeadlineSweep* sweep_;  // null once the sweep itself is gone (worker teardown)
  Deadline* previous_ = nullptr;
  Deadline* next_ = nullptr;
  Clock::time_point at_{};
  Clock::time_point latest_{};  // at_ + tolerance: the sweep must run by then
  bool linked_ = false;
  bool expired_ = false;
};

class DeadlineSweep {
 public:
  explicit DeadlineSweep(const asio::any_io_executor& executor) : timer_(executor) {}
  ~DeadlineSweep();
  DeadlineSweep(const DeadlineSweep&) = delete;
  DeadlineSweep& operator=(const DeadlineSweep&) = delete;

  std::size_t armed() const { return armed_; }

  // Held, the timer stays scheduled when the last entry is disarmed (the next connection's
  // deadlines then usually fall after it and move nothing; a sweep that finds nothing armed
  // schedules no other). Released, a sweep with nothing armed leaves no pending wait, so a
  // draining worker's loop can end: release it before draining. Not held by default.
  void hold_when_idle(bool hold);

 private:
  friend class Deadline;
  void link(Deadline& entry);
  void unlink(Deadline& entry);
  void schedule(Clock::time_point at);
  void cancel_pending();
  void sweep();

  asio::steady_timer timer_;
  Deadline* first_ = nullptr;
  std::size_t armed_ = 0;
  Clock::time_point scheduled_ = Clock::time_point::max();  // when the pending sweep runs; max: none
  bool hold_when_idle_ = false;
};

// Cancels a socket's pending operation when the deadline passes (its completion then carries
// operation_aborted; expired() tells a timeout from other cancellations).
class SocketDeadline final : public Deadline {
 public:
  SocketDeadline(DeadlineSweep& sweep, tcp::socket& socket) : Deadline(sweep), socket_(&socket) {}
  ~SocketDeadline() = default;

 private:
  void expire() override {
    error_code ignored;
    socket_->cancel(ignored);
  }
  tcp::socket* socket_;
};

}  // namespace baton::http
