#pragma once
// Keys, teams, limits and usage for one baton process: the store, the key directory every worker
// reads, the limiter, and the usage writer. Owned by server::App; workers only read the directory
// (an atomic snapshot), call the limiter (non-blocking) and push usage records (bounded queue).
//
// Threads: one "store thread" runs admin operations and the key refresh poll, each on its own
// store connection; the usage writer has its own thread and connection; with Redis, the Redis
// client has its own I/O thread. No store or Redis round trip ever runs on a worker thread.
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <thread>

#include "config/config.hpp"
#include "core/snapshot.hpp"
#include "http/asio.hpp"
#include "store/store.hpp"
#include "tenancy/keys.hpp"
#include "tenancy/limiter.hpp"
#include "tenancy/usage_writer.hpp"

namespace baton::store {
class RedisClient;
}

namespace baton::tenancy {

class LocalLimiter;

template <class T>
struct StoreOutcome {
  T value{};
  std::string error;  // non-empty: the store failed (its message), value is default
};

class Governance {
 public:
  // Opens the store, runs migrations and loads keys and teams. Throws store::StoreError, whose
  // message names the backend and what failed (startup refuses to run without its store).
  explicit Governance(const config::Config& config);
  ~Governance();
  Governance(const Governance&) = delete;
  Governance& operator=(const Governance&) = delete;

  // Stops polling for key changes, then writes queued usage records (up to `usage_deadline`).
  void stop(std::chrono::milliseconds usage_deadline);

  std::shared_ptr<const KeyDirectory> directory() const { return directory_.load(); }
  // Bumped after every directory swap: workers keep their own copy and reload it when this moves,
  // so the request path reads one relaxed atomic instead of the shared pointer's lock and count.
  std::uint64_t directory_generation() const { return directory_generation_.load(std::memory_order_acquire); }
  Limiter& limiter() { return *limiter_; }
  // Set when limits are per process: its admission never waits, so callers skip the coroutine.
  LocalLimiter* local_limiter() { return local_limiter_; }
  UsageWriter& usage() { return *usage_; }
  store::RedisClient* redis() { return redis_.get(); }
  const config::StorageConfig& storage() const { return storage_; }
  std::string_view backend() const { return backend_; }

  // Runs `fn` with the store thread's connection; completes on the calling coroutine's executor.
  // (Takes a named function by reference: GCC 12 mishandles temporaries inside co_await.)
  template <class T>
  awaitable<StoreOutcome<T>> on_store(const std::function<T(store::Store&)>& fn);

  // Reloads keys and teams now, from inside an on_store job: the admin call that changed a key
  // answers only after this replica's workers see the change.
  void refresh_after_change(store::Store& store) { refresh(store); }

  // Fills `ticket` with the subjects (key, team) and limits of one request, reusing its storage;
  // no subjects when nothing is limited.
  void fill_ticket(Ticket& ticket, const Caller& caller, std::string_view request_id, double estimate_usd,
                   std::int64_t now_ms, const config::PricingConfig& pricing) const;

 private:
  store::Store& admin_store();  // store thread only: the connection, reopened after a failure
  void schedule_refresh();
  void refresh(store::Store& store);
  void seed_budgets(store::Store& store, const KeyDirectory& directory);

  config::StorageConfig storage_;
  config::PricingConfig pricing_;
  std::string backend_;
  std::unique_ptr<store::Store> store_;  // used only on the store thread
  Snapshot<KeyDirectory> directory_;
  std::atomic<std::uint64_t> directory_generation_{1};
  std::unique_ptr<store::RedisClient> redis_;
  std::unique_ptr<Limiter> limiter_;
  LocalLimiter* local_limiter_ = nullptr;
  std::unique_ptr<UsageWriter> usage_;

  asio::io_context store_io_{1};
  asio::executor_work_guard<asio::io_context::executor_type> store_work_{store_io_.get_executor()};
  asio::steady_timer refresh_timer_{store_io_};
  std::thread store_thread_;
  std::atomic<bool> stopped_{false};
  std::uint64_t refresh_failures_ = 0;  // store thread only
  std::set<std::string> seeded_budgets_;  // "scope|period" whose spend was read; store thread only
};

template <class T>
awaitable<StoreOutcome<T>> Governance::on_store(const std::function<T(store::Store&)>& fn) {
  auto initiation = [this](auto handler, std::function<T(store::Store&)> job) {
    auto work = asio::make_work_guard(asio::get_associated_executor(handler));
    asio::post(store_io_, [this, job = std::move(job), handler = std::move(handler), work = std::move(work)]() mutable {
      StoreOutcome<T> outcome;
      try {
        outcome.value = job(admin_store());
      } catch (const std::exception& e) {
        store_.reset();  // reconnect next time: the connection may be what failed
        outcome.error = e.what();
        outcome.error += outcome.error.empty() ? "store failure" : "";
      }
      auto executor = asio::get_associated_executor(handler);
      asio::post(executor, [handler = std::move(handler), outcome = std::move(outcome)]() mutable {
        handler(std::move(outcome));
      });
    });
  };
  StoreOutcome<T> result = co_await asio::async_initiate<decltype(asio::use_awaitable), void(StoreOutcome<T>)>(
      initiation, asio::use_awaitable, fn);
  co_return result;
}

}  // namespace baton::tenancy
