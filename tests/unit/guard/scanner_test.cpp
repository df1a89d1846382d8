// Scanner behaviour on hand-written cases: one positive per detector and
// format, the traps it must not fall into, offsets, and robustness.

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <thread>
#include <vector>

#include "guard/scanner.hpp"

namespace baton::guard {
namespace {

struct Hit {
  PiiType type;
  std::string value;
  friend bool operator==(const Hit&, const Hit&) = default;
  friend std::ostream& operator<<(std::ostream& os, const Hit& hit) {
    return os << to_string(hit.type) << ":\"" << hit.value << '"';
  }
};

class GuardScanner : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { scanner_ = Scanner::create(validate::CivilDate{2025, 6, 1}).release(); }
  static void TearDownTestSuite() {
    delete scanner_;
    scanner_ = nullptr;
  }

  static std::vector<Hit> hits(std::string_view text) {
    std::vector<Finding> findings;
    scanner_->scan(text, findings);
    std::vector<Hit> out;
    for (const Finding& finding : findings) {
      out.push_back(Hit{finding.type, std::string(text.substr(finding.start, finding.end - finding.start))});
    }
    return out;
  }

  static std::vector<Finding> findings(std::string_view text) {
    std::vector<Finding> out;
    scanner_->scan(text, out);
    return out;
  }

  static void expect_one(std::string_view text, PiiType type, std::string_view value) {
    EXPECT_EQ(hits(text), (std::vector<Hit>{{type, std::string(value)}})) << text;
  }

  static void expect_none(std::string_view text) { EXPECT_EQ(hits(text), std::vector<Hit>{}) << text; }

