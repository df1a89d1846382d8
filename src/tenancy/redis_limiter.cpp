#include "tenancy/redis_limiter.hpp"

#include <spdlog/spdlog.h>

#include <boost/container/small_vector.hpp>

#include "tenancy/local_limiter.hpp"

namespace baton::tenancy {

namespace {

// Both scripts take 6 KEYS per subject (rpm, tpm, par, spend, resv, resv_exp) and ARGV =
// now_ms, request_id, <two script-specific values>, then 5 per subject: rpm, tpm, max_parallel,
// budget (nano-USD), period_end_ms. Numbers going back to Redis are formatted with %d: Lua's
// default number format would write large integers as 1.7e+12.

// ARGV[3] = estimate (nano-USD), ARGV[4] = lease ms. Returns {0} or {subject (1-based), limit, retry_after_s}.
// Every check runs before any count, so a refusal writes nothing but pruning.
constexpr const char* kAdmitLua = R"lua(
local now = tonumber(ARGV[1])
local id = ARGV[2]
local estimate = tonumber(ARGV[3])
local lease = tonumber(ARGV[4])
local subjects = (#ARGV - 4) / 5
local function int(x) return string.format('%d', x) end
local function retry(at)
  local s = math.floor((at - now + 999) / 1000)
  if s < 1 then return 1 end
  return s
end
local function limits(i)
  local a = 4 + i * 5
  return tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4]), tonumber(ARGV[a + 5])
end

for i = 0, subjects - 1 do
  local k = i * 6
  local rpm, tpm, par, budget, period_end = limits(i)
  if rpm > 0 then
    redis.call('ZREMRANGEBYSCORE', KEYS[k + 1], '-inf', int(now - 60000))
    local count = redis.call('ZCARD', KEYS[k + 1])
    if count >= rpm then
      -- the admission whose departure brings the count below the limit
      local at = redis.call('ZRANGE', KEYS[k + 1], count - rpm, count - rpm, 'WITHSCORES')
      return {i + 1, 'rpm', retry(tonumber(at[2]) + 60000)}
    end
  end
  if tpm > 0 then
    local fields = redis.call('HGETALL', KEYS[k + 2])
    local now_s = math.floor(now / 1000)
    local buckets, total = {}, 0
    for j = 1, #fields, 2 do
      local second, tokens = tonumber(fields[j]), tonumber(fields[j + 1])
      if second <= now_s - 60 then
        redis.call('HDEL', KEYS[k + 2], fields[j])
      else
        total = total + tokens
        buckets[#buckets + 1] = {second, tokens}
      end
    end
    if total >= tpm then
      table.sort(buckets, function(x, y) return x[1] < y[1] end)
      local left, at = total, buckets[#buckets][1]
      for _, bucket in ipairs(buckets) do
        left = left - bucket[2]
        if left < tpm then at = bucket[1] break end
      end
      return {i + 1, 'tpm', retry(at * 1000 + 60000)}
    end
  end
  if par > 0 then
    redis.call('ZREMRANGEBYSCORE', KEYS[k + 3], '-inf', int(now))
    if redis.call('ZCARD', KEYS[k + 3]) >= par then return {i + 1, 'parallel', 1} end
  end
  if budget > 0 then
    local expired = redis.call('ZRANGEBYSCORE', KEYS[k + 6], '-inf', int(now))
    for _, rid in ipairs(expired) do
      local amount = redis.call('HGET', KEYS[k + 5], 'r:' .. rid)
      if amount then
        redis.call('HDEL', KEYS[k + 5], 'r:' .. rid)
        redis.call('HINCRBY', KEYS[k + 5], 'total', '-' .. amount)
      end
    end
    if #expired > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[k + 6], '-inf', int(now)) end
    local spent = tonumber(redis.call('HGET', KEYS[k + 4], 'spent') or '0')
    local reserved = tonumber(redis.call('HGET', KEYS[k + 5], 'total') or '0')
    local committed = spent + reserved
    if committed >= budget or committed + estimate > budget then
      return {i + 1, 'budget', retry(period_end)}
    end
  end
end

for i = 0, subjects - 1 do
  local k = i * 6
  local rpm, tpm, par, budget = limits(i)
  if rpm > 0 then
    redis.call('ZADD', KEYS[k + 1], int(now), id)
    redis.call('PEXPIRE', KEYS[k + 1], 61000)
  end
  if par > 0 then
    redis.call('ZADD', KEYS[k + 3], int(now + lease), id)
    redis.call('PEXPIRE', KEYS[k + 3], int(lease + 60000))
  end
  if budget > 0 and estimate > 0 and redis.call('HSETNX', KEYS[k + 5], 'r:' .. id, ARGV[3]) == 1 then
    redis.call('HINCRBY', KEYS[k + 5], 'total', ARGV[3])
    redis.call('ZADD', KEYS[k + 6], int(now + lease), id)
    redis.call('PEXPIRE', KEYS[k + 5], int(lease + 60000))
    redis.call('PEXPIRE', KEYS[k + 6], int(lease + 60000))
  end
end
return {0}
)lua";

// ARGV[3] = tokens, ARGV[4] = cost (nano-USD). Releases only what this request holds, so settling a
// ticket twice, or one that failed open, frees nothing that belongs to another request.
constexpr const char* kSettleLua = R"lua(
local now = tonumber(ARGV[1])
local id = ARGV[2]
local tokens = tonumber(ARGV[3])
local cost = tonumber(ARGV[4])
local subjects = (#ARGV - 4) / 5
for i = 0, subjects - 1 do
  local k, a = i * 6, 4 + i * 5
  local tpm, par, budget, period_end = tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4]), tonumber(ARGV[a + 5])
  if tpm > 0 and tokens > 0 then
    redis.call('HINCRBY', KEYS[k + 2], string.format('%d', math.floor(now / 1000)), ARGV[3])
    redis.call('PEXPIRE', KEYS[k + 2], 61000)
  end
  if par > 0 then redis.call('ZREM', KEYS[k + 3], id) end
  if budget > 0 then
    local amount = redis.call('HGET', KEYS[k + 5], 'r:' .. id)
    if amount then
      redis.call('HDEL', KEYS[k + 5], 'r:' .. id)
      redis.call('HINCRBY', KEYS[k + 5], 'total', '-' .. amount)
      redis.call('ZREM', KEYS[k + 6], id)
    end
    if cost > 0 then
      redis.call('HINCRBY', KEYS[k + 4], 'spent', ARGV[4])
      redis.call('PEXPIRE', KEYS[k + 4], string.format('%d', math.max(period_end, now) + 86400000 - now))
    end
  end
end
return 0
)lua";

