#include "tenancy/local_limiter.hpp"

#include <boost/container/small_vector.hpp>
#include <functional>
#include <mutex>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace baton::tenancy {

namespace {

constexpr std::size_t kShards = 64;
constexpr std::int64_t kSweepEveryMs = 60'000;

struct Entry {
  std::int64_t at;  // ms for RPM, seconds for TPM
  std::uint64_t n;  // requests or tokens
};

// A sliding-window log: entries in ascending `at`, consumed from the front as they leave the window.
// A vector with a moving head rather than a deque: an empty deque still allocates ~600 bytes, and
// most scopes have only one of the two logs.
class TimeLog {
 public:
  void add(std::int64_t at, std::uint64_t n) {
    total_ += n;
    if (empty() || entries_.back().at < at) {
      entries_.push_back(Entry{at, n});
      return;
    }
    if (entries_.back().at == at) {
      entries_.back().n += n;
      return;
    }
    // Workers read the clock before they take the lock, so `at` may be a little older than the
    // newest entry: keep the order so the window edge stays exact.
    const auto first = entries_.begin() + static_cast<std::ptrdiff_t>(head_);
    const auto it = std::lower_bound(first, entries_.end(), at, [](const Entry& e, std::int64_t t) { return e.at < t; });
    if (it->at == at) {
      it->n += n;
    } else {
      entries_.insert(it, Entry{at, n});
    }
  }

  // Forgets the entries at or before `at`.
  void drop_through(std::int64_t at) {
    while (head_ < entries_.size() && entries_[head_].at <= at) total_ -= entries_[head_++].n;
    if (head_ == entries_.size()) {
      entries_.clear();
      head_ = 0;
    } else if (head_ >= 32 && head_ * 2 >= entries_.size()) {
      entries_.erase(entries_.begin(), entries_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
  }

  bool empty() const { return head_ == entries_.size(); }
  std::uint64_t total() const { return total_; }

  // With total() >= limit: the `at` of the entry whose departure brings the total below `limit`.
  std::int64_t frees_below(std::uint64_t limit) const {
    std::uint64_t left = total_;
    for (std::size_t i = head_; i < entries_.size(); ++i) {
      left -= entries_[i].n;
      if (left < limit) return entries_[i].at;
    }
    return entries_.back().at;
  }

  // Give memory back after a burst (sweep only: not worth it on the request path).
  void trim() {
    if (empty()) {
      std::vector<Entry>().swap(entries_);
    } else if (entries_.capacity() > 4 * entries_.size() + 64) {
      entries_.shrink_to_fit();
    }
  }

 private:
  std::vector<Entry> entries_;
  std::size_t head_ = 0;
  std::uint64_t total_ = 0;
};

struct PeriodSpend {
  std::string period_id;
  std::int64_t nanos = 0;
  std::int64_t end_ms = 0;
};

struct ScopeState {
  TimeLog rpm;  // (ms, requests admitted)
  TimeLog tpm;  // (second, tokens settled)
  std::uint32_t parallel = 0;
  std::int64_t reserved_nanos = 0;  // estimates of requests in flight, whatever their period
  std::vector<PeriodSpend> spends;  // usually one: the current period (two around a rollover)

  const PeriodSpend* find_spend(std::string_view period_id) const {
    for (const PeriodSpend& spend : spends) {
      if (spend.period_id == period_id) return &spend;
    }
    return nullptr;
  }
  PeriodSpend& spend_for(const std::string& period_id, std::int64_t end_ms) {
    for (PeriodSpend& spend : spends) {
      if (spend.period_id == period_id) return spend;
    }
    return spends.emplace_back(PeriodSpend{period_id, 0, end_ms});
  }

  // Prunes what the windows no longer hold; true when nothing at all is left.
  bool prune(std::int64_t now_ms) {
    rpm.drop_through(now_ms - kWindowMs);
    tpm.drop_through(now_ms / 1000 - kWindowMs / 1000);
    std::erase_if(spends, [&](const PeriodSpend& s) { return s.end_ms + kSpendRetentionMs < now_ms; });
    return rpm.empty() && tpm.empty() && parallel == 0 && reserved_nanos == 0 && spends.empty();
  }
};

// Heterogeneous lookup: a request's scope is found without building a std::string key.
struct ScopeHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

Admission refuse(const char* limit, const Subject& subject, std::uint32_t retry_after_s) {
  Admission out;
  out.outcome = Outcome::limited;
  out.limit = limit;
  out.scope = subject.scope;
  out.retry_after_s = retry_after_s;
  return out;
}

// Why `subject` cannot take one more request now, if it cannot. Checks in the order rpm, tpm,
// parallel, budget (RedisLimiter's script uses the same order, so both report the same limit).
std::optional<Admission> check(const Subject& subject, ScopeState& state, std::int64_t estimate_nanos,
                               std::int64_t now_ms) {
  if (subject.rpm != 0) {
    state.rpm.drop_through(now_ms - kWindowMs);
    if (state.rpm.total() >= subject.rpm) {
      return refuse("rpm", subject, retry_seconds(state.rpm.frees_below(subject.rpm) + kWindowMs, now_ms));
    }
  }
  if (subject.tpm != 0) {
    state.tpm.drop_through(now_ms / 1000 - kWindowMs / 1000);
    if (state.tpm.total() >= subject.tpm) {
      const std::int64_t second = state.tpm.frees_below(subject.tpm);
      return refuse("tpm", subject, retry_seconds(second * 1000 + kWindowMs, now_ms));
    }
  }
  if (subject.max_parallel != 0 && state.parallel >= subject.max_parallel) return refuse("parallel", subject, 1);
  if (subject.budget_usd > 0) {
    const std::int64_t budget = usd_to_nanos(subject.budget_usd);
    const PeriodSpend* spend = state.find_spend(subject.period_id);
    const std::int64_t committed = (spend != nullptr ? spend->nanos : 0) + state.reserved_nanos;
    // A used-up budget refuses even a zero estimate: the request would still cost something.
    if (committed >= budget || committed + estimate_nanos > budget) {
      return refuse("budget", subject, retry_seconds(subject.period_end_ms, now_ms));
    }
  }
  return std::nullopt;
}

}  // namespace

struct alignas(64) LocalLimiter::Shard {
  std::mutex mutex;
  std::unordered_map<std::string, ScopeState, ScopeHash, std::equal_to<>> scopes;
  std::int64_t next_sweep_ms = 0;

