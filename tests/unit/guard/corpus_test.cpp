// Precision/recall of the scanner over the labelled corpus in tests/guard/.
// A finding counts as correct only with the exact type, start and end.

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "guard/scanner.hpp"

namespace baton::guard {
namespace {

struct Label {
  PiiType type;
  std::size_t start;
  std::size_t end;
  friend auto operator<=>(const Label&, const Label&) = default;
};

struct Sample {
  std::string text;
  std::set<Label> labels;
};

// BATON_GUARD_CORPUS points the test at another corpus (e.g. one generated with
// a different seed) without rebuilding.
std::string corpus_path() {
  if (const char* path = std::getenv("BATON_GUARD_CORPUS"); path != nullptr && *path != '\0') return path;
  return std::string(BATON_TEST_DATA_DIR) + "/guard/corpus.jsonl";
}

std::vector<Sample> load_corpus() {
  std::ifstream in(corpus_path());
  std::vector<Sample> samples;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const boost::json::value document = boost::json::parse(line);
    Sample sample;
    sample.text = std::string(document.at("text").as_string());
    for (const auto& finding : document.at("findings").as_array()) {
      const auto type = pii_type_from_string(std::string(finding.at("type").as_string()));
      if (!type) throw std::runtime_error("unknown type in corpus: " + line);
      sample.labels.insert(Label{*type, static_cast<std::size_t>(finding.at("start").as_int64()),
                                 static_cast<std::size_t>(finding.at("end").as_int64())});
    }
    samples.push_back(std::move(sample));
  }
  return samples;
}

struct Tally {
  std::size_t true_positive = 0;
  std::size_t false_positive = 0;
  std::size_t false_negative = 0;
  double precision() const {
    const auto predicted = true_positive + false_positive;
    return predicted == 0 ? 1.0 : static_cast<double>(true_positive) / static_cast<double>(predicted);
  }
  double recall() const {
    const auto actual = true_positive + false_negative;
    return actual == 0 ? 1.0 : static_cast<double>(true_positive) / static_cast<double>(actual);
  }
};

// Newlines escaped so each error prints on one line.
std::string one_line(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string describe(const Sample& sample, const Label& label) {
  return std::string(to_string(label.type)) + " [" + std::to_string(label.start) + "," +
         std::to_string(label.end) + ") \"" + sample.text.substr(label.start, label.end - label.start) + "\"";
}

TEST(GuardCorpus, PrecisionAndRecallPerType) {
  const std::vector<Sample> samples = load_corpus();
  ASSERT_GE(samples.size(), 1000u) << "corpus missing or too small; run tests/guard/make_corpus.py";

  const auto scanner = Scanner::create();
  ASSERT_NE(scanner, nullptr);

  std::array<Tally, kPiiTypeCount> tallies{};
  std::vector<std::string> errors;
  std::vector<Finding> findings;
  for (const Sample& sample : samples) {
    findings.clear();
    scanner->scan(sample.text, findings);
    std::set<Label> predicted;
    for (const Finding& finding : findings) predicted.insert(Label{finding.type, finding.start, finding.end});
    for (const Label& label : predicted) {
      auto& tally = tallies[static_cast<std::size_t>(label.type)];
      if (sample.labels.contains(label)) {
        ++tally.true_positive;
      } else {
        ++tally.false_positive;
        errors.push_back("FP " + describe(sample, label) + " in: " + one_line(sample.text));
      }
    }
    for (const Label& label : sample.labels) {
      if (!predicted.contains(label)) {
        ++tallies[static_cast<std::size_t>(label.type)].false_negative;
        errors.push_back("FN " + describe(sample, label) + " in: " + one_line(sample.text));
      }
    }
  }

  std::printf("\n%-18s %6s %6s %6s %10s %8s\n", "type", "TP", "FP", "FN", "precision", "recall");
  Tally total;
  for (const PiiType type : kAllPiiTypes) {
    const Tally& tally = tallies[static_cast<std::size_t>(type)];
    std::printf("%-18s %6zu %6zu %6zu %10.4f %8.4f\n", std::string(to_string(type)).c_str(), tally.true_positive,
                tally.false_positive, tally.false_negative, tally.precision(), tally.recall());
    total.true_positive += tally.true_positive;
    total.false_positive += tally.false_positive;
    total.false_negative += tally.false_negative;
  }
  std::printf("%-18s %6zu %6zu %6zu %10.4f %8.4f\n", "ALL", total.true_positive, total.false_positive,
              total.false_negative, total.precision(), total.recall());
  std::printf("(%zu samples)\n", samples.size());
  for (std::size_t i = 0; i < errors.size() && i < 40; ++i) std::printf("  %s\n", errors[i].c_str());

  for (const PiiType type : kAllPiiTypes) {
    const Tally& tally = tallies[static_cast<std::size_t>(type)];
    EXPECT_GT(tally.true_positive + tally.false_negative, 50u) << to_string(type) << " is under-represented";
    EXPECT_GE(tally.precision(), 0.99) << to_string(type);
    EXPECT_GE(tally.recall(), 0.99) << to_string(type);
  }
}

}  // namespace
}  // namespace baton::guard
