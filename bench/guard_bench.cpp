// Throughput of the PII scanner (src/guard).
//
//   BM_GuardScanClean        clean mixed Korean/English chat text, no candidates (target >= 1 GB/s/core)
//   BM_GuardScanRedact4K     a 4 KB prompt with 5 findings: scan + redact (target <= 20 us)
//   BM_GuardScanNumeric      text full of dates, prices and order numbers (hard negatives)
//   BM_GuardScanFullWidth    the same 4 KB prompt written with full-width digits (folding path)

#include <benchmark/benchmark.h>

#include <array>
#include <cstdlib>
#include <string>
#include <vector>

#include "guard/redaction.hpp"
#include "guard/scanner.hpp"

namespace {

using baton::guard::Finding;
using baton::guard::Redaction;
using baton::guard::Scanner;

const Scanner& scanner() {
  static const std::unique_ptr<Scanner> instance = Scanner::create();
  if (!instance) std::abort();
  return *instance;
}

// Chat-like sentences without any digits, e-mail or IP: the common case.
constexpr std::array<const char*, 12> kCleanSentences = {
    "안녕하세요, 오늘 회의 자료를 공유드립니다. ",
    "Could you summarize the attached report in three bullet points? ",
    "고객님의 문의 사항은 담당 부서로 전달되었습니다. ",
    "The deployment finished without errors; please verify the dashboard. ",
    "다음 주 일정은 팀장님과 상의한 뒤에 확정하겠습니다. ",
    "Let me know if the translation sounds natural to a native speaker. ",
    "이 문장을 좀 더 공손한 표현으로 바꿔 주세요. ",
    "We should refactor the parser before adding new features. ",
    "배송 관련 안내 메일을 다시 보내 드릴까요? ",
    "Thanks for the quick reply, that clears things up. ",
    "요약: 비용 절감 방안과 인력 운영 계획을 검토했습니다. ",
    "Please keep the tone friendly but professional. ",
};

std::string clean_text(std::size_t bytes) {
  std::string text;
  std::size_t i = 0;
  while (text.size() < bytes) text += kCleanSentences[i++ % kCleanSentences.size()];
  return text;
}

// About 4 KB of prompt with exactly five PII values spread through it.
std::string prompt_4k(bool full_width) {
  const std::array<const char*, 5> pii = {
      full_width ? "９００１０１－１２３４５６８" : "900101-1234568",
      full_width ? "０１０－１２３４－５６７８" : "010-1234-5678",
      "minsu.kim@example.co.kr",
      full_width ? "４１１１ １１１１ １１１１ １１１１" : "4111 1111 1111 1111",
      "211.234.56.78",
  };
  const std::array<const char*, 5> lead = {
      " 제 주민등록번호는 ", " 연락처는 ", " 메일은 ", " 카드번호 ", " 접속 IP ",
  };
  std::string text;
  std::size_t next = 0;
  std::size_t sentence = 0;
  while (text.size() < 4096) {
    text += kCleanSentences[sentence++ % kCleanSentences.size()];
    if (sentence % 6 == 3 && next < pii.size()) {
      text += lead[next];
      text += pii[next];
      text += " 입니다.";
      ++next;
    }
  }
  return text;
}

void BM_GuardScanClean(benchmark::State& state) {
  const std::string text = clean_text(static_cast<std::size_t>(state.range(0)));
  std::vector<Finding> findings;
  for (auto _ : state) {
    findings.clear();
    scanner().scan(text, findings);
    benchmark::DoNotOptimize(findings.data());
  }
  if (!findings.empty()) state.SkipWithError("clean text produced findings");
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(text.size()));
}
BENCHMARK(BM_GuardScanClean)->Arg(4 << 10)->Arg(64 << 10)->Arg(1 << 20);

void scan_and_redact(benchmark::State& state, const std::string& text) {
  std::vector<Finding> findings;
  for (auto _ : state) {
    findings.clear();
    scanner().scan(text, findings);
    Redaction redaction;
    std::string redacted = redaction.redact(text, findings);
    benchmark::DoNotOptimize(redacted.data());
  }
  if (findings.size() != 5) state.SkipWithError("expected 5 findings");
  state.counters["findings"] = static_cast<double>(findings.size());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(text.size()));
}

void BM_GuardScanRedact4K(benchmark::State& state) { scan_and_redact(state, prompt_4k(false)); }
BENCHMARK(BM_GuardScanRedact4K);

void BM_GuardScanFullWidth(benchmark::State& state) { scan_and_redact(state, prompt_4k(true)); }
BENCHMARK(BM_GuardScanFullWidth);

void BM_GuardScanNumeric(benchmark::State& state) {
  std::string text;
  while (text.size() < 64 * 1024) {
    text += "2024-01-15 회의, 총 1,234,567원 결제, 주문번호 2024011512345678 배송 조회, v1.2.3.4 배포. ";
  }
  std::vector<Finding> findings;
  for (auto _ : state) {
    findings.clear();
    scanner().scan(text, findings);
    benchmark::DoNotOptimize(findings.data());
  }
  if (!findings.empty()) state.SkipWithError("numeric negatives produced findings");
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(text.size()));
}
BENCHMARK(BM_GuardScanNumeric);

}  // namespace
