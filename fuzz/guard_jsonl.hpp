// The guard's JSONL contract (`baton guard scan`, admin scan): one output line per non-blank input
// line, each a JSON object, whatever the input.
#pragma once

#include "fuzz_check.hpp"

#include <boost/json/parse.hpp>
#include <memory>
#include <sstream>

#include "guard/jsonl.hpp"
#include "guard/scanner.hpp"
#include "guard/validators.hpp"

namespace baton::fuzz {

inline int guard_jsonl(const std::uint8_t* data, std::size_t size) {
  static const std::unique_ptr<guard::Scanner> scanner = guard::Scanner::create(guard::validate::CivilDate{2025, 6, 1});
  BATON_FUZZ_CHECK(scanner != nullptr);
  const std::string input(reinterpret_cast<const char*>(data), size);
  std::istringstream in(input);
  std::ostringstream out;
  const int status = guard::scan_jsonl(*scanner, in, out);
  BATON_FUZZ_CHECK(status == guard::kJsonlOk || status == guard::kJsonlMalformedLine);
  std::istringstream lines(out.str());
  std::string line;
  while (std::getline(lines, line)) {
    boost::system::error_code ec;
    const boost::json::value value = boost::json::parse(line, ec);
    BATON_FUZZ_CHECK(!ec && value.is_object());
  }
  return 0;
}

}  // namespace baton::fuzz
