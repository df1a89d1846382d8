#include "guard/classifier.hpp"

#include <algorithm>
#include <array>

#include "guard/context.hpp"

namespace baton::guard::detail {

namespace {

using validate::Registrant;

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_alnum(char c) { return is_digit(c) || is_alpha(c); }
bool is_email_local(char c) {
  return is_alnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-';
}

// --- boundaries --------------------------------------------------------------------------
//
// A number glued to another digit, to an ASCII letter (product codes such as
// "SKU9001011234567", hex strings) or continued by "-digit"/".digit" belongs
// to something longer and is not the identifier it looks like. Hangul and
// punctuation are fine neighbours: "번호는900101-1234567이에요" must match.

bool numeric_left_ok(std::string_view text, std::size_t start) {
  if (start == 0) return true;
  const char c = text[start - 1];
  if (is_alnum(c) || c == '_') return false;
  if ((c == '-' || c == '.') && start >= 2 && is_digit(text[start - 2])) return false;
  return true;
}

bool numeric_right_ok(std::string_view text, std::size_t end) {
  if (end >= text.size()) return true;
  const char c = text[end];
  if (is_alnum(c) || c == '_') return false;
  if ((c == '-' || c == '.') && end + 1 < text.size() && is_digit(text[end + 1])) return false;
  return true;
}

bool numeric_bounds_ok(std::string_view text, std::size_t start, std::size_t end) {
  return numeric_left_ok(text, start) && numeric_right_ok(text, end);
}

// --- digit extraction ---------------------------------------------------------------------

// The digits of a span plus where the separators sat (as "digits before it").
struct DigitGroups {
  std::array<char, 24> digits{};
  std::size_t count = 0;
  std::array<std::size_t, 6> separators{};
  std::size_t separator_count = 0;
  bool has_space = false;
  bool overflow = false;

  std::string_view view() const { return {digits.data(), count}; }
  bool separated() const { return separator_count > 0; }
};

DigitGroups split_digits(std::string_view span) {
  DigitGroups groups;
  for (char c : span) {
    if (is_digit(c)) {
      if (groups.count == groups.digits.size()) {
        groups.overflow = true;
        return groups;
      }
      groups.digits[groups.count++] = c;
    } else if (c == ' ' || c == '-' || c == '.') {
      if (groups.separator_count == groups.separators.size()) {
        groups.overflow = true;
        return groups;
      }
      groups.separators[groups.separator_count++] = groups.count;
      groups.has_space = groups.has_space || c == ' ';
    }
  }
  return groups;
}

// --- emission ---------------------------------------------------------------------------

class Emitter {
 public:
  Emitter(std::vector<Finding>& out, std::size_t start, std::size_t end) : out_(out), start_(start), end_(end) {}
  void operator()(PiiType type, float confidence) const {
    if (confidence >= kReportThreshold) out_.push_back(Finding{type, start_, end_, std::min(confidence, 0.99f)});
  }

 private:
  std::vector<Finding>& out_;
  std::size_t start_;
  std::size_t end_;
};

// Context lookups are cheap but not free; this memoises them per candidate.
class Context {
 public:
  Context(std::string_view text, std::size_t start, std::size_t end) : text_(text), start_(start), end_(end) {
    distances_.fill(kUnknown);
  }
  std::size_t distance(ContextKind kind) {
    std::size_t& cached = distances_[static_cast<std::size_t>(kind)];
    if (cached == kUnknown) cached = context_distance(text_, start_, end_, kind);
    return cached;
  }
  bool has(ContextKind kind) { return distance(kind) != kNoContext; }

