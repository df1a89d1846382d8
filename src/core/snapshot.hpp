#pragma once
// A shared_ptr that many threads read and one thread replaces now and then (the route table on
// reload, the key directory on a store poll). Readers copy it and keep their copy for a request.
//
// Not std::atomic<std::shared_ptr>: GCC 12's load() releases its internal lock bit with relaxed
// order, so nothing orders a reader's read of the pointer before the next store()'s write of it;
// ThreadSanitizer reports that as a data race (make test-tsan), and the memory model agrees. A mutex
// held for a pointer copy costs ~20 ns uncontended, once per request.
#include <memory>
#include <mutex>
#include <utility>

namespace baton {

template <class T>
class Snapshot {
 public:
  std::shared_ptr<const T> load() const {
    std::lock_guard lock(mutex_);
    return value_;
  }

  void store(std::shared_ptr<const T> next) {
    std::shared_ptr<const T> previous;
    {
      std::lock_guard lock(mutex_);
      previous = std::exchange(value_, std::move(next));
    }
    // `previous` may be the last owner: it is destroyed here, outside the lock.
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const T> value_;
};

}  // namespace baton