  static inline Scanner* scanner_ = nullptr;
};

TEST_F(GuardScanner, CreateSucceeds) { ASSERT_NE(Scanner::create(), nullptr); }

TEST_F(GuardScanner, ResidentRegistrationNumbers) {
  expect_one("제 주민등록번호는 900101-1234568입니다.", PiiType::kr_rrn, "900101-1234568");
  expect_one("번호는900101-1234568이에요", PiiType::kr_rrn, "900101-1234568");
  expect_one("주민번호 900101 1234568 맞아요", PiiType::kr_rrn, "900101 1234568");
  expect_one("주민번호 9001011234568", PiiType::kr_rrn, "9001011234568");
  expect_one("rrn: 9001011234568.", PiiType::kr_rrn, "9001011234568");
}

TEST_F(GuardScanner, FailedChecksumLowersConfidenceButStillReports) {
  const auto valid = findings("번호 900101-1234568");
  const auto changed = findings("번호 900101-1234567");          // pre-2020 birth, bad check digit
  const auto random_era = findings("번호 211015-3987651");       // born 2021: random tail
  ASSERT_EQ(valid.size(), 1u);
  ASSERT_EQ(changed.size(), 1u);
  ASSERT_EQ(random_era.size(), 1u);
  EXPECT_EQ(changed[0].type, PiiType::kr_rrn);
  EXPECT_EQ(random_era[0].type, PiiType::kr_rrn);
  EXPECT_GT(valid[0].confidence, random_era[0].confidence);
  EXPECT_GT(random_era[0].confidence, changed[0].confidence);
}

TEST_F(GuardScanner, ForeignerRegistrationNumbers) {
  expect_one("외국인등록번호 850315-5123450 입니다", PiiType::kr_frn, "850315-5123450");
  expect_one("ARC 0501017123453", PiiType::kr_frn, "0501017123453");
}

TEST_F(GuardScanner, CorporateNumberNeedsTheWordAndLosesToAnRrnReading) {
  expect_one("법인등록번호 130111-0006246", PiiType::kr_crn, "130111-0006246");
  expect_one("법인번호: 1301110006246", PiiType::kr_crn, "1301110006246");
  // Without 법인 the same RRN-shaped number is read as a (changed) RRN.
  expect_one("번호 130111-0006246", PiiType::kr_rrn, "130111-0006246");
  // Not RRN-shaped (month 45), CRN check holds, but no 법인: not reported.
  expect_none("코드 134571-0000000");
}

TEST_F(GuardScanner, BusinessRegistrationNumbers) {
  expect_one("사업자등록번호 124-81-00998 입니다", PiiType::kr_brn, "124-81-00998");
  expect_one("거래처 124-81-00998", PiiType::kr_brn, "124-81-00998");
  expect_one("사업자번호: 1248100998", PiiType::kr_brn, "1248100998");
  expect_none("사업자등록번호 124-81-00999 조회 결과 없음");  // bad check digit
  expect_none("번호 1248100998");                           // bare 10 digits, no 사업자
}

TEST_F(GuardScanner, DriverLicences) {
  expect_one("운전면허 11-23-123456-78 입니다", PiiType::kr_driver_license, "11-23-123456-78");
  expect_one("11 23 123456 78 이 번호", PiiType::kr_driver_license, "11 23 123456 78");
  expect_one("면허번호: 112312345678", PiiType::kr_driver_license, "112312345678");
  expect_one("운전면허 서울 12-345678-90", PiiType::kr_driver_license, "12-345678-90");
  expect_none("번호 10-23-123456-78");  // region 10 does not exist
  expect_none("번호 112312345678");     // bare 12 digits need 면허
}

TEST_F(GuardScanner, Passports) {
  expect_one("여권번호 M12345678 입니다", PiiType::kr_passport, "M12345678");
  expect_one("여권 번호는M12345678이에요", PiiType::kr_passport, "M12345678");
  expect_one("Passport No. S123A4567", PiiType::kr_passport, "S123A4567");
  expect_one("확인번호 M123A4567 입니다", PiiType::kr_passport, "M123A4567");  // 2021 format alone
  expect_one("M12345678 (여권번호)", PiiType::kr_passport, "M12345678");
  expect_none("제품코드 M12345678");   // old format without 여권
  expect_none("제품코드 D91426487 / 여권 사진 규격은 3.5x4.5cm");  // 여권 belongs to the next sentence
  expect_none("여권 X12345678");       // not a passport letter
  expect_none("여권 M123456789");      // nine digits
  expect_none("SKUM12345678");         // glued to letters
}

TEST_F(GuardScanner, Phones) {
  expect_one("연락처 010-1234-5678 로", PiiType::kr_phone, "010-1234-5678");
  expect_one("010.1234.5678", PiiType::kr_phone, "010.1234.5678");
  expect_one("010 1234 5678", PiiType::kr_phone, "010 1234 5678");
  expect_one("01012345678로 문자", PiiType::kr_phone, "01012345678");
  expect_one("010.1234-5678", PiiType::kr_phone, "010.1234-5678");
  expect_one("02-123-4567", PiiType::kr_phone, "02-123-4567");
  expect_one("02-1234-5678", PiiType::kr_phone, "02-1234-5678");
  expect_one("031-123-4567", PiiType::kr_phone, "031-123-4567");
  expect_one("064-712-3456", PiiType::kr_phone, "064-712-3456");
  expect_one("070-1234-5678", PiiType::kr_phone, "070-1234-5678");
  expect_one("080-123-4567", PiiType::kr_phone, "080-123-4567");
  expect_one("011-234-5678", PiiType::kr_phone, "011-234-5678");
  expect_one("(02) 123-4567", PiiType::kr_phone, "(02) 123-4567");
  expect_one("+82 10-1234-5678", PiiType::kr_phone, "+82 10-1234-5678");
  expect_one("+82-2-123-4567", PiiType::kr_phone, "+82-2-123-4567");
  expect_one("+821012345678", PiiType::kr_phone, "+821012345678");
  expect_one("+82 (0)10 1234 5678", PiiType::kr_phone, "+82 (0)10 1234 5678");
  expect_one("전화번호는010-1234-5678입니다", PiiType::kr_phone, "010-1234-5678");
}

TEST_F(GuardScanner, PhoneTraps) {
  expect_none("020-1234-5678");      // 020 is not assigned
  expect_none("059-123-4567");
  expect_none("012-345-6789");
  expect_none("010-123-4567");       // 010 always has a 4-digit exchange
  expect_none("010-0123-4567");      // exchanges never start with 0
  expect_none("010-1234-56789");     // too long
  expect_none("1010-1234-5678");     // glued to a longer number
  expect_none("0101-234-5678");      // separators in the wrong places
  expect_none("대표번호 1588-1234");   // service numbers are not personal
  expect_none("tel010-1234-5678x");  // glued to letters on both sides
}

TEST_F(GuardScanner, BankAccountsNeedContext) {
  expect_one("국민은행 123456-12-123456 으로 입금", PiiType::kr_bank_account, "123456-12-123456");
  expect_one("카카오뱅크 3333-01-1234567", PiiType::kr_bank_account, "3333-01-1234567");
  expect_one("계좌번호 110123456789 로 송금", PiiType::kr_bank_account, "110123456789");
  expect_one("bank account 110-123-456789 please", PiiType::kr_bank_account, "110-123-456789");
  expect_one("110-123-456789 (신한)", PiiType::kr_bank_account, "110-123-456789");
  expect_none("참조번호 110-123-456789 입니다");
  expect_none("계좌 개설일 2024-01-15");
  expect_none("주문번호 110123456789 계좌");
  expect_none("연봉 4808298802원 계좌");
}

TEST_F(GuardScanner, CreditCards) {
  expect_one("카드번호 4111-1111-1111-1111", PiiType::credit_card, "4111-1111-1111-1111");
  expect_one("4111 1111 1111 1111", PiiType::credit_card, "4111 1111 1111 1111");
  expect_one("결제 4111111111111111 완료", PiiType::credit_card, "4111111111111111");
  expect_one("Amex 3782 822463 10005", PiiType::credit_card, "3782 822463 10005");
  expect_one("card 5555-5555 5555-4444", PiiType::credit_card, "5555-5555 5555-4444");
  expect_one("신용카드4111111111111111로", PiiType::credit_card, "4111111111111111");
  expect_none("카드번호 4111 1111 1111 1112");   // Luhn fails
  expect_none("1234567890123452");               // Luhn holds, no issuer starts with 1
  expect_none("주문번호 4111111111111111");       // bare run after 주문번호
}

TEST_F(GuardScanner, Emails) {
  expect_one("메일은 kim.minsu@naver.com 입니다", PiiType::email, "kim.minsu@naver.com");
  expect_one("메일은kim.minsu@naver.com로 보내주세요", PiiType::email, "kim.minsu@naver.com");
  expect_one("Contact <a+b@mail.example.co.kr>.", PiiType::email, "a+b@mail.example.co.kr");
  expect_one("mailto:dev@example.org", PiiType::email, "dev@example.org");
  expect_one("끝에 마침표 lee@daum.net.", PiiType::email, "lee@daum.net");
  expect_none("user@localhost 는 아님");
  expect_none("@minsu 님");
  expect_none("a@b");
}

TEST_F(GuardScanner, IpAddresses) {
  expect_one("접속 IP 211.234.56.78 입니다", PiiType::ip_address, "211.234.56.78");
  expect_one("서버 10.0.0.1:8080 연결", PiiType::ip_address, "10.0.0.1");
  expect_one("ip=192.168.0.1,", PiiType::ip_address, "192.168.0.1");
  expect_one("주소 2001:db8::ff00:42:8329 확인", PiiType::ip_address, "2001:db8::ff00:42:8329");
  expect_one("2001:0db8:85a3:0000:0000:8a2e:0370:7334", PiiType::ip_address,
             "2001:0db8:85a3:0000:0000:8a2e:0370:7334");
  expect_one("mapped ::ffff:192.0.2.128 here", PiiType::ip_address, "::ffff:192.0.2.128");
  expect_one("[fe80::1ff:fe23:4567:890a]:443", PiiType::ip_address, "fe80::1ff:fe23:4567:890a");
}

TEST_F(GuardScanner, IpTraps) {
  expect_none("v1.2.3.4 배포");
  expect_none("version 1.2.3.4 released");
  expect_none("버전 10.0.0.1 에서 수정");
  expect_none("ver. 2.0.1.3");
  expect_none("Chrome 120.0.6099.109");
  expect_none("1.2.3.4.5");
  expect_none("256.1.1.1");
  expect_none("01.02.03.04");
  expect_none("12:30:45 기준");
  expect_none("MAC 00:1A:2B:3C:4D:5E");
  expect_none("std::vector 와 a::b");
  expect_none("loopback ::1");
}

TEST_F(GuardScanner, DatesPricesAndSerials) {
  expect_none("회의는 2024-01-15 오후 2시");
  expect_none("2024.01.15 기준 정산");
  expect_none("2024/01/15 14:30:00");
  expect_none("24.01.15 에 만나요");
  expect_none("총 1,234,567원 결제");
  expect_none("₩12,345,678");
  expect_none("주문번호 2024011512345678 배송 조회");
  expect_none("운송장 번호 6012345678901");
  expect_none("Order #2024011512345 shipped");
  expect_none("난수 123456789012345678901234567890");
  expect_none("인증번호 482913");
  expect_none("우편번호 06236");
  expect_none("SKU9001011234568 재고");
  expect_none("모델번호 ABC900101-1234568");
  expect_none("타임스탬프 1705312345678");
}

TEST_F(GuardScanner, DigitRunLongerThanPatternIsNotMatched) {
  expect_none("99001011234568");      // 14 digits containing a valid RRN
  expect_none("9001011234568123");
  expect_none("1-900101-1234568");     // continues a hyphenated number
  expect_none("900101-1234568-1");
  expect_none("41111111111111111111"); // 20 digits
}

TEST_F(GuardScanner, FullWidthOffsetsPointIntoTheOriginal) {
  const std::string text = "전화 ０１０－１２３４－５６７８ 주세요";
  const auto found = findings(text);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].type, PiiType::kr_phone);
  EXPECT_EQ(text.substr(found[0].start, found[0].end - found[0].start), "０１０－１２３４－５６７８");

  expect_one("주민번호 ９００１０１－１２３４５６８", PiiType::kr_rrn, "９００１０１－１２３４５６８");
  expect_one("메일 ｋｉｍ＠ｎａｖｅｒ．ｃｏｍ 입니다", PiiType::email, "ｋｉｍ＠ｎａｖｅｒ．ｃｏｍ");
  expect_one("전화 010–1234–5678", PiiType::kr_phone, "010–1234–5678");  // en dashes
}

