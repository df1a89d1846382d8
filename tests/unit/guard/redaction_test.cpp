// Redaction (placeholders, restore) and StreamRestorer (chunked restore).

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "guard/placeholder.hpp"
#include "guard/redaction.hpp"
#include "guard/scanner.hpp"

namespace baton::guard {
namespace {

// Findings for every occurrence of each value, sorted by start.
std::vector<Finding> find_values(std::string_view text, const std::vector<std::pair<PiiType, std::string>>& values) {
  std::vector<Finding> out;
  for (const auto& [type, value] : values) {
    for (std::size_t pos = text.find(value); pos != std::string_view::npos; pos = text.find(value, pos + 1)) {
      out.push_back(Finding{type, pos, pos + value.size(), 0.9f});
    }
  }
  std::sort(out.begin(), out.end(), [](const Finding& a, const Finding& b) { return a.start < b.start; });
  return out;
}

TEST(GuardPlaceholder, Grammar) {
  EXPECT_EQ(make_placeholder(PiiType::kr_rrn, 1), "[KR_RRN_1]");
  EXPECT_EQ(make_placeholder(PiiType::email, 12), "[EMAIL_12]");

  const auto state = [](std::string_view text) { return match_placeholder(text).state; };
  EXPECT_EQ(state("[KR_RRN_1]"), PlaceholderState::complete);
  EXPECT_EQ(match_placeholder("[KR_RRN_12] tail").length, 11u);
  EXPECT_EQ(state("["), PlaceholderState::partial);
  EXPECT_EQ(state("[KR_R"), PlaceholderState::partial);
  EXPECT_EQ(state("[KR_RRN"), PlaceholderState::partial);
  EXPECT_EQ(state("[KR_RRN_"), PlaceholderState::partial);
  EXPECT_EQ(state("[KR_RRN_3"), PlaceholderState::partial);
  EXPECT_EQ(state("[KR_RRN_]"), PlaceholderState::none);
  EXPECT_EQ(state("[KR_RRN_0]"), PlaceholderState::none);   // no leading zeros
  EXPECT_EQ(state("[KR_RRN_01]"), PlaceholderState::none);
  EXPECT_EQ(state("[KR_RRNX_1]"), PlaceholderState::none);
  EXPECT_EQ(state("[kr_rrn_1]"), PlaceholderState::none);
  EXPECT_EQ(state("[1]"), PlaceholderState::none);
  EXPECT_EQ(state("[ note ]"), PlaceholderState::none);
  EXPECT_EQ(state("[KR_RRN_1234567890]"), PlaceholderState::none);  // more than 9 digits
}

TEST(GuardRedaction, RepeatedValuesShareAPlaceholderAndDistinctValuesDoNot) {
  const std::string text =
      "A: 010-1111-2222, B: 010-3333-4444, A again: 010-1111-2222, mail kim@naver.com, rrn 900101-1234568";
  const auto findings = find_values(text, {{PiiType::kr_phone, "010-1111-2222"},
                                           {PiiType::kr_phone, "010-3333-4444"},
                                           {PiiType::email, "kim@naver.com"},
                                           {PiiType::kr_rrn, "900101-1234568"}});
  Redaction redaction;
  EXPECT_TRUE(redaction.empty());
  const std::string redacted = redaction.redact(text, findings);
  EXPECT_EQ(redacted,
            "A: [KR_PHONE_1], B: [KR_PHONE_2], A again: [KR_PHONE_1], mail [EMAIL_1], rrn [KR_RRN_1]");
  EXPECT_EQ(redaction.size(), 4u);
  EXPECT_FALSE(redaction.empty());
  EXPECT_EQ(redaction.restore(redacted), text);
  EXPECT_EQ(redaction.value_of("[KR_PHONE_2]"), "010-3333-4444");
  EXPECT_EQ(redaction.placeholder_of(PiiType::email, "kim@naver.com"), "[EMAIL_1]");
  EXPECT_FALSE(redaction.value_of("[KR_PHONE_3]"));
  EXPECT_EQ(redaction.entries().front().placeholder, "[KR_PHONE_1]");
}

TEST(GuardRedaction, StableAcrossTheMessagesOfOneRequest) {
  Redaction redaction;
  const std::string system = "상담원 메모: 고객 kim@naver.com";
  const std::string user = "제 메일 kim@naver.com 말고 lee@daum.net 으로 보내주세요";
  const std::string first = redaction.redact(system, find_values(system, {{PiiType::email, "kim@naver.com"}}));
  const std::string second = redaction.redact(
      user, find_values(user, {{PiiType::email, "kim@naver.com"}, {PiiType::email, "lee@daum.net"}}));
  EXPECT_EQ(first, "상담원 메모: 고객 [EMAIL_1]");
  EXPECT_EQ(second, "제 메일 [EMAIL_1] 말고 [EMAIL_2] 으로 보내주세요");
  EXPECT_EQ(redaction.restore(first), system);
  EXPECT_EQ(redaction.restore(second), user);
}

TEST(GuardRedaction, WorksWithScannerOutputAndRestoresExactly) {
  const auto scanner = Scanner::create();
  ASSERT_NE(scanner, nullptr);
  const std::string text =
      "번호는900101-1234568이에요. 연락처 ０１０－１２３４－５６７８, 메일 kim@naver.com, 다시 900101-1234568";
  std::vector<Finding> findings;
  scanner->scan(text, findings);
  ASSERT_EQ(findings.size(), 4u);
  Redaction redaction;
  const std::string redacted = redaction.redact(text, findings);
  EXPECT_EQ(redacted, "번호는[KR_RRN_1]이에요. 연락처 [KR_PHONE_1], 메일 [EMAIL_1], 다시 [KR_RRN_1]");
  EXPECT_EQ(redaction.restore(redacted), text);
}

TEST(GuardRedaction, IgnoresBadFindingsAndSortsUnsortedOnes) {
  const std::string text = "a 010-1111-2222 b kim@naver.com";
  std::vector<Finding> findings = find_values(text, {{PiiType::kr_phone, "010-1111-2222"},
                                                    {PiiType::email, "kim@naver.com"}});
  std::reverse(findings.begin(), findings.end());
  findings.push_back(Finding{PiiType::kr_rrn, 5, 9, 0.9f});                 // overlaps the phone
  findings.push_back(Finding{PiiType::kr_rrn, 20, 999, 0.9f});              // past the end
  findings.push_back(Finding{PiiType::kr_rrn, 7, 7, 0.9f});                 // empty
  findings.push_back(Finding{static_cast<PiiType>(77), 0, 1, 0.9f});        // unknown type
  Redaction redaction;
  EXPECT_EQ(redaction.redact(text, findings), "a [KR_PHONE_1] b [EMAIL_1]");
}

TEST(GuardRedaction, PlaceholderLookalikesInTheInputAreNotReused) {
  const std::string text = "literal [EMAIL_1] and real kim@naver.com";
  Redaction redaction;
  const std::string redacted = redaction.redact(text, find_values(text, {{PiiType::email, "kim@naver.com"}}));
  EXPECT_EQ(redacted, "literal [EMAIL_1] and real [EMAIL_2]");
  EXPECT_EQ(redaction.restore(redacted), text);
}

TEST(GuardRedaction, RestoreLeavesUnknownAndBrokenPlaceholdersAlone) {
  const std::string text = "x 010-1111-2222";
  Redaction redaction;
  static_cast<void>(redaction.redact(text, find_values(text, {{PiiType::kr_phone, "010-1111-2222"}})));
  EXPECT_EQ(redaction.restore("[KR_PHONE_1] [KR_PHONE_2] [KR_PHONE_ [KR_PHONE_1"),
            "010-1111-2222 [KR_PHONE_2] [KR_PHONE_ [KR_PHONE_1");
  EXPECT_EQ(redaction.restore("[[KR_PHONE_1]]"), "[010-1111-2222]");
  EXPECT_EQ(redaction.restore(""), "");
}

TEST(GuardRedaction, MoveKeepsTheMapping) {
  const std::string text = "x kim@naver.com";
  Redaction original;
  const std::string redacted = original.redact(text, find_values(text, {{PiiType::email, "kim@naver.com"}}));
  Redaction moved(std::move(original));
  EXPECT_EQ(moved.restore(redacted), text);
  Redaction assigned;
  assigned = std::move(moved);
  EXPECT_EQ(assigned.restore(redacted), text);
  EXPECT_EQ(assigned.value_of("[EMAIL_1]"), "kim@naver.com");
}

class GuardStreamRestorer : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string text = "rrn 900101-1234568 phone 010-1111-2222 mail kim@naver.com";
    static_cast<void>(redaction_.redact(text, find_values(text, {{PiiType::kr_rrn, "900101-1234568"},
                                                                 {PiiType::kr_phone, "010-1111-2222"},
                                                                 {PiiType::email, "kim@naver.com"}})));
  }

