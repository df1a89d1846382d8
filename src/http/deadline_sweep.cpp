#include "http/deadline_sweep.hpp"

namespace baton::http {
namespace {
// Saturating: a deadline of time_point::max() (never) must not wrap around.
Clock::time_point plus(Clock::time_point at, Clock::duration tolerance) {
  return at > Clock::time_point::max() - tolerance ? Clock::time_point::max() : at + tolerance;
}
}  // namespace

void Deadline::arm(Clock::time_point at, Clock::duration tolerance) {
  expired_ = false;
  at_ = at;
  latest_ = plus(at, tolerance);
  if (sweep_ == nullptr) return;
  if (!linked_) sweep_->link(*this);
  if (latest_ < sweep_->scheduled_) sweep_->schedule(latest_);
}

void Deadline::disarm() {
  if (linked_ && sweep_ != nullptr) sweep_->unlink(*this);
}

DeadlineSweep::~DeadlineSweep() {
  // Entries can outlive the sweep at teardown (coroutine frames die with the io_context): they
  // must not touch it then.
  for (Deadline* entry = first_; entry != nullptr; entry = entry->next_) {
    entry->sweep_ = nullptr;
    entry->linked_ = false;
  }
}

void DeadlineSweep::link(Deadline& entry) {
  entry.previous_ = nullptr;
  entry.next_ = first_;
  if (first_ != nullptr) first_->previous_ = &entry;
  first_ = &entry;
  entry.linked_ = true;
  ++armed_;
}

void DeadlineSweep::unlink(Deadline& entry) {
  if (entry.previous_ != nullptr) {
    entry.previous_->next_ = entry.next_;
  } else {
    first_ = entry.next_;
  }
  if (entry.next_ != nullptr) entry.next_->previous_ = entry.previous_;
  entry.previous_ = entry.next_ = nullptr;
  entry.linked_ = false;
  if (--armed_ == 0 && !hold_when_idle_) cancel_pending();
}

void DeadlineSweep::hold_when_idle(bool hold) {
  hold_when_idle_ = hold;
  if (!hold && armed_ == 0) cancel_pending();
}

void DeadlineSweep::cancel_pending() {
  // Nothing left to time: a pending wait would keep the worker's io_context running (a draining
  // worker must be able to finish).
  if (scheduled_ == Clock::time_point::max()) return;
  scheduled_ = Clock::time_point::max();
  timer_.cancel();
}

void DeadlineSweep::schedule(Clock::time_point at) {
  scheduled_ = at;
  timer_.expires_at(at);  // cancels the wait already pending, whose handler then does nothing
  timer_.async_wait([this](const error_code& ec) {
    if (!ec) sweep();
  });
}

void DeadlineSweep::sweep() {
  scheduled_ = Clock::time_point::max();
  const Clock::time_point now = Clock::now();
  // Unlink every due entry first, chaining them through next_, so expire() (which may arm or
  // disarm entries) never runs while the list is being walked.
  Deadline* due = nullptr;
  Clock::time_point next_sweep = Clock::time_point::max();
  for (Deadline* entry = first_; entry != nullptr;) {
    Deadline* next = entry->next_;
    if (entry->at_ <= now) {
      unlink(*entry);
      entry->next_ = due;
      due = entry;
    } else if (entry->latest_ < next_sweep) {
      next_sweep = entry->latest_;
    }
    entry = next;
  }
  while (due != nullptr) {
    Deadline* entry = due;
    due = entry->next_;
    entry->next_ = nullptr;
    entry->expired_ = true;
    entry->expire();
  }
  if (next_sweep < scheduled_) schedule(next_sweep);
}

}  // namespace baton::http