TEST_F(GuardScanner, SeveralFindingsSortedAndAppended) {
  const std::string text =
      "이름 김민수, 주민번호 900101-1234568, 연락처 010-1234-5678, 메일 kim@naver.com, "
      "카드 4111 1111 1111 1111, IP 211.234.56.78";
  std::vector<Finding> out{Finding{PiiType::email, 0, 1, 1.0f}};  // scan() appends
  scanner_->scan(text, out);
  ASSERT_EQ(out.size(), 6u);
  EXPECT_EQ(out[0].start, 0u);
  const std::vector<PiiType> expected = {PiiType::kr_rrn, PiiType::kr_phone, PiiType::email,
                                         PiiType::credit_card, PiiType::ip_address};
  for (std::size_t i = 1; i < out.size(); ++i) {
    EXPECT_EQ(out[i].type, expected[i - 1]);
    if (i > 1) {
      EXPECT_LE(out[i - 1].end, out[i].start);
    }
  }
}

TEST_F(GuardScanner, EmptyAndHostileInputs) {
  expect_none("");
  expect_none(std::string(1, '\0'));
  expect_none(std::string("\xff\xfe\xfd 900101-12", 12));
  expect_none("\xEF\xBC");  // truncated full-width sequence
  const std::string flood(200000, '7');
  expect_none(flood);
  std::string separators;
  for (int i = 0; i < 20000; ++i) separators += "1-2.3 ";
  EXPECT_NO_THROW(hits(separators));
  const std::string with_nul("a\0b 010-1234-5678", 17);
  EXPECT_EQ(hits(with_nul), (std::vector<Hit>{{PiiType::kr_phone, "010-1234-5678"}}));
}