const store::RedisScript& admit_script() {
  static const store::RedisScript script(kAdmitLua);
  return script;
}
const store::RedisScript& settle_script() {
  static const store::RedisScript script(kSettleLua);
  return script;
}

constexpr std::size_t kKeysPerSubject = 6;
using Subjects = boost::container::small_vector<const Subject*, 4>;

Subjects limited_subjects(const Ticket& ticket) {
  Subjects out;
  for (const Subject& subject : ticket.subjects) {
    if (subject.limited()) out.push_back(&subject);
  }
  return out;
}

std::string spend_key(std::string_view scope, std::string_view period_id) {
  std::string key = "baton:";
  key.append(scope).append(":spend:").append(period_id);
  return key;
}

// KEYS then ARGV, in the layout both scripts share.
std::vector<std::string> script_args(const Subjects& subjects, const std::string& request_id, std::int64_t now_ms,
                                     std::string third, std::string fourth) {
  std::vector<std::string> out;
  out.reserve(subjects.size() * (kKeysPerSubject + 5) + 4);
  for (const Subject* subject : subjects) {
    const std::string prefix = "baton:" + subject->scope;
    out.push_back(prefix + ":rpm");
    out.push_back(prefix + ":tpm");
    out.push_back(prefix + ":par");
    out.push_back(spend_key(subject->scope, subject->period_id));
    out.push_back(prefix + ":resv");
    out.push_back(prefix + ":resv_exp");
  }
  out.push_back(std::to_string(now_ms));
  out.push_back(request_id);
  out.push_back(std::move(third));
  out.push_back(std::move(fourth));
  for (const Subject* subject : subjects) {
    out.push_back(std::to_string(subject->rpm));
    out.push_back(std::to_string(subject->tpm));
    out.push_back(std::to_string(subject->max_parallel));
    out.push_back(std::to_string(subject->budget_usd > 0 ? usd_to_nanos(subject->budget_usd) : 0));
    out.push_back(std::to_string(subject->period_end_ms));
  }
  return out;
}

