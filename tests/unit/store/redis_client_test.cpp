// RedisClient against a real redis-server: replies of every type, many commands in flight from
// several threads, timeouts on a stalled server, reconnecting after a restart.
#include "store/redis_client.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "../support/redis_server.hpp"

namespace baton::store {
namespace {

using namespace std::chrono_literals;
using test::sync_await;
using Type = RedisReply::Type;

awaitable<RedisReply> run(RedisClient& client, std::vector<std::string> args, std::chrono::milliseconds timeout = 5s) {
  RedisReply reply = co_await client.command(std::move(args), timeout);
  co_return reply;
}

RedisReply call(RedisClient& client, std::vector<std::string> args, std::chrono::milliseconds timeout = 5s) {
  return sync_await(run(client, std::move(args), timeout));
}

RedisUrl url_of(const test::RedisServer& server, int db = 0) { return *RedisUrl::parse(server.url(db)); }

// Polls with PING until the client answers again (it reconnects in the background).
bool answers_within(RedisClient& client, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (call(client, {"PING"}, 500ms).ok()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

TEST(RedisUrl, Parses) {
  const auto plain = RedisUrl::parse("redis://10.0.0.7:6380/2");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->host, "10.0.0.7");
  EXPECT_EQ(plain->port, 6380);
  EXPECT_EQ(plain->db, 2);
  EXPECT_TRUE(plain->password.empty());

  const auto defaults = RedisUrl::parse("redis://cache");
  ASSERT_TRUE(defaults);
  EXPECT_EQ(defaults->host, "cache");
  EXPECT_EQ(defaults->port, 6379);
  EXPECT_EQ(defaults->db, 0);

  const auto secret = RedisUrl::parse("redis://:p%40ss@[::1]:7000/");
  ASSERT_TRUE(secret);
  EXPECT_EQ(secret->host, "::1");
  EXPECT_EQ(secret->port, 7000);
  EXPECT_EQ(secret->password, "p@ss");
  EXPECT_TRUE(secret->user.empty());

  const auto acl = RedisUrl::parse("redis://baton:pw@host/1");
  ASSERT_TRUE(acl);
  EXPECT_EQ(acl->user, "baton");
  EXPECT_EQ(acl->password, "pw");

  std::string error;
  EXPECT_FALSE(RedisUrl::parse("http://host", &error));
  EXPECT_FALSE(error.empty());
  EXPECT_FALSE(RedisUrl::parse("redis://host:99999"));
  EXPECT_FALSE(RedisUrl::parse("redis://host/x"));
  EXPECT_FALSE(RedisUrl::parse("redis://:pw@/0"));
}

TEST(RedisClient, RoundTripsEveryReplyType) {
  test::RedisServer server;
  RedisClient client(url_of(server));
  EXPECT_EQ(call(client, {"SET", "k", "v"}).type, Type::status);
  const RedisReply got = call(client, {"GET", "k"});
  EXPECT_EQ(got.type, Type::string);
  EXPECT_EQ(got.str, "v");
  EXPECT_EQ(call(client, {"GET", "missing"}).type, Type::nil);
  const RedisReply n = call(client, {"INCRBY", "n", "41"});
  EXPECT_EQ(n.type, Type::integer);
  EXPECT_EQ(n.integer, 41);
  const RedisReply many = call(client, {"MGET", "k", "missing", "n"});
  ASSERT_EQ(many.type, Type::array);
  ASSERT_EQ(many.elements.size(), 3U);
  EXPECT_EQ(many.elements[0].str, "v");
  EXPECT_EQ(many.elements[1].type, Type::nil);
  EXPECT_EQ(many.elements[2].str, "41");
  const RedisReply wrong = call(client, {"INCR", "k"});
  EXPECT_TRUE(wrong.is_error());
  EXPECT_FALSE(wrong.ok());
  EXPECT_NE(wrong.str.find("not an integer"), std::string::npos);
  // Binary-safe arguments and values.
  const std::string binary("a\0b\r\nc", 6);
  EXPECT_TRUE(call(client, {"SET", binary, binary}).ok());
  EXPECT_EQ(call(client, {"GET", binary}).str, binary);
  EXPECT_TRUE(client.connected());
}

TEST(RedisClient, PipelinesManyCommandsFromSeveralThreads) {
  test::RedisServer server;
  RedisClient client(url_of(server));
  constexpr int kThreads = 2, kCoroutines = 50, kEach = 100;
  std::mutex mutex;
  std::set<std::int64_t> seen;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      asio::io_context io;
      for (int c = 0; c < kCoroutines; ++c) {
        asio::co_spawn(io, [&]() -> awaitable<void> {
          for (int i = 0; i < kEach; ++i) {
            std::vector<std::string> incr{"INCR", "counter"};
            const RedisReply reply = co_await client.command(std::move(incr), 5s);
            if (reply.type != Type::integer) {
              failures.fetch_add(1);
              continue;
            }
            std::lock_guard lock(mutex);
            seen.insert(reply.integer);
          }
        }, asio::detached);
      }
      io.run();
    });
  }
  for (std::thread& thread : threads) thread.join();
  constexpr int kTotal = kThreads * kCoroutines * kEach;
  EXPECT_EQ(failures.load(), 0);
  // Each reply went to the command that asked: every counter value exactly once.
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(kTotal));
  EXPECT_EQ(*seen.begin(), 1);
  EXPECT_EQ(*seen.rbegin(), kTotal);
  EXPECT_EQ(call(client, {"GET", "counter"}).str, std::to_string(kTotal));
}

