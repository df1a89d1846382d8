#pragma once
// The usage pipeline: workers push one record per request into a bounded in-memory queue (a short
// uncontended lock, no I/O); one writer thread drains it in batches into the store. While the
// database is slow or down, records wait in the queue and are retried; only when the queue is full
// are new records dropped, and every drop is counted (baton_usage_records_dropped_total).
//
// Loss on a crash (kill -9) is bounded by what was queued and not yet written: what arrived since
// the writer last took the queue (about `flush_ms` worth while the store keeps up) plus what it took
// and has not committed yet, visible as baton_usage_records_pending.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "store/store.hpp"

namespace baton::tenancy {

class UsageWriter {
 public:
  using StoreFactory = std::function<std::unique_ptr<store::Store>()>;

  UsageWriter(StoreFactory open_store, std::size_t capacity, std::size_t batch, std::chrono::milliseconds flush_every);
  ~UsageWriter();
  UsageWriter(const UsageWriter&) = delete;
  UsageWriter& operator=(const UsageWriter&) = delete;

  // False when the queue is full: the record is dropped and counted.
  bool push(store::UsageRecord&& record) {
    return push_with([&](store::UsageRecord& slot) { slot = std::move(record); });
  }
  // The same, with `fill(store::UsageRecord&)` writing the record into a queue slot (under the
  // queue's lock: keep it to assignments). The slot starts reset, and its strings keep the
  // capacity of records written through it before, so a warm queue allocates nothing per record
  // and no record text is freed by another thread.
  template <class Fill>
  bool push_with(Fill&& fill) {
    if (!reserve_slot()) return false;
    bool wake = false;
    {
      const std::lock_guard lock(mutex_);
      if (queued_ == queue_.size()) queue_.emplace_back();
      store::UsageRecord& slot = queue_[queued_];
      slot.reset();
      fill(slot);
      ++queued_;
      wake = queued_ == batch_;  // a full batch need not wait for the timer
    }
    if (wake) wake_.notify_one();
    return true;
  }
  // Room for at least one more record (fail-closed requests check this before starting).
  bool has_room() const { return pending_.load(std::memory_order_relaxed) < capacity_; }
  // Writes everything queued, waiting up to `deadline`; then stops the writer thread.
  void stop(std::chrono::milliseconds deadline);

  std::uint64_t written() const { return written_.load(std::memory_order_relaxed); }
  std::uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  std::uint64_t pending() const { return pending_.load(std::memory_order_relaxed); }
  std::uint64_t write_failures() const { return failures_.load(std::memory_order_relaxed); }

 private:
  bool reserve_slot();  // counts the record as pending, or drops it (full queue)
  void run();
  bool write(std::span<const store::UsageRecord> batch);

  StoreFactory open_store_;
  const std::size_t capacity_;
  const std::size_t batch_;
  const std::chrono::milliseconds flush_every_;
  std::unique_ptr<store::Store> store_;  // the writer thread's own connection

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  // Slots for records not yet taken by the writer: the first queued_ hold records, the rest are
  // kept for their strings' capacity. The writer swaps the whole vector out and its written batch
  // comes back in as free slots.
  std::vector<store::UsageRecord> queue_;
  std::size_t queued_ = 0;
  bool stopping_ = false;
  std::chrono::steady_clock::time_point stop_deadline_{};

  std::atomic<std::uint64_t> pending_{0};  // queued + being written
  std::atomic<std::uint64_t> written_{0};
  std::atomic<std::uint64_t> dropped_{0};
  std::atomic<std::uint64_t> failures_{0};
  std::thread thread_;
};

}  // namespace baton::tenancy
