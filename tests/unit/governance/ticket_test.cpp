#include "tenancy/governance.hpp"

#include <gtest/gtest.h>

#include <filesystem>

namespace baton::tenancy {
namespace {

namespace fs = std::filesystem;

// A connection's ticket is refilled for each request: whatever the previous request left in it
// (more subjects, another scope, a budget) must not show through.
class TicketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("baton-ticket-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    config_.storage.url = "sqlite://" + (dir_ / "keys.db").string();
    governance_ = std::make_unique<Governance>(config_);
  }
  void TearDown() override {
    governance_.reset();
    fs::remove_all(dir_);
  }

  static store::KeyRecord key(const std::string& secret, std::string id, std::string team, store::Limits limits) {
    store::KeyRecord k;
    k.id = std::move(id);
    k.hash = hash_secret(secret);
    k.team_id = std::move(team);
    k.limits = std::move(limits);
    return k;
  }

  Caller caller(const std::shared_ptr<const KeyDirectory>& directory, const std::string& secret) const {
    return authenticate(directory, secret, "master", 1'000);
  }

  fs::path dir_;
  config::Config config_;
  std::unique_ptr<Governance> governance_;
};

TEST_F(TicketTest, ARefilledTicketHoldsOnlyTheCurrentRequestsSubjects) {
  store::Limits rpm_only;
  rpm_only.rpm = 60;
  store::Limits budget_only;
  budget_only.budget = 5;
  budget_only.budget_period = store::BudgetPeriod::daily;
  budget_only.fail_mode = store::FailMode::closed;
  store::Limits nothing;
  store::TeamRecord team;
  team.id = "team_a";
  team.limits.max_parallel = 3;
  const std::string with_team = generate_secret();
  const std::string budgeted = generate_secret();
  const std::string unlimited_in_team = generate_secret();
  const std::string unlimited = generate_secret();
  auto directory = std::make_shared<const KeyDirectory>(
      std::vector<store::KeyRecord>{key(with_team, "key_with_team", "team_a", rpm_only),
                                    key(budgeted, "key_budget", "", budget_only),
                                    key(unlimited_in_team, "key_free_in_team", "team_a", nothing),
                                    key(unlimited, "key_free", "", nothing)},
      std::vector<store::TeamRecord>{team}, 1);

  Ticket ticket;
  const std::int64_t now = 1'795'348'800'000;  // 2026-11-22T00:00:00Z
  governance_->fill_ticket(ticket, caller(directory, with_team), "req-1", 0.5, now, config_.pricing);
  ASSERT_EQ(ticket.subjects.size(), 2U);
  EXPECT_EQ(ticket.request_id, "req-1");
  EXPECT_EQ(ticket.subjects[0].scope, "key:key_with_team");
  EXPECT_EQ(ticket.subjects[0].rpm, 60U);
  EXPECT_EQ(ticket.subjects[0].fail_mode, store::FailMode::open);  // inherits the config's (open)
  EXPECT_EQ(ticket.subjects[1].scope, "team:team_a");
  EXPECT_EQ(ticket.subjects[1].max_parallel, 3U);

  governance_->fill_ticket(ticket, caller(directory, budgeted), "req-2", 0.25, now, config_.pricing);
  ASSERT_EQ(ticket.subjects.size(), 1U);
  EXPECT_EQ(ticket.request_id, "req-2");
  EXPECT_EQ(ticket.estimate_usd, 0.25);
  const Subject& s = ticket.subjects[0];
  EXPECT_EQ(s.scope, "key:key_budget");
  EXPECT_EQ(s.rpm, 0U);  // the earlier request's rpm does not show through
  EXPECT_EQ(s.budget_usd, 5.0);
  EXPECT_EQ(s.period_id, "d2026-11-22");
  EXPECT_EQ(s.fail_mode, store::FailMode::closed);

  // An unlimited key in a limited team: only the team, in the first slot.
  governance_->fill_ticket(ticket, caller(directory, unlimited_in_team), "req-3", 0, now, config_.pricing);
  ASSERT_EQ(ticket.subjects.size(), 1U);
  EXPECT_EQ(ticket.subjects[0].scope, "team:team_a");
  EXPECT_EQ(ticket.subjects[0].budget_usd, 0.0);
  EXPECT_TRUE(ticket.subjects[0].period_id.empty());

  governance_->fill_ticket(ticket, caller(directory, unlimited), "req-4", 0, now, config_.pricing);
  EXPECT_TRUE(ticket.subjects.empty());
  governance_->fill_ticket(ticket, caller(directory, "master"), "req-5", 0, now, config_.pricing);
  EXPECT_TRUE(ticket.subjects.empty());
  EXPECT_EQ(ticket.request_id, "req-5");
}

}  // namespace
}  // namespace baton::tenancy
