#include "tenancy/usage_writer.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace baton::tenancy {

namespace {
constexpr auto kMaxRetryWait = std::chrono::milliseconds(2'000);
}

UsageWriter::UsageWriter(StoreFactory open_store, std::size_t capacity, std::size_t batch,
                         std::chrono::milliseconds flush_every)
    : open_store_(std::move(open_store)), capacity_(capacity), batch_(std::max<std::size_t>(batch, 1)),
      flush_every_(flush_every) {
  thread_ = std::thread([this] { run(); });
}

UsageWriter::~UsageWriter() { stop(std::chrono::milliseconds(0)); }

bool UsageWriter::reserve_slot() {
  if (pending_.fetch_add(1, std::memory_order_relaxed) >= capacity_) {
    pending_.fetch_sub(1, std::memory_order_relaxed);
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  return true;
}

void UsageWriter::stop(std::chrono::milliseconds deadline) {
  {
    const std::lock_guard lock(mutex_);
    if (!thread_.joinable()) return;
    stopping_ = true;
    stop_deadline_ = std::chrono::steady_clock::now() + deadline;
  }
  wake_.notify_one();
  thread_.join();
  if (const std::uint64_t left = pending_.load(); left > 0) {
    dropped_.fetch_add(left, std::memory_order_relaxed);
    spdlog::error("usage: {} record(s) could not be written before shutdown", left);
  }
}

bool UsageWriter::write(std::span<const store::UsageRecord> batch) {
  try {
    if (store_ == nullptr) store_ = open_store_();
    store_->insert_usage(batch);
    return true;
  } catch (const std::exception& e) {
    failures_.fetch_add(1, std::memory_order_relaxed);
    // Log the first failure and then every 100th: a database outage must not flood the log.
    if (failures_.load(std::memory_order_relaxed) % 100 == 1) {
      spdlog::warn("usage: writing {} record(s) failed, will retry: {}", batch.size(), e.what());
    }
    store_.reset();  // reconnect on the next try: the connection may be what broke
    return false;
  }
}

void UsageWriter::run() {
  std::vector<store::UsageRecord> batch;  // taken from queue_ (its first `taken` slots); written usage_batch per transaction
  std::size_t taken = 0;
  std::size_t done = 0;  // records of `batch` already written
  auto retry_wait = std::chrono::milliseconds(100);
  std::unique_lock lock(mutex_);
  for (;;) {
    if (done == taken) {
      taken = 0;
      done = 0;
      wake_.wait_for(lock, flush_every_, [&] { return stopping_ || queued_ >= batch_; });
      if (queued_ == 0) {
        if (stopping_) return;
        continue;
      }
      batch.swap(queue_);  // everything queued, in order; the written slots go back as free ones
      std::swap(taken, queued_);
    }
    const std::size_t n = std::min(batch_, taken - done);
    lock.unlock();
    const bool ok = write(std::span<const store::UsageRecord>(batch.data() + done, n));
    if (ok && done + n == taken && batch.size() > 2 * batch_) {
      batch.resize(batch_);  // after a backlog, keep no more free slots than a batch (outside the lock)
      batch.shrink_to_fit();
    }
    lock.lock();
    if (ok) {
      pending_.fetch_sub(n, std::memory_order_relaxed);
      written_.fetch_add(n, std::memory_order_relaxed);
      done += n;
      retry_wait = std::chrono::milliseconds(100);
      continue;
    }
    if (stopping_ && std::chrono::steady_clock::now() >= stop_deadline_) return;
    // Keep the batch and try again after a backoff; new records keep queueing meanwhile.
    wake_.wait_for(lock, retry_wait, [&] { return stopping_ && std::chrono::steady_clock::now() >= stop_deadline_; });
    retry_wait = std::min(retry_wait * 2, kMaxRetryWait);
  }
}

}  // namespace baton::tenancy