  std::string stream(const std::vector<std::string_view>& chunks) const {
    StreamRestorer restorer(redaction_);
    std::string out;
    for (std::string_view chunk : chunks) out += restorer.feed(chunk);
    out += restorer.finish();
    EXPECT_EQ(restorer.pending(), 0u);
    return out;
  }

  Redaction redaction_;
};

TEST_F(GuardStreamRestorer, PlaceholderSplitAtEveryPosition) {
  const std::string output = "답변: [KR_RRN_1] 님, 연락처 [KR_PHONE_1] 로 연락드릴게요.";
  const std::string expected = redaction_.restore(output);
  ASSERT_EQ(expected, "답변: 900101-1234568 님, 연락처 010-1111-2222 로 연락드릴게요.");
  for (std::size_t cut = 0; cut <= output.size(); ++cut) {
    const std::string_view view(output);
    EXPECT_EQ(stream({view.substr(0, cut), view.substr(cut)}), expected) << "cut at " << cut;
  }
}

TEST_F(GuardStreamRestorer, EveryPairOfCutsAndByteAtATime) {
  const std::string output = "[EMAIL_1][KR_PHONE_1] x[KR_RRN_1]";
  const std::string expected = redaction_.restore(output);
  const std::string_view view(output);
  for (std::size_t a = 0; a <= output.size(); ++a) {
    for (std::size_t b = a; b <= output.size(); ++b) {
      ASSERT_EQ(stream({view.substr(0, a), view.substr(a, b - a), view.substr(b)}), expected) << a << "," << b;
    }
  }
  std::vector<std::string_view> bytes;
  for (std::size_t i = 0; i < output.size(); ++i) bytes.push_back(view.substr(i, 1));
  EXPECT_EQ(stream(bytes), expected);
}

