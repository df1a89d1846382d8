#include "tenancy/governance.hpp"

#include <spdlog/spdlog.h>

#include <array>

#include "store/redis_client.hpp"
#include "tenancy/local_limiter.hpp"
#include "tenancy/periods.hpp"
#include "tenancy/pricing.hpp"
#include "tenancy/redis_limiter.hpp"

namespace baton::tenancy {

namespace {

// The budget period around `now_ms`. Formatting its id costs more than the rest of a ticket, and it
// changes once a day at most: remember the last answer per period kind, per thread.
const PeriodWindow& cached_period(store::BudgetPeriod period, std::int64_t now_ms) {
  thread_local std::array<PeriodWindow, 3> cache{};
  PeriodWindow& slot = cache[static_cast<std::size_t>(period)];
  if (now_ms < slot.start_ms || now_ms >= slot.end_ms) slot = period_at(period, now_ms);
  return slot;
}

// Writes `scope`'s limits into `s`, a subject slot whose strings may be reused from an earlier
// request on the connection. False when nothing is limited (the slot is then not part of the ticket).
bool fill_subject(Subject& s, const std::string& scope, const store::Limits& limits, std::int64_t now_ms,
                  const config::PricingConfig& pricing, bool fail_closed) {
  s.rpm = limits.rpm;
  s.tpm = limits.tpm;
  s.max_parallel = limits.max_parallel;
  s.budget_usd = 0;
  s.period_id.clear();
  s.period_end_ms = 0;
  if (limits.budget > 0) {
    s.budget_usd = to_usd(limits.budget, limits.budget_currency, pricing);
    const PeriodWindow& window = cached_period(limits.budget_period, now_ms);
    s.period_id.assign(window.id);
    s.period_end_ms = window.end_ms;
  }
  if (!s.limited()) return false;
  s.scope.assign(scope);
  switch (limits.fail_mode) {
    case store::FailMode::open: s.fail_mode = store::FailMode::open; break;
    case store::FailMode::closed: s.fail_mode = store::FailMode::closed; break;
    case store::FailMode::inherit: s.fail_mode = fail_closed ? store::FailMode::closed : store::FailMode::open; break;
  }
  return true;
}

}  // namespace

Governance::Governance(const config::Config& config) : storage_(config.storage), pricing_(config.pricing) {
  store_ = store::open_store(storage_.url);
  backend_ = std::string(store_->backend());
  store_->migrate();
  const std::int64_t revision = store_->keys_revision();
  auto directory = std::make_shared<const KeyDirectory>(store_->list_keys(), store_->list_teams(), revision);
  directory_.store(directory);

  if (storage_.redis.empty()) {
    auto local = std::make_unique<LocalLimiter>();
    local_limiter_ = local.get();
    limiter_ = std::move(local);
  } else {
    std::string why;
    const std::optional<store::RedisUrl> url = store::RedisUrl::parse(storage_.redis, &why);
    if (!url) throw store::StoreError("storage.redis: " + why);
    redis_ = std::make_unique<store::RedisClient>(*url);
    RedisLimiter::Options options;
    options.timeout = std::chrono::milliseconds(storage_.redis_timeout_ms);
    limiter_ = std::make_unique<RedisLimiter>(*redis_, options);
  }
  seed_budgets(*store_, *directory);

  const std::string url = storage_.url;
  usage_ = std::make_unique<UsageWriter>([url] { return store::open_store(url); }, storage_.usage_queue,
                                         storage_.usage_batch, std::chrono::milliseconds(storage_.usage_flush_ms));
  schedule_refresh();
  store_thread_ = std::thread([this] { store_io_.run(); });
}

Governance::~Governance() { stop(std::chrono::milliseconds(0)); }

void Governance::stop(std::chrono::milliseconds usage_deadline) {
  if (stopped_.exchange(true)) return;
  asio::post(store_io_, [this] { refresh_timer_.cancel(); });
  store_work_.reset();
  if (store_thread_.joinable()) store_thread_.join();
  usage_->stop(usage_deadline);
}

store::Store& Governance::admin_store() {
  if (store_ == nullptr) store_ = store::open_store(storage_.url);
  return *store_;
}

void Governance::schedule_refresh() {
  refresh_timer_.expires_after(std::chrono::milliseconds(storage_.keys_refresh_ms));
  refresh_timer_.async_wait([this](const error_code& ec) {
    if (ec || stopped_.load()) return;
    try {
      refresh(admin_store());
      if (refresh_failures_ > 0) spdlog::info("keys: the store answers again");
      refresh_failures_ = 0;
    } catch (const std::exception& e) {
      store_.reset();
      // Keys keep working from the last snapshot while the store is away; say so once, then rarely.
      if (refresh_failures_++ % 100 == 0) {
        spdlog::warn("keys: cannot poll the store for key changes (serving the last known keys): {}", e.what());
      }
    }
    schedule_refresh();
  });
}

void Governance::refresh(store::Store& store) {
  const std::int64_t revision = store.keys_revision();
  if (revision == directory()->revision()) return;
  auto directory = std::make_shared<const KeyDirectory>(store.list_keys(), store.list_teams(), revision);
  seed_budgets(store, *directory);
  directory_.store(std::move(directory));
  directory_generation_.fetch_add(1, std::memory_order_release);
}

void Governance::seed_budgets(store::Store& store, const KeyDirectory& directory) {
  // A restarted process (or a fresh Redis) learns this period's spend from the usage table, so a
  // restart never resets a budget. Each (scope, period) is read once: after that the limiter
  // itself counts, and a directory reload must not query every budget again.
  const std::int64_t now = unix_now_ms();
  auto seed = [&](const std::string& scope, const store::Limits& limits, const std::string& key_id,
                  const std::string& team_id) {
    if (limits.budget <= 0) return;
    const PeriodWindow window = period_at(limits.budget_period, now);
    if (!seeded_budgets_.insert(scope + "|" + window.id).second) return;
    limiter_->seed_spend(scope, window.id, store.spend_since(key_id, team_id, window.start_ms), window.end_ms);
  };
  for (const store::TeamRecord& team : directory.teams()) seed("team:" + team.id, team.limits, {}, team.id);
  for (const KeyDirectory::Entry& entry : directory.entries()) {
    if (entry.key.revoked_at_ms == 0) seed(entry.key_scope, entry.key.limits, entry.key.id, {});
  }
}

void Governance::fill_ticket(Ticket& ticket, const Caller& caller, std::string_view request_id, double estimate_usd,
                             std::int64_t now_ms, const config::PricingConfig& pricing) const {
  ticket.request_id.assign(request_id);
  ticket.estimate_usd = estimate_usd;
  std::size_t used = 0;
  // Slots are reused, not rebuilt: a keep-alive client with the same key fills the same strings.
  auto fill = [&](const std::string& scope, const store::Limits& limits) {
    if (used == ticket.subjects.size()) ticket.subjects.emplace_back();
    if (fill_subject(ticket.subjects[used], scope, limits, now_ms, pricing, storage_.fail_closed)) ++used;
  };
  if (caller.status == Caller::Status::key && caller.entry != nullptr) {
    fill(caller.entry->key_scope, caller.entry->key.limits);
    if (const store::TeamRecord* team = caller.entry->team; team != nullptr) fill(caller.entry->team_scope, team->limits);
  }
  ticket.subjects.resize(used);
}

}  // namespace baton::tenancy
