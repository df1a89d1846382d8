#include "guard/scanner.hpp"

#include <hs/hs.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <iterator>
#include <map>
#include <string>

#include "guard/classifier.hpp"
#include "guard/normalizer.hpp"
#include "guard/patterns.hpp"

namespace baton::guard {

namespace {

// Vectorscan takes a 32-bit length and the fold map stores 32-bit offsets, so
// very large inputs are scanned in overlapping windows. The overlap covers the
// longest pattern plus its context window.
constexpr std::size_t kWindow = std::size_t{1} << 30;
constexpr std::size_t kWindowOverlap = 4096;

// Buffers above this are released after a scan so one huge request does not
// pin memory in every worker thread forever.
constexpr std::size_t kRetainBytes = std::size_t{4} << 20;

std::atomic<std::uint64_t> next_scanner_id{1};

// Per-thread state. The scratch is sized for whichever database this thread
// last used; hs_alloc_scratch() only reallocates when a database needs more.
struct Workspace {
  hs_scratch_t* scratch = nullptr;
  std::uint64_t prepared_for = 0;
  FoldedText folded;
  std::vector<detail::RawMatch> raw;
  std::vector<Finding> candidates;
  std::vector<Finding> accepted;

  Workspace() = default;
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;
  ~Workspace() {
    if (scratch != nullptr) hs_free_scratch(scratch);
  }

  void trim() {
    folded.trim(kRetainBytes);
    if (raw.capacity() * sizeof(detail::RawMatch) > kRetainBytes) std::vector<detail::RawMatch>().swap(raw);
    if (candidates.capacity() * sizeof(Finding) > kRetainBytes) std::vector<Finding>().swap(candidates);
    if (accepted.capacity() * sizeof(Finding) > kRetainBytes) std::vector<Finding>().swap(accepted);
  }
};

Workspace& workspace() {
  thread_local Workspace instance;
  return instance;
}

struct MatchSink {
  const char* data;
  std::size_t size;
  std::vector<detail::RawMatch>* raw;
};

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool is_hex_or_colon(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':';
}

constexpr std::size_t kMaxBareDigits = 19;

int on_match(unsigned int id, unsigned long long from, unsigned long long to, unsigned int /*flags*/,
             void* context) {
  auto& sink = *static_cast<MatchSink*>(context);
  const auto kind = static_cast<PatternKind>(id);
  auto start = static_cast<std::size_t>(from);
  auto end = static_cast<std::size_t>(to);
  // Bounded patterns end with the byte after the number (or at the end of
  // the data); give that byte back.
  if (kind == PatternKind::ipv6) {
    if (end > 0 && !is_hex_or_colon(sink.data[end - 1])) --end;
  } else if (kind != PatternKind::email) {
    if (end > 0 && !is_digit(sink.data[end - 1])) --end;
  }
  if (kind == PatternKind::bare_digits) {
    // Compiled without SOM: the start is wherever the digit run starts.
    start = end;
    while (start > 0 && is_digit(sink.data[start - 1]) && end - start <= kMaxBareDigits) --start;
    if (end - start > kMaxBareDigits) return 0;
  }
  // A match glued to a digit on its left is part of a longer number; dropping
  // it here keeps digit floods from filling the match buffer.
  if (start > 0 && is_digit(sink.data[start - 1]) && is_digit(sink.data[start])) return 0;
  if (end < sink.size && is_digit(sink.data[end]) && end > start && is_digit(sink.data[end - 1])) return 0;
  sink.raw->push_back(detail::RawMatch{kind, start, end});
  return 0;
}

validate::CivilDate today_utc() {
  const auto now = std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now());
  const std::chrono::year_month_day date{now};
  return {static_cast<int>(date.year()), static_cast<int>(static_cast<unsigned>(date.month())),
          static_cast<int>(static_cast<unsigned>(date.day()))};
}

// Greedy overlap resolution: the most confident reading wins, then the longest
// (a 19-digit card over its 16-digit prefix, an IPv6 over its embedded IPv4),
// then the type priority. Survivors are returned sorted by start.
void resolve_overlaps(std::vector<Finding>& candidates, std::vector<Finding>& accepted) {
  std::sort(candidates.begin(), candidates.end(), [](const Finding& a, const Finding& b) {
    if (a.confidence != b.confidence) return a.confidence > b.confidence;
    const std::size_t length_a = a.end - a.start;
    const std::size_t length_b = b.end - b.start;
    if (length_a != length_b) return length_a > length_b;
    const int priority_a = detail::type_priority(a.type);
    const int priority_b = detail::type_priority(b.type);
    if (priority_a != priority_b) return priority_a < priority_b;
    return a.start < b.start;
  });
  std::map<std::size_t, std::size_t> taken;  // start -> end
  accepted.clear();
  for (const Finding& candidate : candidates) {
    const auto next = taken.lower_bound(candidate.start);
    if (next != taken.end() && next->first < candidate.end) continue;
    if (next != taken.begin() && std::prev(next)->second > candidate.start) continue;
    taken.emplace(candidate.start, candidate.end);
    accepted.push_back(candidate);
  }
  std::sort(accepted.begin(), accepted.end(),
            [](const Finding& a, const Finding& b) { return a.start < b.start; });
}

}  // namespace

