#include "routing/shared_health.hpp"

#include <spdlog/spdlog.h>

#include <charconv>
#include <unordered_set>

namespace baton::routing {

namespace {

std::int64_t steady_us(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

std::int64_t unix_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string breaker_key(const std::string& deployment_id) { return "baton:breaker:" + deployment_id; }

std::optional<std::int64_t> parse_ms(const store::RedisReply& reply) {
  if (reply.type != store::RedisReply::Type::string) return std::nullopt;
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(reply.str.data(), reply.str.data() + reply.str.size(), value);
  if (ec != std::errc() || end != reply.str.data() + reply.str.size()) return std::nullopt;
  return value;
}

}  // namespace

SharedHealth::SharedHealth(store::RedisClient& client, std::function<HealthView()> deployments)
    : SharedHealth(client, std::move(deployments), Options{}) {}

SharedHealth::SharedHealth(store::RedisClient& client, std::function<HealthView()> deployments, Options options)
    : client_(client), deployments_(std::move(deployments)), options_(options), timer_(client.executor()) {}

SharedHealth::~SharedHealth() { stop(); }

void SharedHealth::start() {
  if (started_) return;
  started_ = true;
  done_ = std::promise<void>();
  done_future_ = done_.get_future();
  asio::co_spawn(client_.executor(), run(), [this](const std::exception_ptr& error) {
    if (error) {
      try {
        std::rethrow_exception(error);
      } catch (const std::exception& e) {
        spdlog::error("shared health: {}", e.what());
      }
    }
    done_.set_value();
  });
}

void SharedHealth::stop() {
  if (!started_) return;
  started_ = false;
  // The timer and the flag belong to the client's thread.
  asio::post(client_.executor(), [this] {
    stopping_ = true;
    timer_.cancel();
  });
  done_future_.wait();
  stopping_ = false;  // the loop has ended: start() may run it again
}

awaitable<void> SharedHealth::run() {
  while (!stopping_) {
    co_await tick();
    ticks_.fetch_add(1, std::memory_order_relaxed);
    if (stopping_) break;
    timer_.expires_after(options_.interval);
    auto [ec] = co_await timer_.async_wait(use_nothrow);
    (void)ec;  // cancelled by stop(): the loop condition ends it
  }
}

awaitable<void> SharedHealth::tick() {
  // Held until the end of the tick, across the MGET: the pointers stay valid that long, no longer.
  const HealthView view = deployments_();
  if (view.deployments.empty()) {
    known_.clear();
    co_return;
  }

  // (a) Publish breakers that opened here since the last tick. Not while disconnected: the SET
  // would be dropped, so leave them unpublished and try again next tick.
  const bool can_publish = client_.connected();
  const std::int64_t now_us = steady_us(Clock::now());
  const std::int64_t now_unix_ms = unix_ms_now();
  std::vector<std::string> mget{"MGET"};
  mget.reserve(view.deployments.size() + 1);
  for (const auto& [id, health] : view.deployments) {
    mget.push_back(breaker_key(id));
    const std::optional<std::int64_t> deadline = health->breaker().open_deadline_us();
    if (!can_publish || !deadline || *deadline <= now_us) continue;
    auto [known, fresh] = known_.try_emplace(id, *deadline);
    if (!fresh && known->second == *deadline) continue;  // published or adopted already
    known->second = *deadline;
    const std::int64_t remaining_ms = (*deadline - now_us + 999) / 1000;
    std::vector<std::string> publish{"SET", breaker_key(id), std::to_string(now_unix_ms + remaining_ms), "PX",
                                     std::to_string(remaining_ms)};
    client_.send(std::move(publish));
  }

  // (b) Adopt what the other replicas published.
  const store::RedisReply reply = co_await client_.command(std::move(mget), options_.timeout);
  if (reply.type != store::RedisReply::Type::array || reply.elements.size() != view.deployments.size()) co_return;
  const std::int64_t after_us = steady_us(Clock::now());
  const std::int64_t after_unix_ms = unix_ms_now();
  const std::int64_t tolerance_us = options_.tolerance.count() * 1000;
  for (std::size_t i = 0; i < view.deployments.size(); ++i) {
    const std::optional<std::int64_t> until_unix_ms = parse_ms(reply.elements[i]);
    if (!until_unix_ms || *until_unix_ms <= after_unix_ms) continue;
    const std::int64_t target_us = after_us + (*until_unix_ms - after_unix_ms) * 1000;
    CircuitBreaker& breaker = view.deployments[i].second->breaker();
    const std::optional<std::int64_t> local = breaker.open_deadline_us();
    if (local && *local + tolerance_us >= target_us) continue;
    breaker.force_open_until(Clock::time_point(std::chrono::duration_cast<Clock::duration>(std::chrono::microseconds(target_us))));
    const std::optional<std::int64_t> applied = breaker.open_deadline_us();
    if (applied && *applied == target_us) {
      known_[view.deployments[i].first] = target_us;  // not ours to publish back
      adopted_.fetch_add(1, std::memory_order_relaxed);
    }
  }

  // Forget deployments a reload removed.
  if (known_.size() > view.deployments.size()) {
    std::unordered_set<std::string_view> live;
    for (const auto& entry : view.deployments) live.insert(entry.first);
    std::erase_if(known_, [&](const auto& entry) { return !live.contains(entry.first); });
  }
}

}  // namespace baton::routing