// The script's answer as an Admission; nullopt when it is not an answer at all.
std::optional<Admission> parse_admission(const store::RedisReply& reply, const Subjects& subjects) {
  using Type = store::RedisReply::Type;
  if (reply.type != Type::array || reply.elements.empty() || reply.elements[0].type != Type::integer) {
    return std::nullopt;
  }
  const std::int64_t index = reply.elements[0].integer;
  Admission out;
  if (index == 0) {
    out.counted = true;
    return out;
  }
  if (index < 0 || static_cast<std::size_t>(index) > subjects.size() || reply.elements.size() < 3) return std::nullopt;
  out.outcome = Outcome::limited;
  out.limit = reply.elements[1].str;
  out.scope = subjects[static_cast<std::size_t>(index - 1)]->scope;
  out.retry_after_s = static_cast<std::uint32_t>(std::max<std::int64_t>(reply.elements[2].integer, 1));
  return out;
}

// At most one warning every 10 s: an outage would otherwise log once per request.
void warn_throttled(std::atomic<std::int64_t>& last_ms, const store::RedisReply& reply) {
  const std::int64_t now =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch()).count();
  std::int64_t last = last_ms.load(std::memory_order_relaxed);
  if (now - last < 10'000 || !last_ms.compare_exchange_strong(last, now, std::memory_order_relaxed)) return;
  spdlog::warn("limiter: redis gave no usable answer ({}); deciding by each subject's fail mode", reply.str);
}

std::atomic<std::int64_t> last_warning_ms{-10'000'000};

}  // namespace

RedisLimiter::RedisLimiter(store::RedisClient& client) : RedisLimiter(client, Options{}) {}

RedisLimiter::RedisLimiter(store::RedisClient& client, Options options) : client_(client), options_(options) {
  client_.load_script(admit_script());
  client_.load_script(settle_script());
}

awaitable<Admission> RedisLimiter::admit(const Ticket& ticket, std::int64_t now_ms) {
  const Subjects subjects = limited_subjects(ticket);
  Admission admission;  // nothing limited: nothing to count
  if (subjects.empty()) co_return admission;

  const std::vector<std::string> keys_and_args =
      script_args(subjects, ticket.request_id, now_ms, std::to_string(usd_to_nanos(ticket.estimate_usd)),
                  std::to_string(options_.lease_ms));
  const std::size_t numkeys = subjects.size() * kKeysPerSubject;
  const store::RedisReply reply = co_await client_.eval(admit_script(), keys_and_args, numkeys, options_.timeout);
  if (std::optional<Admission> answered = parse_admission(reply, subjects)) {
    admission = std::move(*answered);
    co_return admission;
  }

  warn_throttled(last_warning_ms, reply);
  if (reply.timed_out()) {
    // The script may yet run: release whatever it takes, right behind it on the same connection.
    std::vector<std::string> release = script_args(subjects, ticket.request_id, now_ms, "0", "0");
    client_.send_eval(settle_script(), std::move(release), numkeys);
  }
  for (const Subject* subject : subjects) {
    if (subject->fail_mode == store::FailMode::closed) {
      fail_closed_.fetch_add(1, std::memory_order_relaxed);
      admission.outcome = Outcome::unavailable;
      admission.scope = subject->scope;
      co_return admission;
    }
  }
  fail_open_.fetch_add(1, std::memory_order_relaxed);
  admission.counted = false;
  co_return admission;
}

void RedisLimiter::settle(const Ticket& ticket, std::uint64_t tokens, double cost_usd, std::int64_t now_ms) {
  const Subjects subjects = limited_subjects(ticket);
  if (subjects.empty()) return;
  std::vector<std::string> args = script_args(subjects, ticket.request_id, now_ms, std::to_string(tokens),
                                              std::to_string(usd_to_nanos(cost_usd)));
  client_.send_eval(settle_script(), std::move(args), subjects.size() * kKeysPerSubject);
}

void RedisLimiter::seed_spend(const std::string& scope, const std::string& period_id, double usd,
                              std::int64_t period_end_ms) {
  // HSETNX: a spend that replicas already counted for this period is never overwritten.
  std::string key = spend_key(scope, period_id);
  // Relative, like the scripts' TTLs (which count from the caller's now_ms): at least the retention.
  const std::int64_t now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  const std::int64_t ttl_ms = std::max(period_end_ms - now_ms, std::int64_t{0}) + kSpendRetentionMs;
  std::vector<std::string> expire{"PEXPIRE", key, std::to_string(ttl_ms)};
  std::vector<std::string> seed{"HSETNX", std::move(key), "spent", std::to_string(usd_to_nanos(usd))};
  client_.send(std::move(seed));
  client_.send(std::move(expire));
}

}  // namespace baton::tenancy