// Random mixtures of the characters the detectors care about: whatever comes
// out must be in bounds, sorted, non-overlapping and on UTF-8 boundaries.
TEST_F(GuardScanner, RandomInputInvariants) {
  const std::vector<std::string> alphabet = {"0", "1", "2", "9", "5", "-", ".", " ", "@", ":", "a", "M", "가",
                                             "０", "－", "+82", "010", "\n", "kr", "(", ")", "\xff"};
  std::mt19937 rng(42);
  for (int round = 0; round < 2000; ++round) {
    std::string text;
    const int pieces = static_cast<int>(rng() % 60);
    for (int i = 0; i < pieces; ++i) text += alphabet[rng() % alphabet.size()];
    const auto found = findings(text);
    std::size_t previous_end = 0;
    for (const Finding& finding : found) {
      ASSERT_LT(finding.start, finding.end) << text;
      ASSERT_LE(finding.end, text.size()) << text;
      ASSERT_GE(finding.start, previous_end) << text;
      ASSERT_NE(static_cast<unsigned char>(text[finding.start]) & 0xC0, 0x80u) << text;
      if (finding.end < text.size()) {
        ASSERT_NE(static_cast<unsigned char>(text[finding.end]) & 0xC0, 0x80u) << text;
      }
      ASSERT_GE(finding.confidence, 0.5f);
      ASSERT_LE(finding.confidence, 1.0f);
      previous_end = finding.end;
    }
  }
}

TEST_F(GuardScanner, ConcurrentScansAgree) {
  const std::string text = "주민번호 900101-1234568 / 010-1234-5678 / ０１０－９８７６－５４３２ / kim@naver.com";
  const auto expected = hits(text);
  ASSERT_EQ(expected.size(), 4u);
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) {
        if (hits(text) != expected) {
          ++mismatches[static_cast<std::size_t>(t)];
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (int count : mismatches) EXPECT_EQ(count, 0);
}

TEST_F(GuardScanner, TwoScannersShareThreadScratch) {
  const auto other = Scanner::create();
  ASSERT_NE(other, nullptr);
  for (int i = 0; i < 3; ++i) {
    std::vector<Finding> a;
    std::vector<Finding> b;
    scanner_->scan("010-1234-5678", a);
    other->scan("010-1234-5678", b);
    ASSERT_EQ(a.size(), 1u);
    ASSERT_EQ(b.size(), 1u);
  }
}

}  // namespace
}  // namespace baton::guard
