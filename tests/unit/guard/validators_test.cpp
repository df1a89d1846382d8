// Check digits and syntax rules of the individual validators, with published
// or hand-computed reference values.

#include <gtest/gtest.h>

#include "guard/normalizer.hpp"
#include "guard/pii_type.hpp"
#include "guard/validators.hpp"

namespace baton::guard {
namespace {

using validate::CivilDate;

constexpr CivilDate kToday{2025, 6, 1};

TEST(GuardPiiType, NamesRoundTrip) {
  EXPECT_EQ(to_string(PiiType::kr_rrn), "KR_RRN");
  EXPECT_EQ(to_string(PiiType::kr_driver_license), "KR_DRIVER_LICENSE");
  EXPECT_EQ(to_string(PiiType::ip_address), "IP_ADDRESS");
  for (const PiiType type : kAllPiiTypes) EXPECT_EQ(pii_type_from_string(to_string(type)), type);
  EXPECT_FALSE(pii_type_from_string("kr_rrn"));
  EXPECT_FALSE(pii_type_from_string(""));
  EXPECT_EQ(to_string(static_cast<PiiType>(200)), "UNKNOWN");
}

TEST(GuardValidators, Dates) {
  EXPECT_TRUE(validate::is_valid_date({2000, 2, 29}));
  EXPECT_FALSE(validate::is_valid_date({1900, 2, 29}));
  EXPECT_TRUE(validate::is_valid_date({2024, 2, 29}));
  EXPECT_FALSE(validate::is_valid_date({2023, 2, 29}));
  EXPECT_FALSE(validate::is_valid_date({2023, 4, 31}));
  EXPECT_FALSE(validate::is_valid_date({2023, 13, 1}));
  EXPECT_FALSE(validate::is_valid_date({2023, 0, 1}));
  EXPECT_FALSE(validate::is_valid_date({2023, 1, 0}));
}

TEST(GuardValidators, ResidentNumberChecksum) {
  // 900101-123456C: weighted sum 146, (11 - 146 % 11) % 10 = 8.
  EXPECT_TRUE(validate::rrn_checksum("9001011234568"));
  for (char c = '0'; c <= '9'; ++c) {
    if (c != '8') {
      EXPECT_FALSE(validate::rrn_checksum(std::string("900101123456") + c)) << c;
    }
  }
  EXPECT_TRUE(validate::rrn_checksum("8503152123450"));
  EXPECT_FALSE(validate::rrn_checksum("900101123456"));    // too short
  EXPECT_FALSE(validate::rrn_checksum("90010112345a8"));   // not a digit
}

TEST(GuardValidators, ResidentNumberShape) {
  const auto citizen = validate::rrn_shape("9001011234568", kToday);
  ASSERT_TRUE(citizen);
  EXPECT_EQ(citizen->registrant, validate::Registrant::citizen);
  EXPECT_EQ(citizen->birth, (CivilDate{1990, 1, 1}));

  const auto born_2021 = validate::rrn_shape("2110153123454", kToday);
  ASSERT_TRUE(born_2021);
  EXPECT_EQ(born_2021->birth, (CivilDate{2021, 10, 15}));
  EXPECT_TRUE(validate::rrn_random_tail_era(born_2021->birth));
  EXPECT_FALSE(validate::rrn_random_tail_era(citizen->birth));

  const auto foreigner = validate::rrn_shape("8503155123450", kToday);
  ASSERT_TRUE(foreigner);
  EXPECT_EQ(foreigner->registrant, validate::Registrant::foreigner);
  EXPECT_EQ(foreigner->birth.year, 1985);

  EXPECT_EQ(validate::rrn_shape("9901019123456", kToday)->birth.year, 1899);  // G = 9: 1800s
  EXPECT_FALSE(validate::rrn_shape("9013011234567", kToday));  // month 13
  EXPECT_FALSE(validate::rrn_shape("9002301234567", kToday));  // 30 February
  EXPECT_FALSE(validate::rrn_shape("3001013123456", kToday));  // born 2030: in the future
  EXPECT_FALSE(validate::rrn_shape("900101-123456", kToday));
}

TEST(GuardValidators, ForeignerNumberChecksum) {
  // Same weights as the RRN, check = (13 - sum % 11) % 10.
  EXPECT_TRUE(validate::frn_checksum("8503155123450"));
  EXPECT_FALSE(validate::frn_checksum("8503155123452"));
}

TEST(GuardValidators, BusinessRegistrationNumber) {
  EXPECT_TRUE(validate::brn_checksum("1248100998"));  // a published company number
  EXPECT_TRUE(validate::brn_checksum("2208162477"));
  EXPECT_FALSE(validate::brn_checksum("1248100999"));
  EXPECT_FALSE(validate::brn_checksum("124810099"));
}

TEST(GuardValidators, CorporateRegistrationNumber) {
  EXPECT_TRUE(validate::crn_checksum("1301110006246"));  // a published 법인등록번호
  EXPECT_FALSE(validate::crn_checksum("1301110006247"));
  // The same number is RRN-shaped (G = 0, 1813-01-11) but fails the RRN check.
  EXPECT_TRUE(validate::rrn_shape("1301110006246", kToday));
  EXPECT_FALSE(validate::rrn_checksum("1301110006246"));
}

TEST(GuardValidators, LuhnAndIssuers) {
  EXPECT_TRUE(validate::luhn("4111111111111111"));
  EXPECT_TRUE(validate::luhn("378282246310005"));
  EXPECT_TRUE(validate::luhn("5555555555554444"));
  EXPECT_FALSE(validate::luhn("4111111111111112"));
  EXPECT_FALSE(validate::luhn(""));
  EXPECT_FALSE(validate::luhn("4111-1111"));

  EXPECT_TRUE(validate::card_issuer_plausible("4111111111111111"));   // Visa 16
  EXPECT_FALSE(validate::card_issuer_plausible("411111111111111"));   // Visa 15
  EXPECT_TRUE(validate::card_issuer_plausible("378282246310005"));    // Amex 15
  EXPECT_FALSE(validate::card_issuer_plausible("3782822463100055"));  // Amex 16
  EXPECT_TRUE(validate::card_issuer_plausible("2221000000000009"));   // Mastercard 2-series
  EXPECT_TRUE(validate::card_issuer_plausible("3530111333300000"));   // JCB
  EXPECT_TRUE(validate::card_issuer_plausible("6200000000000005"));   // UnionPay
  EXPECT_TRUE(validate::card_issuer_plausible("9410000000000000"));   // Korean domestic
  EXPECT_FALSE(validate::card_issuer_plausible("2024011512345678"));  // an order number
  EXPECT_FALSE(validate::card_issuer_plausible("1234567890123456"));
}

TEST(GuardValidators, DriverRegions) {
  EXPECT_TRUE(validate::driver_region_valid(11));
  EXPECT_TRUE(validate::driver_region_valid(28));
  EXPECT_FALSE(validate::driver_region_valid(10));
  EXPECT_FALSE(validate::driver_region_valid(29));
}

TEST(GuardValidators, PhonePrefixes) {
  EXPECT_EQ(validate::phone_prefix_length("01012345678"), 3u);
  EXPECT_EQ(validate::phone_prefix_length("0111234567"), 3u);
  EXPECT_EQ(validate::phone_prefix_length("0161234567"), 3u);
  EXPECT_EQ(validate::phone_prefix_length("0212345678"), 2u);
  EXPECT_EQ(validate::phone_prefix_length("0311234567"), 3u);
  EXPECT_EQ(validate::phone_prefix_length("0441234567"), 3u);
  EXPECT_EQ(validate::phone_prefix_length("0641234567"), 3u);
  EXPECT_EQ(validate::phone_prefix_length("07012345678"), 3u);
  EXPECT_EQ(validate::phone_prefix_length("0801234567"), 3u);
  for (const char* unassigned : {"0121234567", "0341234567", "0451234567", "0561234567",
                                 "0651234567", "0711234567", "0901234567", "1012345678", "0"}) {
    EXPECT_EQ(validate::phone_prefix_length(unassigned), 0u) << unassigned;
  }
}

TEST(GuardValidators, Ipv4) {
  EXPECT_TRUE(validate::ipv4_valid("192.168.0.1"));
  EXPECT_TRUE(validate::ipv4_valid("0.0.0.0"));
  EXPECT_TRUE(validate::ipv4_valid("255.255.255.255"));
  EXPECT_FALSE(validate::ipv4_valid("256.1.1.1"));
  EXPECT_FALSE(validate::ipv4_valid("1.2.3"));
  EXPECT_FALSE(validate::ipv4_valid("1.2.3.4.5"));
  EXPECT_FALSE(validate::ipv4_valid("01.2.3.4"));
  EXPECT_FALSE(validate::ipv4_valid("1..3.4"));
  EXPECT_FALSE(validate::ipv4_valid("1234.1.1.1"));
}

TEST(GuardValidators, Ipv6) {
  std::size_t digits = 0;
  std::size_t groups = 0;
  EXPECT_TRUE(validate::ipv6_valid("2001:0db8:85a3:0000:0000:8a2e:0370:7334", &digits, &groups));
  EXPECT_EQ(groups, 8u);
  EXPECT_TRUE(validate::ipv6_valid("2001:db8::ff00:42:8329"));
  EXPECT_TRUE(validate::ipv6_valid("fe80::1"));
  EXPECT_TRUE(validate::ipv6_valid("::ffff:192.0.2.128", &digits, &groups));
  EXPECT_TRUE(validate::ipv6_valid("::"));
  EXPECT_FALSE(validate::ipv6_valid("1:2:3:4:5:6:7"));     // 7 groups, no "::"
  EXPECT_FALSE(validate::ipv6_valid("1::2::3"));           // two "::"
  EXPECT_FALSE(validate::ipv6_valid("12:30:45"));          // a time
  EXPECT_FALSE(validate::ipv6_valid("00:1A:2B:3C:4D:5E"));  // a MAC address
  EXPECT_FALSE(validate::ipv6_valid("fe80:"));
  EXPECT_FALSE(validate::ipv6_valid("12345::1"));
  EXPECT_FALSE(validate::ipv6_valid("::ffff:999.0.2.128"));
}

TEST(GuardValidators, Email) {
  EXPECT_TRUE(validate::email_valid("kim.minsu@naver.com"));
  EXPECT_TRUE(validate::email_valid("a+tag@mail.example.co.kr"));
  EXPECT_FALSE(validate::email_valid("user@localhost"));
  EXPECT_FALSE(validate::email_valid(".kim@naver.com"));
  EXPECT_FALSE(validate::email_valid("kim..lee@naver.com"));
  EXPECT_FALSE(validate::email_valid("kim@-naver.com"));
  EXPECT_FALSE(validate::email_valid("kim@naver.c0m"));
  EXPECT_FALSE(validate::email_valid("@naver.com"));
}

TEST(GuardNormalizer, FoldsFullWidthAndDashes) {
  EXPECT_EQ(fold_char_at("０", 0).ascii, '0');
  EXPECT_EQ(fold_char_at("９", 0).ascii, '9');
  EXPECT_EQ(fold_char_at("－", 0).ascii, '-');
  EXPECT_EQ(fold_char_at("Ｍ", 0).ascii, 'M');
  EXPECT_EQ(fold_char_at("ｚ", 0).ascii, 'z');
  EXPECT_EQ(fold_char_at("＠", 0).ascii, '@');
  EXPECT_EQ(fold_char_at("–", 0).ascii, '-');  // en dash
  EXPECT_EQ(fold_char_at("\u3000", 0).ascii, ' ');
  EXPECT_EQ(fold_char_at("가", 0).length, 0u);
  EXPECT_EQ(fold_char_at("—", 0).length, 0u);  // em dash is prose punctuation
  EXPECT_EQ(fold_char_at("“", 0).length, 0u);
  EXPECT_EQ(fold_char_at("\xEF", 0).length, 0u);  // truncated sequence

  EXPECT_FALSE(FoldedText::needs_folding("안녕하세요 “hello” — plain text · 가나다"));
  EXPECT_TRUE(FoldedText::needs_folding("전화 ０１０"));

  FoldedText folded;
  const std::string original = "번호 ０１０－１２３４ 끝";
  folded.fold(original);
  EXPECT_EQ(folded.text(), "번호 010-1234 끝");
  const std::size_t digits_at = folded.text().find("010");
  EXPECT_EQ(folded.original_offset(digits_at), original.find("０"));
  EXPECT_EQ(folded.original_offset(digits_at + 8), original.find(" 끝"));
  EXPECT_EQ(folded.original_offset(folded.text().size()), original.size());
  EXPECT_EQ(folded.original_offset(0), 0u);
}

}  // namespace
}  // namespace baton::guard
