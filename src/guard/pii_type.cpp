#include "guard/pii_type.hpp"

namespace baton::guard {

namespace {

constexpr std::array<std::string_view, kPiiTypeCount> kNames = {
    "KR_RRN",   "KR_FRN",   "KR_PASSPORT",     "KR_DRIVER_LICENSE", "KR_BRN",     "KR_CRN",
    "KR_PHONE", "KR_BANK_ACCOUNT", "CREDIT_CARD", "EMAIL",           "IP_ADDRESS",
};

}  // namespace

std::string_view to_string(PiiType type) {
  const auto index = static_cast<std::size_t>(type);
  return index < kNames.size() ? kNames[index] : std::string_view{"UNKNOWN"};
}

std::optional<PiiType> pii_type_from_string(std::string_view name) {
  for (std::size_t i = 0; i < kNames.size(); ++i) {
    if (kNames[i] == name) return static_cast<PiiType>(i);
  }
  return std::nullopt;
}

}  // namespace baton::guard
