// The PII scanner: one multi-pattern Vectorscan pass per text for candidates,
// then C++ validators (classifier.hpp) decide what is real.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "guard/pii_type.hpp"
#include "guard/validators.hpp"

struct hs_database;  // Vectorscan's opaque database (hs_database_t)

namespace baton::guard {

class Scanner {
 public:
  // Compiles the pattern database once. Returns nullptr only when Vectorscan
  // cannot run on this CPU or the (static) patterns fail to compile — both
  // deployment errors the caller should treat as fatal at start-up.
  static std::unique_ptr<Scanner> create();

  // Same, with a fixed "today" (birth dates after it are not RRNs). Tests use
  // this to stay deterministic; production uses create().
  static std::unique_ptr<Scanner> create(const validate::CivilDate& today);

  ~Scanner();
  Scanner(const Scanner&) = delete;
  Scanner& operator=(const Scanner&) = delete;

  // Appends the findings in `text` to `out`, sorted by start and
  // non-overlapping, with UTF-8 byte offsets into `text`. Thread-safe: each
  // thread keeps its own Vectorscan scratch. Never throws; on an internal
  // failure (allocation) nothing is appended — use try_scan() to fail closed.
  void scan(std::string_view text, std::vector<Finding>& out) const;

  // As scan(), but reports whether the scan ran. A guard that must not let
  // unscanned text through should refuse the request when this returns false.
  [[nodiscard]] bool try_scan(std::string_view text, std::vector<Finding>& out) const;

 private:
  struct DatabaseDeleter {
    void operator()(hs_database* database) const;
  };

  Scanner(std::unique_ptr<hs_database, DatabaseDeleter> database, validate::CivilDate today);

  // Scans text[base, ...) and appends findings that start in [min_start, keep_until).
  bool scan_window(std::string_view window, std::size_t base, std::size_t keep_until, std::size_t min_start,
                   std::vector<Finding>& out) const;

  std::unique_ptr<hs_database, DatabaseDeleter> database_;
  validate::CivilDate today_;
  std::uint64_t id_;  // identifies this database to the per-thread scratch cache
};

}  // namespace baton::guard
