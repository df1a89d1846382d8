#include "guard/validators.hpp"

#include <array>

namespace baton::guard::validate {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool all_digits(std::string_view text, std::size_t expected_length) {
  if (text.size() != expected_length) return false;
  for (char c : text) {
    if (!is_digit(c)) return false;
  }
  return true;
}

int digit(std::string_view text, std::size_t index) { return text[index] - '0'; }

int number(std::string_view text, std::size_t from, std::size_t count) {
  int value = 0;
  for (std::size_t i = from; i < from + count; ++i) value = value * 10 + digit(text, i);
  return value;
}

bool is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

bool is_alnum(char c) { return is_digit(c) || is_alpha(c); }

// Weighted sum shared by the RRN and FRN check digits.
int rrn_weighted_sum(std::string_view d) {
  static constexpr std::array<int, 12> kWeights = {2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5};
  int sum = 0;
  for (std::size_t i = 0; i < kWeights.size(); ++i) sum += digit(d, i) * kWeights[i];
  return sum;
}

}  // namespace

bool is_valid_date(const CivilDate& date) {
  if (date.month < 1 || date.month > 12 || date.day < 1) return false;
  static constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (date.year % 4 == 0 && date.year % 100 != 0) || date.year % 400 == 0;
  const int days = kDays[static_cast<std::size_t>(date.month - 1)] + (leap && date.month == 2 ? 1 : 0);
  return date.day <= days;
}

std::optional<RrnShape> rrn_shape(std::string_view digits13, const CivilDate& today) {
  if (!all_digits(digits13, 13)) return std::nullopt;
  const int gender = digit(digits13, 6);
  int century = 0;
  Registrant registrant = Registrant::citizen;
  switch (gender) {
    case 9: case 0: century = 1800; break;
    case 1: case 2: century = 1900; break;
    case 3: case 4: century = 2000; break;
    case 5: case 6: century = 1900; registrant = Registrant::foreigner; break;
    case 7: case 8: century = 2000; registrant = Registrant::foreigner; break;
    default: return std::nullopt;
  }
  const CivilDate birth{century + number(digits13, 0, 2), number(digits13, 2, 2), number(digits13, 4, 2)};
  if (!is_valid_date(birth) || birth > today) return std::nullopt;
  return RrnShape{registrant, birth};
}

bool rrn_checksum(std::string_view digits13) {
  if (!all_digits(digits13, 13)) return false;
  return (11 - rrn_weighted_sum(digits13) % 11) % 10 == digit(digits13, 12);
}

bool frn_checksum(std::string_view digits13) {
  if (!all_digits(digits13, 13)) return false;
  return (13 - rrn_weighted_sum(digits13) % 11) % 10 == digit(digits13, 12);
}

bool rrn_random_tail_era(const CivilDate& birth) { return birth >= CivilDate{2020, 10, 1}; }

bool crn_checksum(std::string_view digits13) {
  if (!all_digits(digits13, 13)) return false;
  int sum = 0;
  for (std::size_t i = 0; i < 12; ++i) sum += digit(digits13, i) * (i % 2 == 0 ? 1 : 2);
  return (10 - sum % 10) % 10 == digit(digits13, 12);
}

bool brn_checksum(std::string_view digits10) {
  if (!all_digits(digits10, 10)) return false;
  static constexpr std::array<int, 9> kWeights = {1, 3, 7, 1, 3, 7, 1, 3, 5};
  int sum = 0;
  for (std::size_t i = 0; i < kWeights.size(); ++i) sum += digit(digits10, i) * kWeights[i];
  sum += digit(digits10, 8) * 5 / 10;
  return (10 - sum % 10) % 10 == digit(digits10, 9);
}

bool luhn(std::string_view digits) {
  if (digits.empty()) return false;
  int sum = 0;
  bool double_it = false;
  for (std::size_t i = digits.size(); i-- > 0;) {
    if (!is_digit(digits[i])) return false;
    int d = digits[i] - '0';
    if (double_it) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double_it = !double_it;
  }
  return sum % 10 == 0;
}

bool card_issuer_plausible(std::string_view d) {
  const std::size_t n = d.size();
  if (n < 13 || n > 19 || !all_digits(d, n)) return false;
  const int p1 = digit(d, 0);
  const int p2 = number(d, 0, 2);
  const int p3 = number(d, 0, 3);
  const int p4 = number(d, 0, 4);
  if (p1 == 4) return n == 13 || n == 16 || n == 19;                       // Visa
  if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) return n == 16;  // Mastercard
  if (p2 == 34 || p2 == 37) return n == 15;                                 // Amex
  if (p4 >= 3528 && p4 <= 3589) return n >= 16;                             // JCB
  if ((p3 >= 300 && p3 <= 305) || p2 == 36 || p2 == 38 || p2 == 39) return n >= 14;  // Diners
  if (p4 == 6011 || (p3 >= 644 && p3 <= 649) || p2 == 65) return n >= 16;   // Discover
  if (p2 == 62) return n >= 16;                                              // UnionPay
  if (p1 == 9) return n == 16;                                               // Korean domestic (BC)
  return false;
}

