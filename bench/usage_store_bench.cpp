// The usage pipeline's write side: Store::insert_usage with batches the size the usage writer sends,
// of records shaped like real traffic. Target: >= 50,000 records/s into SQLite and into PostgreSQL
// (see items_per_second). The tables grow while it runs, as they do in production.
//   ninja -C build usage_store_bench && bench/usage_store.sh build
// bench/usage_store.sh starts a throwaway PostgreSQL and sets BATON_BENCH_PG_URL; run directly,
// only the SQLite benchmarks run (the PostgreSQL ones report the variable missing).
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "store/store.hpp"

namespace {

using baton::store::Store;
using baton::store::UsageRecord;

// A batch as a busy gateway produces it: 200 keys in 20 teams, a handful of models, OpenAI-style
// request ids, token counts from a short chat to a long RAG prompt, an error now and then.
std::vector<UsageRecord> realistic_batch(std::size_t size) {
  static const char* const models[][2] = {
      {"gpt-4o-mini", "openai/gpt-4o-mini-2024-07-18"},
      {"gpt-4o", "openai/gpt-4o-2024-08-06"},
      {"claude-sonnet", "claude/claude-3-5-sonnet-20241022"},
      {"local", "local/tiny"},
      {"solar", "vllm/upstage/solar-pro-preview-instruct"},
  };
  std::mt19937_64 random(42);
  std::vector<UsageRecord> batch(size);
  for (std::size_t i = 0; i < size; ++i) {
    UsageRecord& r = batch[i];
    const auto key = random() % 200;
    const auto model = random() % 5;
    r.ts_ms = 1'700'000'000'000 + static_cast<std::int64_t>(i) * 7;
    char id[40];
    std::snprintf(id, sizeof id, "chatcmpl-%016llx%013llx", static_cast<unsigned long long>(random()),
                  static_cast<unsigned long long>(random() & 0xFFFFFFFFFFFFF));
    r.request_id = id;
    std::snprintf(id, sizeof id, "key_%016llx", static_cast<unsigned long long>(key * 0x9E3779B97F4A7C15ULL));
    r.key_id = id;
    r.team_id = "team_" + std::to_string(key % 20);
    r.model = models[model][0];
    r.deployment = models[model][1];
    r.input_tokens = 50 + static_cast<std::int64_t>(random() % 8000);
    r.cached_input_tokens = random() % 3 == 0 ? r.input_tokens / 2 : 0;
    r.output_tokens = 1 + static_cast<std::int64_t>(random() % 1500);
    r.cost_usd = static_cast<double>(r.input_tokens) * 0.15e-6 + static_cast<double>(r.output_tokens) * 0.6e-6;
    r.latency_ms = 200 + static_cast<std::uint32_t>(random() % 20'000);
    r.ttft_ms = 80 + static_cast<std::uint32_t>(random() % 900);
    r.status = random() % 50 == 0 ? 429 : 200;
    r.attempts = random() % 20 == 0 ? 2 : 1;
    r.guard_action = random() % 30 == 0 ? "redact" : "";
  }
  return batch;
}

void insert_usage_bench(benchmark::State& state, Store& store) {
  std::vector<UsageRecord> batch = realistic_batch(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    store.insert_usage(batch);
    for (UsageRecord& record : batch) record.ts_ms += 60'000;  // the next batch is later traffic
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

// A fresh database file per process, removed at exit (with its -wal and -shm files).
struct SqliteFile {
  std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("baton-usage-bench-" + std::to_string(getpid()));
  std::unique_ptr<Store> store;
  SqliteFile() {
    store = baton::store::open_store("sqlite://" + (dir / "baton.db").string());
    store->migrate();
  }
  ~SqliteFile() {
    store.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
};

void BM_InsertUsageSqlite(benchmark::State& state) {
  static SqliteFile file;
  insert_usage_bench(state, *file.store);
}

void BM_InsertUsagePostgres(benchmark::State& state) {
  const char* url = std::getenv("BATON_BENCH_PG_URL");
  if (url == nullptr || *url == '\0') {
    state.SkipWithError("BATON_BENCH_PG_URL is not set (bench/usage_store.sh sets it)");
    return;
  }
  static const std::unique_ptr<Store> store = [&] {
    auto opened = baton::store::open_store(url);
    opened->migrate();
    return opened;
  }();
  insert_usage_bench(state, *store);
}

BENCHMARK(BM_InsertUsageSqlite)->Arg(512)->Arg(2048)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_InsertUsagePostgres)->Arg(512)->Arg(2048)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
