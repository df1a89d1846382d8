// Pure validation rules for the identifiers the guard detects. Every function
// takes ASCII text (the scanner normalises full-width forms first) and never
// throws; a wrong length or a non-digit simply fails validation.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace baton::guard::validate {

struct CivilDate {
  int year = 0;
  int month = 0;
  int day = 0;
  friend auto operator<=>(const CivilDate&, const CivilDate&) = default;
};

bool is_valid_date(const CivilDate& date);

// --- 주민등록번호 / 외국인등록번호: YYMMDD-GNNNNNC --------------------------------

enum class Registrant : unsigned char { citizen, foreigner };

struct RrnShape {
  Registrant registrant;
  CivilDate birth;
};

// Date + gender/century digit check on 13 digits. G in 1-4, 9, 0 is a citizen,
// 5-8 a foreigner. A birth date after `today` is rejected: nobody is registered
// before being born, and it removes many accidental matches on serial numbers.
std::optional<RrnShape> rrn_shape(std::string_view digits13, const CivilDate& today);

// Weights 2,3,4,5,6,7,8,9,2,3,4,5; check = (11 - sum % 11) % 10. Numbers issued
// from October 2020 on have a random tail, so failing this is not proof of
// anything — callers lower confidence instead of rejecting.
bool rrn_checksum(std::string_view digits13);

// Pre-2020 외국인등록번호 used the same weights with (13 - sum % 11) % 10.
bool frn_checksum(std::string_view digits13);

// True when the birth date lies in the random-tail era (issued after 2020-10).
bool rrn_random_tail_era(const CivilDate& birth);

// --- 법인등록번호 / 사업자등록번호 ---------------------------------------------------

// 13 digits, weights 1,2 alternating over the first 12; check = (10 - sum % 10) % 10.
bool crn_checksum(std::string_view digits13);

// 10 digits, weights 1,3,7,1,3,7,1,3,5 plus floor(d9 * 5 / 10); check = (10 - sum % 10) % 10.
bool brn_checksum(std::string_view digits10);

// --- cards, licences, phones ------------------------------------------------------------

bool luhn(std::string_view digits);

// Issuer prefix and length agree with a real scheme (Visa, Mastercard, Amex,
// Discover, JCB, Diners, UnionPay, Korean domestic 9-prefixed BC cards).
bool card_issuer_plausible(std::string_view digits);

// 운전면허 region codes 11-28 (서울 11 ... 경기북부 28).
bool driver_region_valid(int region);

// Length of the area/mobile prefix of a domestic number ("02" -> 2, "010" -> 3),
// or 0 when the prefix is not an assigned Korean area or mobile code.
std::size_t phone_prefix_length(std::string_view national_digits);

// --- network / e-mail ---------------------------------------------------------------------

// Dotted quad, each octet <= 255 and without leading zeros ("01" is rejected:
// real addresses are written without them, dates and codes often have them).
bool ipv4_valid(std::string_view text);

// RFC 4291 text form: eight groups, or fewer with one "::", optional trailing
// dotted quad. hex_digits receives the number of hex digits, groups the number
// of non-empty groups — the caller uses both to reject trivia such as "a::b".
bool ipv6_valid(std::string_view text, std::size_t* hex_digits = nullptr,
                std::size_t* groups = nullptr);

// Practical address syntax: dot-atom local part (<= 64), LDH labels, alphabetic TLD.
bool email_valid(std::string_view text);

}  // namespace baton::guard::validate
