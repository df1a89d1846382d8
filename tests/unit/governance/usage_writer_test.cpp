#include "tenancy/usage_writer.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>

namespace baton::tenancy {
namespace {

namespace fs = std::filesystem;

class UsageWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("baton-usage-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    url_ = "sqlite://" + (dir_ / "usage.db").string();
    auto s = store::open_store(url_);
    s->migrate();
  }
  void TearDown() override { fs::remove_all(dir_); }

  static store::UsageRecord record(int i) {
    store::UsageRecord r;
    r.ts_ms = 1'795'348'800'000 + i;
    r.request_id = "req-" + std::to_string(i);
    r.key_id = "key_a";
    r.model = "gpt-test";
    r.input_tokens = 10;
    r.output_tokens = 5;
    r.cost_usd = 0.001;
    r.status = 200;
    return r;
  }

  std::int64_t stored_requests() {
    auto s = store::open_store(url_);
    store::UsageQuery q;
    q.from_ms = 0;
    const std::vector<store::UsageRow> rows = s->query_usage(q);
    return rows.empty() ? 0 : rows.front().requests;
  }

  fs::path dir_;
  std::string url_;
};

TEST_F(UsageWriterTest, WritesEverythingPushedFromSeveralThreadsAndFlushesOnStop) {
  const std::string url = url_;
  UsageWriter writer([url] { return store::open_store(url); }, 100'000, 512, std::chrono::milliseconds(20));
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&writer, t] {
      for (int i = 0; i < 2'500; ++i) ASSERT_TRUE(writer.push(record(t * 10'000 + i)));
    });
  }
  for (auto& th : threads) th.join();
  writer.stop(std::chrono::seconds(10));
  EXPECT_EQ(writer.written(), 10'000U);
  EXPECT_EQ(writer.dropped(), 0U);
  EXPECT_EQ(writer.pending(), 0U);
  EXPECT_EQ(stored_requests(), 10'000);
}

TEST_F(UsageWriterTest, AFullQueueDropsAndCountsInsteadOfBlocking) {
  // A store that never opens: nothing drains, so the queue fills at its capacity.
  UsageWriter writer([]() -> std::unique_ptr<store::Store> { throw store::StoreError("database is away"); }, 1'000, 100,
                     std::chrono::milliseconds(5));
  int accepted = 0;
  for (int i = 0; i < 1'500; ++i) accepted += writer.push(record(i)) ? 1 : 0;
  EXPECT_EQ(accepted, 1'000);
  EXPECT_EQ(writer.dropped(), 500U);
  EXPECT_FALSE(writer.has_room());
  writer.stop(std::chrono::milliseconds(50));
  EXPECT_EQ(writer.dropped(), 1'500U);  // what shutdown could not write is counted too
}

TEST_F(UsageWriterTest, RetriesWhileTheStoreIsDownAndLosesNothing) {
  std::atomic<int> failures_left{3};
  const std::string url = url_;
  UsageWriter writer(
      [url, &failures_left]() -> std::unique_ptr<store::Store> {
        if (failures_left.fetch_sub(1) > 0) throw store::StoreError("connection refused");
        return store::open_store(url);
      },
      10'000, 256, std::chrono::milliseconds(5));
  for (int i = 0; i < 1'000; ++i) ASSERT_TRUE(writer.push(record(i)));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (writer.written() < 1'000 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(writer.written(), 1'000U);
  EXPECT_GE(writer.write_failures(), 3U);
  writer.stop(std::chrono::seconds(1));
  EXPECT_EQ(stored_requests(), 1'000);
}

TEST_F(UsageWriterTest, ReusedSlotsCarryNothingOverFromEarlierRecords) {
  // Queue slots are reused once written: a record that sets fewer fields than the one before it in
  // the same slot must not inherit the rest.
  const std::string url = url_;
  UsageWriter writer([url] { return store::open_store(url); }, 10'000, 64, std::chrono::milliseconds(5));
  const auto wait_written = [&](std::uint64_t count) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (writer.written() < count && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ASSERT_EQ(writer.written(), count);
  };
  // The writer swaps the queue with its written batch, so slots come back every other round:
  // two rounds of full records, then two of records that set only a time and a model.
  std::uint64_t pushed = 0;
  for (int round = 0; round < 4; ++round) {
    for (int i = 0; i < 200; ++i) {
      ASSERT_TRUE(writer.push_with([i, round](store::UsageRecord& r) {
        if (round < 2) {
          r = record(i);
          r.team_id = "team_x";
          r.guard_action = "redact";
        } else {
          r.ts_ms = 1'795'348'800'000 + i;
          r.model = "plain";
        }
      }));
    }
    pushed += 200;
    wait_written(pushed);
  }
  writer.stop(std::chrono::seconds(1));

  auto s = store::open_store(url_);
  store::UsageQuery q;
  q.by_key = q.by_team = q.by_model = true;
  const std::vector<store::UsageRow> rows = s->query_usage(q);
  ASSERT_EQ(rows.size(), 2U);
  for (const store::UsageRow& row : rows) {
    EXPECT_EQ(row.requests, 400) << row.model;
    if (row.model == "plain") {
      EXPECT_EQ(row.key_id, "");
      EXPECT_EQ(row.team_id, "");
      EXPECT_EQ(row.input_tokens, 0);
      EXPECT_EQ(row.cost_usd, 0.0);
    } else {
      EXPECT_EQ(row.key_id, "key_a");
      EXPECT_EQ(row.team_id, "team_x");
    }
  }
}

}  // namespace
}  // namespace baton::tenancy