void Scanner::DatabaseDeleter::operator()(hs_database* database) const { hs_free_database(database); }

Scanner::Scanner(std::unique_ptr<hs_database, DatabaseDeleter> database, validate::CivilDate today)
    : database_(std::move(database)), today_(today), id_(next_scanner_id.fetch_add(1)) {}

Scanner::~Scanner() = default;

std::unique_ptr<Scanner> Scanner::create() { return create(today_utc()); }

std::unique_ptr<Scanner> Scanner::create(const validate::CivilDate& today) {
  if (hs_valid_platform() != HS_SUCCESS) return nullptr;
  const auto specs = pattern_specs();
  std::vector<std::string> expressions;
  std::vector<const char*> pointers;
  std::vector<unsigned int> flags;
  std::vector<unsigned int> ids;
  expressions.reserve(specs.size());
  for (const PatternSpec& spec : specs) {
    expressions.push_back(compiled_expression(spec));
    // SOM_LEFTMOST gives the start offset. Every SOM pattern is bounded on the
    // left or starts with a literal ('@', '+', '('): an unbounded leading
    // class (an e-mail local part) made the whole database 20x slower.
    flags.push_back(spec.start_of_match ? HS_FLAG_SOM_LEFTMOST : 0u);
    ids.push_back(static_cast<unsigned int>(spec.kind));
  }
  pointers.reserve(expressions.size());
  for (const std::string& expression : expressions) pointers.push_back(expression.c_str());

  hs_database_t* raw_database = nullptr;
  hs_compile_error_t* error = nullptr;
  if (hs_compile_multi(pointers.data(), flags.data(), ids.data(), static_cast<unsigned int>(pointers.size()),
                       HS_MODE_BLOCK, nullptr, &raw_database, &error) != HS_SUCCESS) {
    hs_free_compile_error(error);
    return nullptr;
  }
  std::unique_ptr<hs_database, DatabaseDeleter> database(raw_database);
  return std::unique_ptr<Scanner>(new Scanner(std::move(database), today));
}

void Scanner::scan(std::string_view text, std::vector<Finding>& out) const {
  static_cast<void>(try_scan(text, out));
}

bool Scanner::try_scan(std::string_view text, std::vector<Finding>& out) const {
  try {
    const std::size_t original_size = out.size();
    for (std::size_t base = 0; base < text.size(); base += kWindow) {
      const std::size_t keep_until = std::min(text.size(), base + kWindow);
      const std::size_t window_end = std::min(text.size(), keep_until + kWindowOverlap);
      const std::size_t min_start = out.size() > original_size ? out.back().end : 0;
      if (!scan_window(text.substr(base, window_end - base), base, keep_until, min_start, out)) {
        out.resize(original_size);
        workspace().trim();
        return false;
      }
    }
    workspace().trim();
    return true;
  } catch (...) {
    // Only std::bad_alloc can get here; the contract is "no exceptions".
    return false;
  }
}

bool Scanner::scan_window(std::string_view window, std::size_t base, std::size_t keep_until,
                          std::size_t min_start, std::vector<Finding>& out) const {
  Workspace& ws = workspace();
  if (ws.prepared_for != id_) {
    if (hs_alloc_scratch(database_.get(), &ws.scratch) != HS_SUCCESS) return false;
    ws.prepared_for = id_;
  }

  // Fast path: plain text is scanned in place. Only text with full-width or
  // typographic characters is folded into a copy with an offset map.
  const bool folded = FoldedText::needs_folding(window);
  if (folded) ws.folded.fold(window);
  const std::string_view scanned = folded ? ws.folded.text() : window;

  ws.raw.clear();
  MatchSink sink{scanned.data(), scanned.size(), &ws.raw};
  if (hs_scan(database_.get(), scanned.data(), static_cast<unsigned int>(scanned.size()), 0, ws.scratch,
              on_match, &sink) != HS_SUCCESS) {
    return false;
  }
  if (ws.raw.empty()) return true;

  ws.candidates.clear();
  const detail::ClassifyEnv env{scanned, today_};
  for (const detail::RawMatch& match : ws.raw) detail::classify(match, env, ws.candidates);
  resolve_overlaps(ws.candidates, ws.accepted);

  for (Finding finding : ws.accepted) {
    if (folded) {
      finding.start = ws.folded.original_offset(finding.start);
      finding.end = ws.folded.original_offset(finding.end);
    }
    finding.start += base;
    finding.end += base;
    // The next window owns findings that start in the overlap; a finding cut
    // by the previous window's end must not be reported twice.
    if (finding.start >= keep_until || finding.start < min_start) continue;
    out.push_back(finding);
  }
  return true;
}

}  // namespace baton::guard