TEST_F(GuardStreamRestorer, EmitsEarlyWhenNothingCanBeAPlaceholder) {
  StreamRestorer restorer(redaction_);
  EXPECT_EQ(restorer.feed("Hello "), "Hello ");
  EXPECT_EQ(restorer.feed("[KR_PH"), "");          // may become a placeholder: held back
  EXPECT_EQ(restorer.pending(), 6u);
  EXPECT_EQ(restorer.feed("ONE_1] done"), "010-1111-2222 done");
  EXPECT_EQ(restorer.feed("[see note]"), "[see note]");  // decided at once: not a placeholder
  EXPECT_EQ(restorer.feed("[KR"), "");
  EXPECT_EQ(restorer.finish(), "[KR");               // stream ended inside a would-be placeholder
}

TEST_F(GuardStreamRestorer, BracketsThatAreNotPlaceholders) {
  const std::string output = "배열 a[0], [링크](http://x) [KR_PHONE_9] [EMAIL_1x] [[EMAIL_1]] [";
  const std::string expected = redaction_.restore(output);
  EXPECT_EQ(expected, "배열 a[0], [링크](http://x) [KR_PHONE_9] [EMAIL_1x] [kim@naver.com] [");
  const std::string_view view(output);
  for (std::size_t cut = 0; cut <= output.size(); ++cut) {
    EXPECT_EQ(stream({view.substr(0, cut), view.substr(cut)}), expected) << "cut at " << cut;
  }
}

TEST_F(GuardStreamRestorer, PlaceholderMentionedTwice) {
  const std::string output = "[KR_PHONE_1] 과 [KR_PHONE_1] 은 같은 번호입니다";
  EXPECT_EQ(stream({output.substr(0, 5), output.substr(5, 15), output.substr(20)}),
            "010-1111-2222 과 010-1111-2222 은 같은 번호입니다");
}

TEST_F(GuardStreamRestorer, HoldsBackASplitUtf8Character) {
  const std::string output = "안녕";  // EC 95 88 EB 85 95
  StreamRestorer restorer(redaction_);
  EXPECT_EQ(restorer.feed(output.substr(0, 1)), "");
  EXPECT_EQ(restorer.feed(output.substr(1, 3)), "안");
  EXPECT_EQ(restorer.feed(output.substr(4)), "녕");
  EXPECT_EQ(restorer.finish(), "");
}

TEST_F(GuardStreamRestorer, EmptyRedactionPassesTextThrough) {
  Redaction empty;
  StreamRestorer restorer(empty);
  EXPECT_EQ(restorer.feed("[KR_RRN_1] stays"), "[KR_RRN_1] stays");
  EXPECT_EQ(restorer.finish(), "");
}

}  // namespace
}  // namespace baton::guard
