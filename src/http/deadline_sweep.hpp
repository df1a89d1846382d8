#pragma once
// Deadlines for every wait of one worker, on one timer. An Asio timer per wait costs a heap insert,
// a cancel and a completion handler each time, and a JSON request armed six of them (client idle
// read, head read, response write, the client watch, upstream write and read: ~1.2 µs of a 10 µs
// user-space budget). Arming a Deadline is a list link and a store. The worker's one timer fires at
// the earliest deadline (plus a little slack, so neighbours share a sweep), walks the armed entries
// and expires the due ones; almost every deadline is disarmed long before it is due and costs the
// timer nothing.
#include <cstddef>

#include "http/asio.hpp"

namespace baton::http {

class DeadlineSweep;

// One wait's deadline. expire() runs on the worker's thread once the deadline has passed while
// armed (at most 2 × kSlack late); it is expected to cancel the wait (a socket's pending operation)
// and must not arm, disarm or destroy any other Deadline: a sweep expires its due entries in a row.
class Deadline {
 public:
  explicit Deadline(DeadlineSweep& sweep) : sweep_(&sweep) {}
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;

  // (Re)arms for `at`, clearing expired(). Arming with a time already past expires at the next sweep.
  void arm(Clock::time_point at);
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
  bool linked_ = false;
  bool expired_ = false;
};

class DeadlineSweep {
 public:
  // How late a deadline may fire: a new deadline reschedules the timer only when it is due more
  // than this before the scheduled sweep.
  static constexpr auto kSlack = std::chrono::milliseconds(5);

  explicit DeadlineSweep(const asio::any_io_executor& executor) : timer_(executor) {}
  ~DeadlineSweep();
  DeadlineSweep(const DeadlineSweep&) = delete;
  DeadlineSweep& operator=(const DeadlineSweep&) = delete;

  std::size_t armed() const { return armed_; }

 private:
  friend class Deadline;
  void link(Deadline& entry);
  void unlink(Deadline& entry);
  void schedule(Clock::time_point at);
  void sweep();

  asio::steady_timer timer_;
  Deadline* first_ = nullptr;
  std::size_t armed_ = 0;
  Clock::time_point scheduled_ = Clock::time_point::max();  // when the pending sweep runs; max: none
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