bool driver_region_valid(int region) { return region >= 11 && region <= 28; }

std::size_t phone_prefix_length(std::string_view national) {
  if (national.size() < 2 || national[0] != '0') return 0;
  if (national[1] == '2') return 2;  // Seoul
  if (national.size() < 3) return 0;
  const int second = national[1] - '0';
  const int third = national[2] - '0';
  switch (second) {
    case 1: return (third == 0 || third == 1 || (third >= 6 && third <= 9)) ? 3 : 0;  // mobiles
    case 3: return (third >= 1 && third <= 3) ? 3 : 0;
    case 4: return (third >= 1 && third <= 4) ? 3 : 0;
    case 5: return (third >= 1 && third <= 5) ? 3 : 0;
    case 6: return (third >= 1 && third <= 4) ? 3 : 0;
    case 7: case 8: return third == 0 ? 3 : 0;  // 070 VoIP, 080 toll-free
    default: return 0;
  }
}

bool ipv4_valid(std::string_view text) {
  int parts = 0;
  std::size_t i = 0;
  while (true) {
    const std::size_t begin = i;
    int value = 0;
    while (i < text.size() && is_digit(text[i]) && i - begin < 4) value = value * 10 + (text[i++] - '0');
    const std::size_t length = i - begin;
    if (length == 0 || length > 3 || value > 255) return false;
    if (length > 1 && text[begin] == '0') return false;
    ++parts;
    if (i == text.size()) break;
    if (text[i] != '.' || parts == 4) return false;
    ++i;
  }
  return parts == 4;
}

bool ipv6_valid(std::string_view text, std::size_t* hex_digits, std::size_t* groups) {
  std::size_t digits_seen = 0;
  std::size_t non_empty = 0;
  std::size_t group_count = 0;
  bool compressed = false;
  std::size_t i = 0;
  if (text.size() < 2) return false;
  if (text[0] == ':') {
    if (text[1] != ':') return false;
    compressed = true;
    i = 2;
    if (i == text.size()) {
      if (hex_digits) *hex_digits = 0;
      if (groups) *groups = 0;
      return true;
    }
  }
  while (i < text.size()) {
    const std::size_t begin = i;
    while (i < text.size() && is_hex(text[i]) && i - begin < 5) ++i;
    const std::size_t length = i - begin;
    if (i < text.size() && text[i] == '.') {
      // Embedded IPv4 must be the final part and counts as two groups.
      if (!ipv4_valid(text.substr(begin))) return false;
      group_count += 2;
      non_empty += 1;
      digits_seen += 4;
      i = text.size();
      break;
    }
    if (length == 0 || length > 4) return false;
    ++group_count;
    ++non_empty;
    digits_seen += length;
    if (i == text.size()) break;
    if (text[i] != ':') return false;
    ++i;
    if (i < text.size() && text[i] == ':') {
      if (compressed) return false;
      compressed = true;
      ++i;
    } else if (i == text.size()) {
      return false;  // a single trailing colon
    }
  }
  if (compressed ? group_count > 7 : group_count != 8) return false;
  if (hex_digits) *hex_digits = digits_seen;
  if (groups) *groups = non_empty;
  return true;
}

bool email_valid(std::string_view text) {
  const std::size_t at = text.find('@');
  if (at == std::string_view::npos || text.size() > 254) return false;
  const std::string_view local = text.substr(0, at);
  const std::string_view domain = text.substr(at + 1);
  if (local.empty() || local.size() > 64 || local.front() == '.' || local.back() == '.') return false;
  char previous = 0;
  for (char c : local) {
    const bool allowed = is_alnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-';
    if (!allowed || (c == '.' && previous == '.')) return false;
    previous = c;
  }
  std::size_t label_begin = 0;
  std::size_t labels = 0;
  for (std::size_t i = 0; i <= domain.size(); ++i) {
    if (i < domain.size() && domain[i] != '.') {
      if (!is_alnum(domain[i]) && domain[i] != '-') return false;
      continue;
    }
    const std::string_view label = domain.substr(label_begin, i - label_begin);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
    ++labels;
    if (i == domain.size()) {
      if (label.size() < 2) return false;
      for (char c : label) {
        if (!is_alpha(c)) return false;
      }
    }
    label_begin = i + 1;
  }
  return labels >= 2;
}

}  // namespace baton::guard::validate
