// Context words around a candidate. Some identifiers (bank accounts, old-style
// passports, bare 10/12-digit numbers) have no structure strong enough to stand
// alone; a nearby keyword is what tells them apart from any other number. Other
// words (주문번호, tracking, version) mark a number as *not* personal data.
#pragma once

#include <cstddef>
#include <string_view>

namespace baton::guard {

enum class ContextKind : unsigned char {
  bank,        // 계좌/은행/입금/account/bank or a bank name
  passport,    // 여권/passport
  resident,    // 주민(등록)번호/resident registration
  foreigner,   // 외국인(등록)번호/alien registration
  corporate,   // 법인(등록)번호/corporate registration
  business,    // 사업자(등록)번호/business registration
  driver,      // 운전면허/driver's licence
  phone,       // 전화/연락처/phone — only used to keep bank words off phone-like numbers
  card,        // 카드/card/결제/Visa...
  serial,      // 주문번호/송장/order/tracking/invoice... — the number identifies a thing
};

inline constexpr std::size_t kContextKindCount = static_cast<std::size_t>(ContextKind::serial) + 1;

// Byte distance between [start, end) and the nearest keyword of `kind` in the
// window around it, or kNoContext. The window is roughly 20 characters before
// (64 bytes, Hangul being 3 bytes each) and 10 after (32 bytes), never across
// a newline and never past another number (a run of 5+ digits): a keyword
// belongs to the number it is nearest to. The serial kind looks only ~10
// characters *before* the number.
// ASCII keywords match case-insensitively and must not be glued to a
// preceding letter ("bank" matches "Bank:" but not "riverbank").
inline constexpr std::size_t kNoContext = static_cast<std::size_t>(-1);
std::size_t context_distance(std::string_view text, std::size_t start, std::size_t end, ContextKind kind);

inline bool has_context(std::string_view text, std::size_t start, std::size_t end, ContextKind kind) {
  return context_distance(text, start, end, kind) != kNoContext;
}

// True when a version word ("version", "ver.", "버전", "build") directly
// precedes `start`, separated by at most a few spaces or ':' / '='. Looser
// windows turned "…released. Hi, 172.253.246.227" into a version string.
bool preceded_by_version_word(std::string_view text, std::size_t start);

// True when a legacy driver's-licence area name (서울, 부산, ...) directly
// precedes `start` (optionally separated by spaces).
bool has_license_area_prefix(std::string_view text, std::size_t start);

}  // namespace baton::guard
