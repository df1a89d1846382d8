#include "guard/context.hpp"

#include <algorithm>
#include <array>
#include <span>

namespace baton::guard {

namespace {

constexpr std::size_t kBefore = 64;
constexpr std::size_t kAfter = 32;
constexpr std::size_t kSerialBefore = 30;
// Extra bytes read after the window only to see whether another number follows.
constexpr std::size_t kLookahead = 24;

struct Keyword {
  std::string_view text;     // lower-case ASCII or UTF-8 Hangul
  bool whole_word;           // short ASCII acronyms ("kb", "nh") must stand alone
  bool before_only = false;  // only counts in front of the number
};

// Lists are kept short on purpose: every entry is searched for every candidate
// of that kind, and generic words ("기업", "company") caused false positives.
constexpr Keyword kBank[] = {
    {"계좌", false}, {"은행", false}, {"입금", false}, {"송금", false}, {"이체", false},
    {"예금주", false}, {"뱅크", false}, {"국민", false}, {"신한", false}, {"우리", false},
    {"하나", false}, {"농협", false}, {"토스", false}, {"새마을", false}, {"우체국", false},
    {"수협", false}, {"신협", false}, {"씨티", false}, {"account", false}, {"acct", false},
    {"bank", false}, {"deposit", false}, {"wire", false}, {"kb", true}, {"nh", true},
    {"ibk", true}, {"sc", true},
};
// A bare "여권" after a product code ("제품코드 D91426487 / 여권 사진 규격은 …")
// says nothing about it; after the number only the full phrase counts.
constexpr Keyword kPassport[] = {
    {"여권", false, true}, {"passport", false, true}, {"패스포트", false, true}, {"여권번호", false},
    {"여권 번호", false}, {"passport no", false}, {"passport number", false},
};
constexpr Keyword kResident[] = {
    {"주민", false}, {"resident registration", false}, {"rrn", true}, {"ssn", true}};
constexpr Keyword kForeigner[] = {
    {"외국인", false}, {"alien registration", false}, {"residence card", false}, {"frn", true}, {"arc", true}};
constexpr Keyword kCorporate[] = {
    {"법인", false}, {"corporate registration", false}, {"corporation registration", false},
    {"crn", true}};
constexpr Keyword kBusiness[] = {
    {"사업자", false}, {"business registration", false}, {"brn", true}, {"tax id", false}};
constexpr Keyword kDriver[] = {
    {"면허", false}, {"driver", false}, {"licence", false}, {"license", false}};
constexpr Keyword kPhone[] = {
    {"전화", false}, {"연락처", false}, {"휴대폰", false}, {"핸드폰", false}, {"문자", false},
    {"phone", false}, {"tel", true}, {"mobile", false}, {"call", true},
};
constexpr Keyword kCard[] = {
    {"카드", false}, {"card", false}, {"결제", false}, {"visa", false}, {"master", false},
    {"amex", true}, {"jcb", true}, {"신용", false}, {"체크", false},
};
constexpr Keyword kSerial[] = {
    {"주문번호", false}, {"주문 번호", false}, {"송장", false}, {"일련번호", false}, {"상품번호", false},
    {"모델번호", false}, {"모델명", false}, {"품번", false}, {"접수번호", false}, {"예약번호", false},
    {"승인번호", false}, {"거래번호", false}, {"관리번호", false}, {"바코드", false}, {"order", false},
    {"tracking", false}, {"invoice", false}, {"serial", false}, {"sku", true}, {"booking", false},
    {"isbn", true}, {"barcode", false}, {"타임스탬프", false}, {"timestamp", false}, {"epoch", false},
    {"unix", true}, {"참조번호", false}, {"문의번호", false}, {"reference", false}, {"ref", true},
};
constexpr Keyword kVersion[] = {
    {"version", false}, {"ver", true}, {"버전", false}, {"release", true}, {"build", true}, {"빌드", false},
};

std::span<const Keyword> keywords_for(ContextKind kind) {
  switch (kind) {
    case ContextKind::bank: return kBank;
    case ContextKind::passport: return kPassport;
    case ContextKind::resident: return kResident;
    case ContextKind::foreigner: return kForeigner;
    case ContextKind::corporate: return kCorporate;
    case ContextKind::business: return kBusiness;
    case ContextKind::driver: return kDriver;
    case ContextKind::phone: return kPhone;
    case ContextKind::card: return kCard;
    case ContextKind::serial: return kSerial;
  }
  return {};
}

bool is_ascii_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool is_ascii_digit(char c) { return c >= '0' && c <= '9'; }

// Another number in the window: a run of this many digits (separators allowed
// between them) is an identifier of its own that nearby words may belong to.
constexpr std::size_t kCompetingDigits = 5;

// Whether window[i] can be part of a number: digits, the separators numbers
// are written with, and letters glued to a digit ("M568E1461", "A1-2345").
bool in_number(std::string_view window, std::size_t i) {
  const char c = window[i];
  if (is_ascii_digit(c) || c == '-' || c == '.' || c == ' ') return true;
  if (!is_ascii_letter(c)) return false;
  return (i > 0 && is_ascii_digit(window[i - 1])) || (i + 1 < window.size() && is_ascii_digit(window[i + 1]));
}

// Window offset just past the last competing number in window[0, gap), or 0.
std::size_t after_last_number(std::string_view window, std::size_t gap) {
  std::size_t run = 0;
  for (std::size_t i = gap; i-- > 0;) {
    if (is_ascii_digit(window[i])) {
      if (++run >= kCompetingDigits) {
        // Walk to the end of this number and cut the window there.
        std::size_t end = i;
        while (end < gap && in_number(window, end)) ++end;
        return end;
      }
    } else if (!in_number(window, i)) {
      run = 0;
    }
  }
  return 0;
}

// Window offset of the first competing number in window[from, size), or size.
std::size_t first_number(std::string_view window, std::size_t from) {
  std::size_t run = 0;
  std::size_t run_start = from;
  for (std::size_t i = from; i < window.size(); ++i) {
    if (is_ascii_digit(window[i])) {
      if (run == 0) run_start = i;
      if (++run >= kCompetingDigits) return run_start;
    } else if (!in_number(window, i)) {
      run = 0;
    }
  }
  return window.size();
}

// A word followed this closely by another number introduces that number
// ("… / 입금 계좌: 4239…"), whatever precedes it.
constexpr std::size_t kIntroducesNext = 12;

// Distance from the candidate (the gap at window offset `gap`) to the nearest
// match. Words after the candidate count double plus a penalty: identifiers
// are introduced by the word before them far more often than followed by it,
// and a trailing word is often the start of the next sentence. Words that
// introduce the next number (`next_number`) do not count at all.
std::size_t nearest_keyword(std::string_view window, std::size_t gap, std::size_t next_number,
                            std::size_t after_limit, const Keyword& keyword) {
  std::size_t best = kNoContext;
  std::size_t pos = 0;
  while ((pos = window.find(keyword.text, pos)) != std::string_view::npos) {
    const bool ascii = static_cast<unsigned char>(keyword.text.front()) < 0x80;
    const bool left_ok = !ascii || pos == 0 || !is_ascii_letter(window[pos - 1]);
    const std::size_t after = pos + keyword.text.size();
    const bool right_ok = !keyword.whole_word || after >= window.size() || !is_ascii_letter(window[after]);
    if (left_ok && right_ok) {
      if (after <= gap) {
        best = std::min(best, gap - after);
      } else if (!keyword.before_only && after - gap <= after_limit &&
                 (next_number == window.size() ||
                  (after <= next_number && next_number - after > kIntroducesNext &&
                   pos - gap <= next_number - after))) {
        best = std::min(best, 2 * (pos - gap) + 8);
      }
    }
    ++pos;
  }
  return best;
}

}  // namespace

std::size_t context_distance(std::string_view text, std::size_t start, std::size_t end, ContextKind kind) {
  start = std::min(start, text.size());
  end = std::clamp(end, start, text.size());
  // Negative words must sit right before the number ("주문번호: 2024…", "Order
  // #…"); a window as wide as the positive one let a 송장번호 in one sentence
  // hide the account number in the next.
  const bool serial = kind == ContextKind::serial;
  const std::size_t before = serial ? kSerialBefore : kBefore;
  const std::size_t after = serial ? 0 : kAfter;
  std::size_t from = start > before ? start - before : 0;
  std::size_t to = std::min(text.size(), end + after + (after > 0 ? kLookahead : 0));
  // Chat messages put one thought per line: context never crosses a newline.
  if (const std::size_t newline = text.substr(from, start - from).rfind('\n'); newline != std::string_view::npos) {
    from += newline + 1;
  }
  if (const std::size_t newline = text.substr(end, to - end).find('\n'); newline != std::string_view::npos) {
    to = end + newline;
  }

  // Lower-cased copy of the two halves; UTF-8 multi-byte sequences are >= 0x80
  // and pass through unchanged. A NUL byte in the gap keeps a keyword from
  // being assembled across the candidate.
  std::array<char, kBefore + kAfter + kLookahead + 1> buffer{};
  std::size_t length = 0;
  for (std::size_t i = from; i < start; ++i) buffer[length++] = lower(text[i]);
  const std::size_t gap = length;
  buffer[length++] = '\0';
  for (std::size_t i = end; i < to; ++i) buffer[length++] = lower(text[i]);
  std::string_view window(buffer.data(), length);

  // A word after the candidate that is nearer to the next number belongs to
  // that number ("제품코드 O44552334, 여권 D02181258"). Before the candidate,
  // lists are common ("계좌 110-…, 110-…": the word serves both), so only
  // words that turn a shape into an identifier on their own — 법인 (RRN-shaped
  // number to CRN) and 여권 (letter + 8 digits) — and the negative words
  // (주문번호 names the number right after it) stop at another number.
  const bool stops_at_number =
      kind == ContextKind::corporate || kind == ContextKind::passport || kind == ContextKind::serial;
  const std::size_t cut = stops_at_number ? after_last_number(window, gap) : 0;
  window.remove_prefix(cut);
  const std::size_t local_gap = gap - cut;
  const std::size_t next_number = first_number(window, local_gap + 1);

  std::size_t best = kNoContext;
  for (const Keyword& keyword : keywords_for(kind)) {
    best = std::min(best, nearest_keyword(window, local_gap, next_number, after + 1, keyword));
  }
  return best;
}

bool preceded_by_version_word(std::string_view text, std::size_t start) {
  std::size_t end = std::min(start, text.size());
  for (int skipped = 0; skipped < 4 && end > 0; ++skipped) {
    const char c = text[end - 1];
    if (c != ' ' && c != ':' && c != '=' && c != '.') break;
    --end;
  }
  std::array<char, 16> tail{};
  const std::size_t length = std::min(tail.size(), end);
  for (std::size_t i = 0; i < length; ++i) tail[i] = lower(text[end - length + i]);
  const std::string_view head(tail.data(), length);
  for (const Keyword& keyword : kVersion) {
    if (!head.ends_with(keyword.text)) continue;
    const std::size_t before = length - keyword.text.size();
    const bool ascii = static_cast<unsigned char>(keyword.text.front()) < 0x80;
    if (!ascii || before == 0 || !is_ascii_letter(head[before - 1])) return true;
  }
  return false;
}

bool has_license_area_prefix(std::string_view text, std::size_t start) {
  static constexpr std::array<std::string_view, 16> kAreas = {
      "서울", "부산", "경기", "강원", "충북", "충남", "전북", "전남",
      "경북", "경남", "제주", "대구", "인천", "광주", "대전", "울산",
  };
  std::size_t end = std::min(start, text.size());
  while (end > 0 && text[end - 1] == ' ') --end;
  const std::string_view head = text.substr(0, end);
  return std::any_of(kAreas.begin(), kAreas.end(), [&](std::string_view area) { return head.ends_with(area); });
}

}  // namespace baton::guard
