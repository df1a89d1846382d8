// Per-request pseudonymisation: findings are replaced by placeholders such as
// "[KR_RRN_1]" before text leaves for a model, and restored in its answer.
#pragma once

#include <array>
#include <cstddef>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "guard/pii_type.hpp"

namespace baton::guard {

// One per request, shared by all message texts of that request so that the
// same value gets the same placeholder everywhere (the model can then still
// reason about "the same person"). Not thread-safe; a request is handled by
// one strand at a time.
class Redaction {
 public:
  struct Entry {
    PiiType type;
    std::string placeholder;  // "[KR_RRN_1]"
    std::string value;        // the original bytes
  };

  Redaction() = default;
  ~Redaction();  // overwrites the stored values before releasing them
  Redaction(const Redaction&) = delete;
  Redaction& operator=(const Redaction&) = delete;
  Redaction(Redaction&&) = default;
  Redaction& operator=(Redaction&& other) noexcept;  // wipes the values it replaces

  // Returns `text` with every finding replaced by its placeholder. Equal
  // (type, value) pairs share one placeholder; distinct values of one type get
  // distinct numbers. Findings out of range or overlapping an earlier one are
  // ignored rather than trusted. Placeholder-looking tokens already present in
  // the input are never handed out, so restore() cannot confuse them.
  std::string redact(std::string_view text, const std::vector<Finding>& findings);

  // Replaces every placeholder this redaction issued with its original value;
  // unknown placeholders and other bracketed text stay as they are.
  std::string restore(std::string_view text) const;

  bool empty() const { return entries_.empty(); }
  std::size_t size() const { return entries_.size(); }

  // In order of first appearance.
  const std::deque<Entry>& entries() const { return entries_; }

  std::optional<std::string_view> value_of(std::string_view placeholder) const;
  std::optional<std::string_view> placeholder_of(PiiType type, std::string_view value) const;

 private:
  const Entry& intern(PiiType type, std::string_view value);
  void reserve_existing_placeholders(std::string_view text);

  // A deque never moves its elements, so the maps can key on views into them.
  std::deque<Entry> entries_;
  std::unordered_map<std::string_view, std::size_t> by_placeholder_;
  std::array<std::unordered_map<std::string_view, std::size_t>, kPiiTypeCount> by_value_;
  std::array<std::size_t, kPiiTypeCount> last_number_{};
  std::unordered_set<std::string> reserved_;  // placeholder-shaped text seen in inputs
};

// Restores placeholders in a model's streamed output. A placeholder may be
// split across chunks ("[KR_R" + "RN_1]"), so a possible partial placeholder at
// the end of a chunk is held back until the next chunk decides it. The
// concatenated output always equals Redaction::restore() of the concatenated
// input. An incomplete UTF-8 sequence at a chunk end is held back as well, so
// every returned piece is valid UTF-8 when the input is.
// Restores placeholders inside JSON text (an upstream's answer): each value goes back JSON-escaped,
// so a value with a quote or backslash cannot break the document.
std::string restore_in_json(std::string_view json, const Redaction& redaction);

class StreamRestorer {
 public:
  explicit StreamRestorer(const Redaction& redaction) : redaction_(&redaction) {}

  // Text that can be emitted now.
  std::string feed(std::string_view chunk);

  // Everything still held back (the stream ended inside a would-be placeholder).
  std::string finish();

  // Bytes currently held back.
  std::size_t pending() const { return pending_.size(); }

 private:
  const Redaction* redaction_;
  std::string pending_;
};

}  // namespace baton::guard
