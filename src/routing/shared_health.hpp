#pragma once
// Breaker state shared between replicas through Redis, so that what one replica learned the hard way
// (a deployment failing) the others act on within a tick instead of rediscovering it request by
// request.
//
// Every tick (250 ms by default) on the RedisClient's thread:
//  (a) each deployment whose breaker opened locally since the last tick is published as
//      SET baton:breaker:<id> <open-until, Unix ms> PX <remaining ms>;
//  (b) one MGET reads every deployment's key, and a breaker another replica opened is opened here
//      until the same instant (CircuitBreaker::force_open_until), unless it is already open as long.
// steady_clock differs between processes, so deadlines cross Redis as Unix milliseconds and are
// converted to and from the local steady clock at each end. A breaker opened from Redis is not
// published back (no echo); a probe that fails after a shared cooldown reopens and is published.
// Closing is not shared: each replica's own probe closes its breaker.
#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "routing/health.hpp"
#include "store/redis_client.hpp"

namespace baton::routing {

// The deployments to share, as of now. The pointers are valid while `keep_alive` is held (e.g. the
// route table they belong to); SharedHealth holds a view for one tick only and asks again next tick,
// so a reload that swaps the table is picked up.
struct HealthView {
  std::shared_ptr<const void> keep_alive;
  std::vector<std::pair<std::string, DeploymentHealth*>> deployments;  // (stable deployment id, health)
};

class SharedHealth {
 public:
  struct Options {
    std::chrono::milliseconds interval{250};
    std::chrono::milliseconds timeout{200};  // for the MGET; a tick without an answer changes nothing
    // A remote deadline less than this much later than the local one is not applied: two replicas
    // converting the same instant through their clocks never nudge each other's deadlines forever.
    std::chrono::milliseconds tolerance{50};
  };

  // `deployments` is called on the Redis client's thread once per tick; it must be thread-safe.
  SharedHealth(store::RedisClient& client, std::function<HealthView()> deployments);
  SharedHealth(store::RedisClient& client, std::function<HealthView()> deployments, Options options);
  ~SharedHealth();  // stops
  SharedHealth(const SharedHealth&) = delete;
  SharedHealth& operator=(const SharedHealth&) = delete;

  void start();
  // Waits for the current tick to finish. Call before the RedisClient is destroyed, and never from
  // the Redis client's thread.
  void stop();

  // Ticks completed, and breakers opened here because another replica reported them (for metrics).
  std::uint64_t ticks() const { return ticks_.load(std::memory_order_relaxed); }
  std::uint64_t adopted() const { return adopted_.load(std::memory_order_relaxed); }

 private:
  awaitable<void> run();
  awaitable<void> tick();

  store::RedisClient& client_;
  const std::function<HealthView()> deployments_;
  const Options options_;
  asio::steady_timer timer_;  // used only on the client's thread
  bool stopping_ = false;     // likewise
  bool started_ = false;
  std::promise<void> done_;
  std::future<void> done_future_;
  // The breaker deadline (µs, local steady clock) last published or adopted, per deployment id: a
  // breaker whose deadline differs from it opened here since.
  std::unordered_map<std::string, std::int64_t> known_;
  std::atomic<std::uint64_t> ticks_{0};
  std::atomic<std::uint64_t> adopted_{0};
};

}  // namespace baton::routing