TEST(RedisClient, LargeValuesTravelWholeBothWays) {
  // Far past hiredis' 16 KiB read and the socket buffers: exercises partial writes and reading a
  // reply across many wakeups.
  test::RedisServer server;
  RedisClient client(url_of(server));
  std::string big(4 << 20, 'x');
  for (std::size_t i = 0; i < big.size(); i += 4096) big[i] = static_cast<char>('a' + (i / 4096) % 26);
  ASSERT_TRUE(call(client, {"SET", "big", big}).ok());
  asio::io_context io;
  int matched = 0;
  for (int i = 0; i < 8; ++i) {
    asio::co_spawn(io, run(client, {"GET", "big"}), [&](std::exception_ptr, RedisReply reply) {
      if (reply.str == big) ++matched;
    });
  }
  io.run();
  EXPECT_EQ(matched, 8);
}

TEST(RedisClient, TimesOutOnAStalledServerAndDropsTheLateReply) {
  test::RedisServer server;
  RedisClient client(url_of(server));
  ASSERT_TRUE(call(client, {"SET", "k", "before"}).ok());
  server.pause();
  const auto started = std::chrono::steady_clock::now();
  const RedisReply late = call(client, {"SET", "k", "stalled"}, 100ms);
  const auto waited = std::chrono::steady_clock::now() - started;
  EXPECT_TRUE(late.timed_out());
  EXPECT_GE(waited, 100ms);
  EXPECT_LT(waited, 2s);
  EXPECT_EQ(client.stats().timeouts, 1U);
  server.resume();
  // The late reply (+OK of the stalled SET) arrives first and must not be taken for the GET's.
  const RedisReply got = call(client, {"GET", "k"});
  EXPECT_EQ(got.type, Type::string);
  EXPECT_EQ(got.str, "stalled");  // the command did run: a timeout says nothing about that
}

TEST(RedisClient, ReconnectsAfterRestart) {
  test::RedisServer server;
  RedisClient::Options options;
  options.reconnect_min = 20ms;
  options.reconnect_max = 200ms;
  RedisClient client(url_of(server), options);
  ASSERT_TRUE(call(client, {"PING"}).ok());
  server.stop();
  // The first command may find the connection still open; it fails when the server's close lands.
  EXPECT_TRUE(call(client, {"PING"}, 2s).is_unavailable());
  const auto started = std::chrono::steady_clock::now();
  EXPECT_TRUE(call(client, {"PING"}, 2s).is_unavailable());  // disconnected: at once, not at the timeout
  EXPECT_LT(std::chrono::steady_clock::now() - started, 500ms);
  EXPECT_FALSE(client.connected());
  server.start();
  EXPECT_TRUE(answers_within(client, 10s));
  EXPECT_TRUE(client.connected());
  EXPECT_GE(client.stats().reconnects, 1U);
}

