#include "guard/policy.hpp"

#include <algorithm>

#include "core/json_text.hpp"

namespace baton::guard {

namespace {

constexpr std::array<std::string_view, kActionCount> kActionNames = {"allow", "block", "redact", "pin"};

void sort_unique(std::vector<std::uint32_t>& values) {
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
}

// "message 0", "messages 0, 2", "the system prompt", "messages 1, 3 and the system prompt".
std::string describe_places(const std::vector<std::uint32_t>& indexes) {
  std::string out;
  std::size_t messages = 0;
  bool system = false;
  for (std::uint32_t index : indexes) {
    if (index == kSystemText) {
      system = true;
      continue;
    }
    out += messages++ == 0 ? "" : ", ";
    out += std::to_string(index);
  }
  if (messages > 0) out.insert(0, messages == 1 ? "message " : "messages ");
  if (system) out += messages > 0 ? " and the system prompt" : "the system prompt";
  return out;
}

}  // namespace

std::string_view to_string(Action action) {
  const auto index = static_cast<std::size_t>(action);
  return index < kActionNames.size() ? kActionNames[index] : std::string_view{"unknown"};
}

std::optional<Action> action_from_string(std::string_view name) {
  for (Action action : kAllActions) {
    if (to_string(action) == name) return action;
  }
  return std::nullopt;
}

Policy Policy::from_config(const config::PiiPolicyConfig& global, const config::PiiPolicyConfig* model_override) {
  const config::PiiPolicyConfig merged = config::merge_pii_policy(global, model_override);
  Policy policy;
  policy.default_action = action_from_string(merged.action).value_or(Action::block);
  for (const auto& [name, action] : merged.types) {
    if (const std::optional<PiiType> type = pii_type_from_string(name)) {
      policy.per_type[static_cast<std::size_t>(*type)] = action_from_string(action).value_or(Action::block);
    }
  }
  policy.allowed_residency = merged.allowed_residency;
  return policy;
}

Action Policy::action_for(PiiType type) const {
  const auto index = static_cast<std::size_t>(type);
  if (index >= per_type.size()) return default_action;
  return per_type[index].value_or(default_action);
}

bool Policy::enforces_anything() const {
  for (PiiType type : kAllPiiTypes) {
    if (action_for(type) != Action::allow) return true;
  }
  return false;
}

bool Policy::residency_allowed(std::string_view residency) const {
  return std::find(allowed_residency.begin(), allowed_residency.end(), residency) != allowed_residency.end();
}

std::uint32_t Decision::total_findings() const {
  std::uint32_t total = 0;
  for (std::uint32_t n : counts) total += n;
  return total;
}

std::string Decision::block_message() const {
  std::string types;
  for (PiiType type : kAllPiiTypes) {
    const auto i = static_cast<std::size_t>(type);
    if (counts[i] == 0 || type_actions[i] != Action::block) continue;
    if (!types.empty()) types += ", ";
    types += to_string(type);
  }
  const std::vector<std::uint32_t>& places = blocked_message_indexes.empty() ? message_indexes : blocked_message_indexes;
  std::string out = "request contains personal data (";
  out += types.empty() ? types_summary() : types;
  if (!places.empty()) out += " in " + describe_places(places);
  out += "); blocked by policy";
  return out;
}

std::string Decision::types_summary() const {
  std::string out;
  for (PiiType type : kAllPiiTypes) {
    const std::uint32_t n = counts[static_cast<std::size_t>(type)];
    if (n == 0) continue;
    if (!out.empty()) out += ',';
    out += to_string(type);
    out += ':';
    out += std::to_string(n);
  }
  return out;
}

bool decide(const Scanner& scanner, const Policy& policy, std::string_view body, Decision& out,
            RequestFormat format) {
  out = Decision{};
  for (PiiType type : kAllPiiTypes) out.type_actions[static_cast<std::size_t>(type)] = policy.action_for(type);

  // Per-thread scratch: a request is decided on one thread, start to end, and nothing here yields.
  thread_local std::vector<RequestText> texts;
  thread_local std::vector<Finding> findings;    // of every text, text after text
  thread_local std::vector<std::size_t> first;   // first[i]: index of texts[i]'s first finding
  texts.clear();
  findings.clear();
  first.clear();
  if (!extract_request_texts(body, format, texts)) return false;
  for (const RequestText& text : texts) {
    first.push_back(findings.size());
    if (!scanner.try_scan(text.text, findings)) return false;
  }
  first.push_back(findings.size());

  bool redact = false;
  bool pin = false;
  for (std::size_t t = 0; t < texts.size(); ++t) {
    for (std::size_t f = first[t]; f < first[t + 1]; ++f) {
      const auto type = static_cast<std::size_t>(findings[f].type);
      const Action action = out.type_actions[type];
      ++out.counts[type];
      out.action = strictest(out.action, action);
      out.message_indexes.push_back(texts[t].message_index);
      if (action == Action::block) out.blocked_message_indexes.push_back(texts[t].message_index);
      redact = redact || action == Action::redact;
      pin = pin || action == Action::pin;
    }
  }
  sort_unique(out.message_indexes);
  sort_unique(out.blocked_message_indexes);
  if (out.action == Action::block) return true;  // nothing else matters: the request stops here
  out.pin = pin;
  out.redact = redact;
  if (!redact) return true;

  out.redaction = std::make_unique<Redaction>();
  Redaction& redaction = *out.redaction;
  // Placeholder-shaped text anywhere in the request is reserved first, so no text gets a
  // placeholder that a later text already spells literally (restore would turn that into a value).
  for (const RequestText& text : texts) {
    if (text.text.find('[') != std::string::npos) redaction.redact(text.text, {});
  }
  std::vector<Finding> selected;
  for (std::size_t t = 0; t < texts.size(); ++t) {
    selected.clear();
    for (std::size_t f = first[t]; f < first[t + 1]; ++f) {
      if (out.type_actions[static_cast<std::size_t>(findings[f].type)] == Action::redact) selected.push_back(findings[f]);
    }
    if (selected.empty()) continue;
    BodySplice splice{texts[t].offset, texts[t].length, {}};
    append_json_string(splice.text, redaction.redact(texts[t].text, selected));
    out.splices.push_back(std::move(splice));
  }
  return true;
}

std::string apply_splices(std::string_view body, const std::vector<BodySplice>& splices) {
  std::size_t size = body.size();
  for (const BodySplice& s : splices) size = size - s.length + s.text.size();
  std::string out;
  out.reserve(size);
  std::size_t copied = 0;
  for (const BodySplice& s : splices) {
    out.append(body.substr(copied, s.offset - copied));
    out += s.text;
    copied = s.offset + s.length;
  }
  out.append(body.substr(copied));
  return out;
}

const Scanner* shared_scanner() {
  static const std::unique_ptr<Scanner> scanner = Scanner::create();
  return scanner.get();
}

}  // namespace baton::guard
