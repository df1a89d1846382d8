// The guard's policy: what a request with personal data may do (allow | block | redact | pin), and
// the decision for one request body. Pure: no I/O, no clock, no globals except the shared scanner.
//
//   static const Scanner* scanner = shared_scanner();          // once; nullptr = cannot run here
//   Policy policy = Policy::from_config(cfg.guard.pii, model.guard ? &model.guard->pii : nullptr);
//   Decision d;
//   if (!decide(*scanner, policy, body, d)) -> refuse (fail closed)
//   d.action == block  -> 400 pii_blocked, message d.block_message()
//   d.redact           -> forward apply_splices(body, d.splices); restore answers with *d.redaction
//   d.pin              -> only deployments whose provider residency policy.residency_allowed()
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "guard/pii_type.hpp"
#include "guard/redaction.hpp"
#include "guard/request_texts.hpp"
#include "guard/scanner.hpp"

namespace baton::guard {

enum class Action : std::uint8_t { allow, block, redact, pin };
inline constexpr std::size_t kActionCount = 4;
inline constexpr std::array<Action, kActionCount> kAllActions = {Action::allow, Action::block, Action::redact,
                                                                 Action::pin};

// "allow", "block", "redact", "pin" (the config and log spelling).
std::string_view to_string(Action action);
std::optional<Action> action_from_string(std::string_view name);

// block > pin > redact > allow.
inline int strictness(Action action) {
  switch (action) {
    case Action::block: return 3;
    case Action::pin: return 2;
    case Action::redact: return 1;
    case Action::allow: break;
  }
  return 0;
}
inline Action strictest(Action a, Action b) { return strictness(b) > strictness(a) ? b : a; }

// The enforced form of a `guard.pii` block. Built once per config snapshot and model, then only read.
struct Policy {
  Action default_action = Action::allow;
  std::array<std::optional<Action>, kPiiTypeCount> per_type{};  // overrides default_action
  std::vector<std::string> allowed_residency;                    // for pin

  // `global` with `model_override`'s fields laid over it (config::merge_pii_policy). The loader has
  // validated the names; an unknown action here (a config built by hand) is treated as block.
  static Policy from_config(const config::PiiPolicyConfig& global, const config::PiiPolicyConfig* model_override);

  Action action_for(PiiType type) const;

  // False when every type is allowed: nothing to enforce, a caller may skip the scan.
  bool enforces_anything() const;

  bool residency_allowed(std::string_view residency) const;
};

// One replacement in the request body: bytes [offset, offset + length) become `text`.
struct BodySplice {
  std::size_t offset = 0;
  std::size_t length = 0;
  std::string text;
};

// What the guard decided for one request.
struct Decision {
  // The strictest action any finding asked for (block > pin > redact > allow); allow when clean.
  Action action = Action::allow;
  // What to enforce unless blocked. Both may hold: findings whose type says redact are replaced
  // by placeholders AND the request is pinned because of findings whose type says pin (those stay
  // in the text: pinning is what makes sending them acceptable). When blocked, both are false and
  // no redaction is prepared.
  bool redact = false;
  bool pin = false;

  std::array<std::uint32_t, kPiiTypeCount> counts{};        // findings per type
  std::array<Action, kPiiTypeCount> type_actions{};          // the policy's action per type
  std::vector<std::uint32_t> message_indexes;                // messages with findings (sorted, unique)
  std::vector<std::uint32_t> blocked_message_indexes;        // messages with findings whose type blocks

  std::unique_ptr<Redaction> redaction;  // when redact: placeholders <-> values, to restore answers
  std::vector<BodySplice> splices;       // when redact: sorted by offset, non-overlapping

  std::uint32_t total_findings() const;

  // "request contains personal data (KR_RRN in messages 0, 2); blocked by policy": the blocking
  // types and where they are, never the values.
  std::string block_message() const;

  // "KR_RRN:2,KR_PHONE:1" (types with findings, in type order) for the audit log; empty when clean.
  std::string types_summary() const;
};

// Scans every text the upstream would see (extract_request_texts) with one multi-pattern pass
// each, applies `policy`, and for redact builds one Redaction for the whole request: placeholders
// are unique within the request and equal values share one. Returns false, leaving `out` cleared
// or partly filled, when the texts cannot be extracted or a scan fails: the caller must refuse
// the request (fail closed), never forward it unscanned.
bool decide(const Scanner& scanner, const Policy& policy, std::string_view body, Decision& out,
            RequestFormat format = RequestFormat::openai_chat);

// `body` with `splices` (sorted by offset, non-overlapping) applied.
std::string apply_splices(std::string_view body, const std::vector<BodySplice>& splices);

// The process-wide scanner, compiled on first use (thread-safe). nullptr when Vectorscan cannot
// run on this CPU: call it at start-up to find out. Scanner::scan is thread-safe.
const Scanner* shared_scanner();

}  // namespace baton::guard