TEST(RedisClient, AuthenticatesAndSelectsTheDatabase) {
  test::RedisServer server({"--requirepass", "s3cret"});
  RedisUrl db3 = url_of(server, 3);
  db3.password = "s3cret";
  RedisClient client(db3);
  ASSERT_TRUE(call(client, {"SET", "where", "db3"}).ok());
  EXPECT_EQ(server.query({"GET", "where"}).value(), "");  // db 0 does not have it
  RedisUrl db0 = url_of(server, 0);
  db0.password = "s3cret";
  RedisClient other(db0);
  EXPECT_EQ(call(other, {"GET", "where"}).type, Type::nil);
  EXPECT_TRUE(call(other, {"SELECT", "3"}).ok());
  EXPECT_EQ(call(other, {"GET", "where"}).str, "db3");

  RedisClient wrong(url_of(server, 0));  // no password
  EXPECT_TRUE(call(wrong, {"GET", "where"}).is_error());
}

TEST(RedisClient, EvalFallsBackWhenTheScriptIsUnknown) {
  test::RedisServer server;
  RedisClient client(url_of(server));
  const RedisScript script("redis.call('INCRBY', KEYS[1], ARGV[1]) return redis.call('GET', KEYS[1])");
  const auto eval = [&](const std::string& amount) {
    return sync_await([](RedisClient& c, const RedisScript& s, std::vector<std::string> args) -> awaitable<RedisReply> {
      RedisReply reply = co_await c.eval(s, args, 1, 5s);
      co_return reply;
    }(client, script, {"n", amount}));
  };
  EXPECT_EQ(eval("2").str, "2");  // never loaded: NOSCRIPT, then EVAL
  EXPECT_EQ(eval("3").str, "5");  // cached by the EVAL
  ASSERT_TRUE(server.query({"SCRIPT", "FLUSH"}));
  EXPECT_EQ(eval("4").str, "9");
  // Fire-and-forget takes the same way back, for a registered script. The EVAL is sent when the NOSCRIPT comes back, so
  // (only in this case) it can overtake commands sent meanwhile: wait for a round trip first.
  client.load_script(script);
  ASSERT_TRUE(server.query({"SCRIPT", "FLUSH"}));
  client.send_eval(script, {"n", "10"}, 1);
  ASSERT_TRUE(call(client, {"PING"}).ok());
  EXPECT_EQ(call(client, {"GET", "n"}).str, "19");
  // Normally fire-and-forget keeps its place in line: sent before, answered before.
  client.send_eval(script, {"n", "1"}, 1);
  EXPECT_EQ(call(client, {"GET", "n"}).str, "20");
  // A script loaded up front is known at once.
  const RedisScript loaded("return 'hi'");
  client.load_script(loaded);
  EXPECT_EQ(call(client, {"SCRIPT", "EXISTS", loaded.sha1}).elements.at(0).integer, 1);
}

TEST(RedisClient, DestructionCompletesCommandsInFlight) {
  test::RedisServer server;
  auto client = std::make_unique<RedisClient>(url_of(server));
  ASSERT_TRUE(call(*client, {"PING"}).ok());
  server.pause();
  asio::io_context io;
  std::optional<RedisReply> result;
  asio::co_spawn(io, run(*client, {"PING"}, 60s), [&](std::exception_ptr, RedisReply reply) { result = std::move(reply); });
  std::thread caller([&] { io.run(); });
  while (client->stats().commands < 2) std::this_thread::sleep_for(1ms);  // our PING is on the wire
  const auto started = std::chrono::steady_clock::now();
  client.reset();
  caller.join();  // returns once the PING completed: it held the io_context's work
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
  ASSERT_TRUE(result);
  EXPECT_TRUE(result->is_unavailable());
  server.resume();
}

}  // namespace
}  // namespace baton::store