 private:
  static constexpr std::size_t kUnknown = kNoContext - 1;
  std::string_view text_;
  std::size_t start_;
  std::size_t end_;
  std::array<std::size_t, kContextKindCount> distances_{};
};

// "연봉 4808298802원", "₩12000000": an amount of money, whatever its digits say.
bool is_money(std::string_view text, std::size_t start, std::size_t end) {
  const std::string_view after = text.substr(end);
  if (after.starts_with("원") || after.starts_with("달러")) return true;
  const std::string_view before = text.substr(0, start);
  return before.ends_with("₩") || before.ends_with("￦") || before.ends_with("$") || before.ends_with("₩ ");
}

// --- per-identifier rules -------------------------------------------------------------------

// 13 digits: 주민등록번호, 외국인등록번호 or 법인등록번호. An RRN-shaped number
// (valid birth date and G digit) is read as a person's number first; it becomes
// a 법인등록번호 only when its RRN checksum fails, the CRN checksum holds and the
// text says 법인.
void classify_thirteen(std::string_view digits, bool separated, Context& context, const ClassifyEnv& env,
                       const Emitter& emit) {
  const bool crn_ok = validate::crn_checksum(digits);
  if (const auto shape = validate::rrn_shape(digits, env.today)) {
    const bool foreigner = shape->registrant == Registrant::foreigner;
    const bool checksum_ok = foreigner ? (validate::frn_checksum(digits) || validate::rrn_checksum(digits))
                                       : validate::rrn_checksum(digits);
    if (!checksum_ok && crn_ok && context.has(ContextKind::corporate)) {
      emit(PiiType::kr_crn, 0.9f);
      return;
    }
    // A failed checksum lowers confidence but never clears the number: numbers
    // issued since October 2020 carry random digits after G.
    const bool random_era = validate::rrn_random_tail_era(shape->birth);
    float confidence = 0.0f;
    if (checksum_ok) {
      confidence = separated ? 0.99f : 0.95f;
    } else if (separated) {
      confidence = random_era ? 0.85f : 0.75f;
    } else {
      confidence = random_era ? 0.7f : 0.6f;
    }
    if (!checksum_ok && context.has(foreigner ? ContextKind::foreigner : ContextKind::resident)) {
      confidence += 0.2f;
    }
    if (!separated && context.has(ContextKind::serial)) confidence -= 0.4f;
    emit(foreigner ? PiiType::kr_frn : PiiType::kr_rrn, confidence);
    return;
  }
  if (crn_ok) {
    // One random 13-digit number in ten passes the CRN check, so without the
    // word 법인 nearby a CRN reading is not trusted.
    float confidence = context.has(ContextKind::corporate) ? 0.95f : 0.45f;
    if (!separated && context.has(ContextKind::serial)) confidence -= 0.4f;
    emit(PiiType::kr_crn, confidence);
  }
}

// Domestic number in `national` (leading 0). Separator positions, when given,
// must fall exactly between prefix / exchange / subscriber groups.
bool phone_shape_ok(std::string_view national, const DigitGroups* groups, std::size_t digit_offset) {
  const std::size_t prefix = validate::phone_prefix_length(national);
  if (prefix == 0) return false;
  const std::size_t rest = national.size() - prefix;
  if (rest != 7 && rest != 8) return false;
  if (national.substr(0, 3) == "010" && rest != 8) return false;
  const std::size_t exchange = rest - 4;
  if (national[prefix] == '0') return false;  // exchanges never start with 0
  if (groups != nullptr) {
    for (std::size_t i = 0; i < groups->separator_count; ++i) {
      const std::size_t at = groups->separators[i] + digit_offset;
      if (at != prefix && at != prefix + exchange) return false;
    }
  }
  return true;
}

float phone_confidence(bool separated, std::string_view national, Context& context) {
  if (separated) return 0.95f;
  float confidence = national.size() == 11 && national.starts_with("01") ? 0.9f : 0.85f;
  if (context.has(ContextKind::serial)) confidence -= 0.4f;
  return confidence;
}

void classify_domestic_phone(std::string_view span, Context& context, const Emitter& emit) {
  const DigitGroups groups = split_digits(span);
  if (groups.overflow || !phone_shape_ok(groups.view(), &groups, 0)) return;
  emit(PiiType::kr_phone, phone_confidence(groups.separated(), groups.view(), context));
}

void classify_parenthesised_phone(std::string_view span, const Emitter& emit) {
  // "(02) 123-4567": the area code is whatever sits inside the parentheses.
  const std::size_t close = span.find(')');
  if (close == std::string_view::npos) return;
  const DigitGroups groups = split_digits(span);
  if (groups.overflow) return;
  const std::size_t area_digits = close - 1;
  if (validate::phone_prefix_length(groups.view()) != area_digits) return;
  const DigitGroups rest = split_digits(span.substr(close + 1));
  if (!phone_shape_ok(groups.view(), &rest, area_digits)) return;
  emit(PiiType::kr_phone, 0.95f);
}

void classify_international_phone(std::string_view span, const Emitter& emit) {
  std::size_t pos = span.find("82");
  if (pos == std::string_view::npos) return;
  std::string_view rest = span.substr(pos + 2);
  std::array<char, 24> national{};
  std::size_t length = 0;
  national[length++] = '0';
  bool first = true;
  for (std::size_t i = 0; i < rest.size(); ++i) {
    if (rest.substr(i).starts_with("(0)")) {
      i += 2;
      continue;
    }
    if (!is_digit(rest[i])) continue;
    if (first && rest[i] == '0') {  // "+82 010-..." repeats the trunk 0
      first = false;
      continue;
    }
    first = false;
    if (length == national.size()) return;
    national[length++] = rest[i];
  }
  if (!phone_shape_ok({national.data(), length}, nullptr, 0)) return;
  emit(PiiType::kr_phone, 0.95f);
}

void classify_card(std::string_view digits, bool separated, Context& context, const Emitter& emit) {
  if (digits.size() < 13 || digits.size() > 19) return;
  if (!validate::luhn(digits) || !validate::card_issuer_plausible(digits)) return;
  float confidence = 0.95f;
  if (!separated) {
    // A bare run nearer to the word for another identifier ("주민등록번호
    // 4409231258632", "이체할 계좌 4401730307739") is that identifier even
    // when it happens to pass Luhn.
    const std::size_t card_word = context.distance(ContextKind::card);
    std::size_t other_word = kNoContext;
    for (const ContextKind other : {ContextKind::resident, ContextKind::foreigner, ContextKind::corporate,
                                    ContextKind::business, ContextKind::driver, ContextKind::bank}) {
      other_word = std::min(other_word, context.distance(other));
    }
    if (other_word < card_word) {
      confidence = 0.45f;
    } else {
      confidence = card_word != kNoContext ? 0.9f : 0.85f;
    }
  }
  if (context.has(ContextKind::serial)) confidence -= 0.4f;
  emit(PiiType::credit_card, confidence);
}

// Bank accounts have no structure of their own, so they need a bank word
// nearby — and it must be the nearest identifier word: in "예금주 김민수 /
// 사업자등록번호 745-79-66287" the number belongs to 사업자등록번호.
void classify_bank(const DigitGroups& groups, Context& context, const ClassifyEnv& env, const Emitter& emit) {
  if (groups.count < 10 || groups.count > 14) return;
  // NNNNNN-NNNNNNN with a birth date is a resident number, not an account.
  if (groups.count == 13 && groups.separator_count == 1 && groups.separators[0] == 6 &&
      validate::rrn_shape(groups.view(), env.today)) {
    return;
  }
  // 0XX-XXXX-XXXX is written like a phone number (valid area code or not);
  // Korean account numbers are not laid out that way.
  if (groups.separator_count == 2 && groups.digits[0] == '0' && groups.separators[0] <= 3 &&
      groups.count - groups.separators[1] == 4) {
    return;
  }
  const std::size_t bank = context.distance(ContextKind::bank);
  if (bank == kNoContext || context.has(ContextKind::serial)) return;
  for (const ContextKind other : {ContextKind::resident, ContextKind::foreigner, ContextKind::corporate,
                                  ContextKind::business, ContextKind::driver, ContextKind::passport,
                                  ContextKind::phone, ContextKind::card}) {
    if (context.distance(other) < bank) return;
  }
  emit(PiiType::kr_bank_account, 0.88f);
}

void classify_bare(const DigitGroups& groups, Context& context, const ClassifyEnv& env, const Emitter& emit) {
  const std::string_view digits = groups.view();
  const std::size_t n = digits.size();
  const bool phone_shaped = n >= 9 && n <= 11 && phone_shape_ok(digits, nullptr, 0);
  if (phone_shaped) emit(PiiType::kr_phone, phone_confidence(false, digits, context));
  if (n == 13) classify_thirteen(digits, false, context, env, emit);
  if (n == 10 && validate::brn_checksum(digits) && context.has(ContextKind::business) &&
      !context.has(ContextKind::serial)) {
    emit(PiiType::kr_brn, 0.9f);
  }
  if (n == 12 && validate::driver_region_valid((digits[0] - '0') * 10 + (digits[1] - '0')) &&
      context.has(ContextKind::driver) && !context.has(ContextKind::serial)) {
    emit(PiiType::kr_driver_license, 0.85f);
  }
  classify_card(digits, false, context, emit);
  // A bare 0-prefixed number of phone shape is a phone even next to "계좌"
  // (account numbers do not start with an area code).
  if (!phone_shaped) classify_bank(groups, context, env, emit);
}

// --- e-mail / IP ----------------------------------------------------------------------------

void classify_email(std::string_view text, std::size_t at, std::size_t end, std::vector<Finding>& out) {
  // Vectorscan reports from the '@'; the local part is found here by walking back.
  std::size_t start = at;
  while (start > 0 && at - start < 64 && is_email_local(text[start - 1])) --start;
  if (start > 0 && is_email_local(text[start - 1])) return;  // local part longer than 64
  while (start < at && text[start] == '.') ++start;
  if (end < text.size()) {
    const char c = text[end];
    if (is_alnum(c) || c == '-' || c == '_') return;
    if (c == '.' && end + 1 < text.size() && is_alnum(text[end + 1])) return;
  }
  if (!validate::email_valid(text.substr(start, end - start))) return;
  Emitter(out, start, end)(PiiType::email, 0.95f);
}

void classify_ipv4(std::string_view text, std::size_t start, std::size_t end, const Emitter& emit) {
  if (start > 0) {
    const char c = text[start - 1];
    if (is_alnum(c) || c == '_') return;  // "v1.2.3.4", "build12.0.0.1"
    if (c == '.' && start >= 2 && is_digit(text[start - 2])) return;
  }
  if (end < text.size()) {
    const char c = text[end];
    if (is_alnum(c) || c == '_') return;
    if (c == '.' && end + 1 < text.size() && is_digit(text[end + 1])) return;
  }
  if (!validate::ipv4_valid(text.substr(start, end - start))) return;
  if (preceded_by_version_word(text, start)) return;
  emit(PiiType::ip_address, 0.9f);
}

void classify_ipv6(std::string_view text, std::size_t start, std::size_t end, const Emitter& emit) {
  if (start > 0) {
    const char c = text[start - 1];
    if (is_alnum(c) || c == '_' || c == ':' || c == '.') return;
  }
  if (end < text.size()) {
    const char c = text[end];
    if (is_alnum(c) || c == '_' || c == ':') return;
    if (c == '.' && end + 1 < text.size() && is_digit(text[end + 1])) return;
  }
  std::size_t hex_digits = 0;
  std::size_t groups = 0;
  if (!validate::ipv6_valid(text.substr(start, end - start), &hex_digits, &groups)) return;
  // "a::b", "::1" and C++'s "std::" are syntactically addresses but carry no
  // information about anyone; real addresses have several non-trivial groups.
  if (hex_digits < 5 || groups < 2) return;
  emit(PiiType::ip_address, 0.9f);
}

}  // namespace

int type_priority(PiiType type) {
  switch (type) {
    case PiiType::kr_rrn: return 0;
    case PiiType::kr_frn: return 1;
    case PiiType::kr_crn: return 2;
    case PiiType::kr_brn: return 3;
    case PiiType::kr_driver_license: return 4;
    case PiiType::kr_passport: return 5;
    case PiiType::credit_card: return 6;
    case PiiType::kr_phone: return 7;
    case PiiType::email: return 8;
    case PiiType::ip_address: return 9;
    case PiiType::kr_bank_account: return 10;
  }
  return 11;
}

void classify(const RawMatch& match, const ClassifyEnv& env, std::vector<Finding>& out) {
  const std::string_view text = env.text;
  const std::size_t start = match.from;
  const std::size_t end = match.to;
  if (start >= end || end > text.size()) return;
  const std::string_view span = text.substr(start, end - start);
  const Emitter emit(out, start, end);

  switch (match.kind) {
    case PatternKind::email:
      classify_email(text, start, end, out);
      return;
    case PatternKind::ipv4:
      classify_ipv4(text, start, end, emit);
      return;
    case PatternKind::ipv6:
    case PatternKind::ipv6_mapped_v4:
      classify_ipv6(text, start, end, emit);
      return;
    case PatternKind::passport_legacy:
    case PatternKind::passport_2021: {
      if ((start > 0 && is_alnum(text[start - 1])) || (end < text.size() && is_alnum(text[end]))) return;
      const bool context = has_context(text, start, end, ContextKind::passport);
      if (match.kind == PatternKind::passport_legacy) {
        if (context) emit(PiiType::kr_passport, 0.9f);
      } else {
        // The 2021 letter-in-the-middle format is distinctive enough to report
        // on its own, at a confidence that still clears the threshold.
        emit(PiiType::kr_passport, context ? 0.95f : 0.6f);
      }
      return;
    }
    default:
      break;
  }

  // Everything below is numeric and shares the digit-run boundary rule.
  if (match.kind == PatternKind::phone_international) {
    if (!numeric_right_ok(text, end) || (start > 0 && is_alnum(text[start - 1]))) return;
    classify_international_phone(span, emit);
    return;
  }
  if (match.kind == PatternKind::phone_parenthesised) {
    if (!numeric_right_ok(text, end) || (start > 0 && is_alnum(text[start - 1]))) return;
    classify_parenthesised_phone(span, emit);
    return;
  }
  if (!numeric_bounds_ok(text, start, end) || is_money(text, start, end)) return;
  const DigitGroups groups = split_digits(span);
  if (groups.overflow) return;
  Context context(text, start, end);

  switch (match.kind) {
    case PatternKind::resident_separated:
      classify_thirteen(groups.view(), true, context, env, emit);
      return;
    case PatternKind::bare_digits:
      classify_bare(groups, context, env, emit);
      return;
    case PatternKind::business_separated:
      if (validate::brn_checksum(groups.view())) {
        emit(PiiType::kr_brn, context.has(ContextKind::business) ? 0.99f : (groups.has_space ? 0.85f : 0.95f));
      }
      return;
    case PatternKind::license_separated: {
      const std::string_view d = groups.view();
      if (validate::driver_region_valid((d[0] - '0') * 10 + (d[1] - '0'))) {
        emit(PiiType::kr_driver_license, context.has(ContextKind::driver) ? 0.95f : 0.9f);
      }
      return;
    }
    case PatternKind::license_legacy:
      if (has_license_area_prefix(text, start)) {
        emit(PiiType::kr_driver_license, 0.9f);
      } else if (context.has(ContextKind::driver)) {
        emit(PiiType::kr_driver_license, 0.75f);
      }
      return;
    case PatternKind::phone_domestic:
      classify_domestic_phone(span, context, emit);
      return;
    case PatternKind::bank_grouped:
      classify_bank(groups, context, env, emit);
      return;
    case PatternKind::card_grouped:
    case PatternKind::card_grouped_long:
    case PatternKind::card_amex:
      classify_card(groups.view(), true, context, emit);
      return;
    default:
      return;
  }
}

}  // namespace baton::guard::detail
