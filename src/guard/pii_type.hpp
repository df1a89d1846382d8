// PII categories and the Finding record shared by every part of the guard.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace baton::guard {

// The order is part of the ABI of this header only; the string names returned by
// to_string() are the external contract (config files, JSON output, placeholders).
enum class PiiType : uint8_t {
  kr_rrn,             // 주민등록번호
  kr_frn,             // 외국인등록번호
  kr_passport,        // 여권번호
  kr_driver_license,  // 운전면허번호
  kr_brn,             // 사업자등록번호
  kr_crn,             // 법인등록번호
  kr_phone,           // 전화번호
  kr_bank_account,    // 계좌번호
  credit_card,
  email,
  ip_address,
};

inline constexpr std::size_t kPiiTypeCount = 11;

inline constexpr std::array<PiiType, kPiiTypeCount> kAllPiiTypes = {
    PiiType::kr_rrn,    PiiType::kr_frn,          PiiType::kr_passport, PiiType::kr_driver_license,
    PiiType::kr_brn,    PiiType::kr_crn,          PiiType::kr_phone,    PiiType::kr_bank_account,
    PiiType::credit_card, PiiType::email,         PiiType::ip_address,
};

// "KR_RRN", "KR_FRN", ... ; "UNKNOWN" for a value outside the enum.
std::string_view to_string(PiiType type);

// Exact, case-sensitive inverse of to_string().
std::optional<PiiType> pii_type_from_string(std::string_view name);

// One detected entity. Offsets are UTF-8 byte offsets into the text that was
// scanned (the original text, never a normalised copy); end is exclusive.
struct Finding {
  PiiType type;
  std::size_t start;
  std::size_t end;
  float confidence;  // 0..1; the scanner only reports findings above its threshold
};

}  // namespace baton::guard