  // Call with the mutex held, before taking pointers into `scopes`.
  void maybe_sweep(std::int64_t now_ms) {
    if (now_ms >= next_sweep_ms) sweep(now_ms);
  }
  void sweep(std::int64_t now_ms) {
    for (auto it = scopes.begin(); it != scopes.end();) {
      if (it->second.prune(now_ms)) {
        it = scopes.erase(it);
        continue;
      }
      it->second.rpm.trim();
      it->second.tpm.trim();
      ++it;
    }
    next_sweep_ms = now_ms + kSweepEveryMs;
  }
};

namespace {
std::size_t shard_index(std::string_view scope) { return ScopeHash{}(scope) % kShards; }
}  // namespace

LocalLimiter::LocalLimiter() : shards_(std::make_unique<Shard[]>(kShards)) {}
LocalLimiter::~LocalLimiter() = default;

awaitable<Admission> LocalLimiter::admit(const Ticket& ticket, std::int64_t now_ms) {
  Admission admission = try_admit(ticket, now_ms);
  co_return admission;
}

Admission LocalLimiter::try_admit(const Ticket& ticket, std::int64_t now_ms) {
  boost::container::small_vector<const Subject*, 4> subjects;
  boost::container::small_vector<std::size_t, 4> shard_of;
  for (const Subject& subject : ticket.subjects) {
    if (!subject.limited()) continue;
    subjects.push_back(&subject);
    shard_of.push_back(shard_index(subject.scope));
  }
  if (subjects.empty()) return Admission{};  // nothing to count, nothing to settle

  // Lock every shard involved, in index order so two requests can never wait on each other.
  boost::container::small_vector<std::size_t, 4> order(shard_of.begin(), shard_of.end());
  std::sort(order.begin(), order.end());
  order.erase(std::unique(order.begin(), order.end()), order.end());
  boost::container::small_vector<std::unique_lock<std::mutex>, 4> locks;
  for (const std::size_t index : order) {
    locks.emplace_back(shards_[index].mutex);
    shards_[index].maybe_sweep(now_ms);
  }

  const std::int64_t estimate = usd_to_nanos(ticket.estimate_usd);
  boost::container::small_vector<ScopeState*, 4> states(subjects.size(), nullptr);
  for (std::size_t i = 0; i < subjects.size(); ++i) {
    auto& scopes = shards_[shard_of[i]].scopes;
    const auto it = scopes.find(std::string_view(subjects[i]->scope));
    ScopeState none;  // a scope never seen holds nothing: check against empty state, create nothing yet
    states[i] = it != scopes.end() ? &it->second : nullptr;
    if (auto refusal = check(*subjects[i], states[i] != nullptr ? *states[i] : none, estimate, now_ms)) {
      return std::move(*refusal);
    }
  }

  // Every subject passed: count the request against all of them.
  for (std::size_t i = 0; i < subjects.size(); ++i) {
    const Subject& subject = *subjects[i];
    ScopeState* state = states[i];
    if (state == nullptr) state = &shards_[shard_of[i]].scopes.try_emplace(subject.scope).first->second;
    if (subject.rpm != 0) state->rpm.add(now_ms, 1);
    if (subject.max_parallel != 0) ++state->parallel;
    if (subject.budget_usd > 0) state->reserved_nanos += estimate;
  }
  Admission admitted;
  admitted.counted = true;
  return admitted;
}

void LocalLimiter::settle(const Ticket& ticket, std::uint64_t tokens, double cost_usd, std::int64_t now_ms) {
  const std::int64_t estimate = usd_to_nanos(ticket.estimate_usd);
  const std::int64_t cost = usd_to_nanos(cost_usd);
  // Subject by subject: settling has nothing to refuse, so it need not be atomic across scopes.
  for (const Subject& subject : ticket.subjects) {
    if (!subject.limited()) continue;
    Shard& shard = shards_[shard_index(subject.scope)];
    std::lock_guard lock(shard.mutex);
    shard.maybe_sweep(now_ms);
    const bool records = (subject.tpm != 0 && tokens != 0) || (subject.budget_usd > 0 && cost > 0);
    auto it = shard.scopes.find(std::string_view(subject.scope));
    if (it == shard.scopes.end()) {
      if (!records) continue;
      it = shard.scopes.try_emplace(subject.scope).first;
    }
    ScopeState& state = it->second;
    if (subject.tpm != 0 && tokens != 0) state.tpm.add(now_ms / 1000, tokens);
    if (subject.max_parallel != 0 && state.parallel > 0) --state.parallel;
    if (subject.budget_usd > 0) {
      state.reserved_nanos -= std::min(estimate, state.reserved_nanos);
      // The spend belongs to the period the request was admitted in (the ticket's), even when
      // it settles after the rollover.
      if (cost > 0) state.spend_for(subject.period_id, subject.period_end_ms).nanos += cost;
    }
  }
}

void LocalLimiter::seed_spend(const std::string& scope, const std::string& period_id, double usd,
                              std::int64_t period_end_ms) {
  Shard& shard = shards_[shard_index(scope)];
  std::lock_guard lock(shard.mutex);
  ScopeState& state = shard.scopes.try_emplace(scope).first->second;
  if (state.find_spend(period_id) == nullptr) {
    state.spends.push_back(PeriodSpend{period_id, usd_to_nanos(usd), period_end_ms});
  }
}

void LocalLimiter::sweep(std::int64_t now_ms) {
  for (std::size_t i = 0; i < kShards; ++i) {
    std::lock_guard lock(shards_[i].mutex);
    shards_[i].sweep(now_ms);
  }
}

std::size_t LocalLimiter::scope_count() const {
  std::size_t count = 0;
  for (std::size_t i = 0; i < kShards; ++i) {
    std::lock_guard lock(shards_[i].mutex);
    count += shards_[i].scopes.size();
  }
  return count;
}

}  // namespace baton::tenancy
