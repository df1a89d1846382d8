#include "guard/redaction.hpp"

#include "core/json_text.hpp"

#include <algorithm>

#include "guard/placeholder.hpp"

namespace baton::guard {

namespace {

// Overwrites secret bytes in a way the optimiser may not elide.
void wipe(std::string& secret) {
  volatile char* bytes = secret.data();
  for (std::size_t i = 0; i < secret.size(); ++i) bytes[i] = 0;
}

// Shared by Redaction::restore and StreamRestorer: copies text[from, to) to
// `out`, replacing complete known placeholders. Returns the offset of a partial
// placeholder that reaches the end of `text` (only looked for when
// `stop_at_partial`), or `to` when none.
std::size_t restore_into(const Redaction& redaction, std::string_view text, std::string& out,
                         bool stop_at_partial) {
  std::size_t copied = 0;
  std::size_t pos = 0;
  while ((pos = text.find('[', pos)) != std::string_view::npos) {
    const PlaceholderMatch match = match_placeholder(text.substr(pos));
    if (match.state == PlaceholderState::complete) {
      if (const auto value = redaction.value_of(text.substr(pos, match.length))) {
        out.append(text, copied, pos - copied);
        out.append(*value);
        pos += match.length;
        copied = pos;
        continue;
      }
    } else if (match.state == PlaceholderState::partial && stop_at_partial) {
      out.append(text, copied, pos - copied);
      return pos;
    }
    ++pos;
  }
  out.append(text, copied, text.size() - copied);
  return text.size();
}

// Length of an incomplete UTF-8 sequence at the end of `text` (0 if none).
std::size_t incomplete_utf8_tail(std::string_view text) {
  const std::size_t limit = std::min<std::size_t>(3, text.size());
  for (std::size_t back = 1; back <= limit; ++back) {
    const auto byte = static_cast<unsigned char>(text[text.size() - back]);
    if ((byte & 0xC0) == 0x80) continue;  // continuation byte, keep looking for the lead
    std::size_t expected = 1;
    if ((byte & 0xE0) == 0xC0) expected = 2;
    else if ((byte & 0xF0) == 0xE0) expected = 3;
    else if ((byte & 0xF8) == 0xF0) expected = 4;
    return expected > back ? back : 0;
  }
  return 0;
}

}  // namespace

Redaction::~Redaction() {
  for (Entry& entry : entries_) wipe(entry.value);
}

Redaction& Redaction::operator=(Redaction&& other) noexcept {
  if (this != &other) {
    for (Entry& entry : entries_) wipe(entry.value);
    // Moving a deque hands over its blocks, so the views in the maps stay valid.
    entries_ = std::move(other.entries_);
    by_placeholder_ = std::move(other.by_placeholder_);
    by_value_ = std::move(other.by_value_);
    last_number_ = other.last_number_;
    reserved_ = std::move(other.reserved_);
  }
  return *this;
}

const Redaction::Entry& Redaction::intern(PiiType type, std::string_view value) {
  const auto type_index = static_cast<std::size_t>(type);
  auto& values = by_value_[type_index];
  if (const auto found = values.find(value); found != values.end()) return entries_[found->second];

  std::string placeholder;
  do {
    placeholder = make_placeholder(type, ++last_number_[type_index]);
  } while (reserved_.contains(placeholder));

  entries_.push_back(Entry{type, std::move(placeholder), std::string(value)});
  const Entry& entry = entries_.back();
  by_placeholder_.emplace(entry.placeholder, entries_.size() - 1);
  values.emplace(entry.value, entries_.size() - 1);
  return entry;
}

void Redaction::reserve_existing_placeholders(std::string_view text) {
  std::size_t pos = 0;
  while ((pos = text.find('[', pos)) != std::string_view::npos) {
    const PlaceholderMatch match = match_placeholder(text.substr(pos));
    if (match.state == PlaceholderState::complete) {
      const std::string_view token = text.substr(pos, match.length);
      if (!by_placeholder_.contains(token)) reserved_.emplace(token);
      pos += match.length;
    } else {
      ++pos;
    }
  }
}

std::string Redaction::redact(std::string_view text, const std::vector<Finding>& findings) {
  reserve_existing_placeholders(text);

  // The scanner already returns sorted findings; other producers might not.
  std::vector<Finding> ordered(findings);
  std::stable_sort(ordered.begin(), ordered.end(),
                   [](const Finding& a, const Finding& b) { return a.start < b.start; });

  std::string result;
  result.reserve(text.size());
  std::size_t copied = 0;
  for (const Finding& finding : ordered) {
    if (finding.start < copied || finding.end > text.size() || finding.start >= finding.end) continue;
    if (static_cast<std::size_t>(finding.type) >= kPiiTypeCount) continue;
    result.append(text, copied, finding.start - copied);
    result.append(intern(finding.type, text.substr(finding.start, finding.end - finding.start)).placeholder);
    copied = finding.end;
  }
  result.append(text, copied, text.size() - copied);
  return result;
}

std::string Redaction::restore(std::string_view text) const {
  std::string result;
  result.reserve(text.size());
  restore_into(*this, text, result, false);
  return result;
}

std::optional<std::string_view> Redaction::value_of(std::string_view placeholder) const {
  const auto found = by_placeholder_.find(placeholder);
  if (found == by_placeholder_.end()) return std::nullopt;
  return std::string_view(entries_[found->second].value);
}

std::optional<std::string_view> Redaction::placeholder_of(PiiType type, std::string_view value) const {
  const auto type_index = static_cast<std::size_t>(type);
  if (type_index >= kPiiTypeCount) return std::nullopt;
  const auto found = by_value_[type_index].find(value);
  if (found == by_value_[type_index].end()) return std::nullopt;
  return std::string_view(entries_[found->second].placeholder);
}

std::string StreamRestorer::feed(std::string_view chunk) {
  pending_.append(chunk);
  std::string out;
  out.reserve(pending_.size());
  const std::size_t held = restore_into(*redaction_, pending_, out, true);
  if (held < pending_.size()) {
    pending_.erase(0, held);
    return out;
  }
  // Nothing placeholder-like is pending; hold back only a split UTF-8 character.
  const std::size_t tail = incomplete_utf8_tail(pending_);
  out.resize(out.size() - tail);
  pending_.erase(0, pending_.size() - tail);
  return out;
}

std::string StreamRestorer::finish() {
  std::string rest = redaction_->restore(pending_);
  pending_.clear();
  return rest;
}

std::string restore_in_json(std::string_view json, const Redaction& redaction) {
  std::string out;
  out.reserve(json.size());
  std::size_t cursor = 0;
  while (cursor < json.size()) {
    const std::size_t open = json.find('[', cursor);
    if (open == std::string_view::npos) break;
    const std::size_t close = json.find(']', open);
    if (close == std::string_view::npos) break;
    const std::optional<std::string_view> value = redaction.value_of(json.substr(open, close - open + 1));
    if (!value) {
      out.append(json.substr(cursor, open + 1 - cursor));
      cursor = open + 1;
      continue;
    }
    out.append(json.substr(cursor, open - cursor));
    std::string escaped;
    append_json_string(escaped, *value);
    out.append(escaped, 1, escaped.size() - 2);  // inside an existing JSON string: no quotes
    cursor = close + 1;
  }
  out.append(json.substr(cursor));
  return out;
}

}  // namespace baton::guard
