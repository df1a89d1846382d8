// Hot-path microbenchmarks: what baton does to every request and every streamed event, without I/O.
//   ./build/bench/request_path_bench
#include <benchmark/benchmark.h>

#include <string>

#include "api/openai/request_fields.hpp"
#include "api/openai/usage.hpp"
#include "core/errors.hpp"
#include "core/sse.hpp"
#include "guard/policy.hpp"

namespace {

using namespace baton;
using namespace baton::api::openai;

const std::string kChatBody =
    R"({"model":"gpt-4o-mini","messages":[{"role":"system","content":"You are a helpful assistant."},)"
    R"({"role":"user","content":"Summarise the following text in two sentences: The quick brown fox jumps over the lazy dog. )"
    R"(안녕하세요, 오늘 서울 날씨는 맑고 기온은 영상 12도입니다."}],"temperature":0.2,"max_tokens":256})";

const std::string kStreamBody = R"({"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]})";

std::string make_stream(int chunks) {
  std::string out;
  for (int i = 0; i < chunks; ++i) {
    out += R"(data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"m","choices":[{"index":0,"delta":{"content":"tok)" +
           std::to_string(i) + R"( "},"logprobs":null,"finish_reason":null}]})" "\n\n";
  }
  out += R"(data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"m","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":20,"total_tokens":29}})" "\n\n";
  out += "data: [DONE]\n\n";
  return out;
}

void BM_InspectAndSpliceChat(benchmark::State& state) {
  for (auto _ : state) {
    RequestFields fields;
    Error error;
    const bool ok = inspect_request(kChatBody, Endpoint::chat_completions, fields, error);
    auto splices = upstream_body_splices(fields, R"("gpt-4o-mini-2024-07-18")", false);
    benchmark::DoNotOptimize(ok);
    benchmark::DoNotOptimize(splices);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kChatBody.size()));
}
BENCHMARK(BM_InspectAndSpliceChat);

void BM_InspectStreamWithUsageInjection(benchmark::State& state) {
  for (auto _ : state) {
    RequestFields fields;
    Error error;
    inspect_request(kStreamBody, Endpoint::chat_completions, fields, error);
    auto splices = upstream_body_splices(fields, R"("m")", true);
    benchmark::DoNotOptimize(splices);
  }
}
BENCHMARK(BM_InspectStreamWithUsageInjection);

// Parse a 20-event upstream stream arriving in one read and re-frame it for the client, reading the
// usage chunk (and stripping it) as the relay does.
void BM_SseRelay20Events(benchmark::State& state) {
  const std::string stream = make_stream(20);
  std::string frames;
  for (auto _ : state) {
    SseParser parser;
    parser.append(stream);
    frames.clear();
    SseEvent event;
    while (parser.next(event)) {
      if (event.data == "[DONE]") continue;
      if (event.data.find("\"usage\"") != std::string_view::npos) {
        ChunkFacts facts;
        if (read_chunk_facts(event.data, facts) && facts.empty_choices) continue;
      }
      append_sse_data(frames, event.data);
    }
    benchmark::DoNotOptimize(frames);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * stream.size()));
}
BENCHMARK(BM_SseRelay20Events);

// The guard on a clean prompt (the common case): extract the texts, scan, decide.
void BM_GuardDecideCleanChat(benchmark::State& state) {
  config::PiiPolicyConfig redact;
  redact.action = "redact";
  const guard::Policy policy = guard::Policy::from_config(redact, nullptr);
  const guard::Scanner* scanner = guard::shared_scanner();
  for (auto _ : state) {
    guard::Decision decision;
    benchmark::DoNotOptimize(guard::decide(*scanner, policy, kChatBody, decision));
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kChatBody.size()));
}
BENCHMARK(BM_GuardDecideCleanChat);

void BM_ErrorBody(benchmark::State& state) {
  const Error error{ErrorCode::model_not_found, "The model 'x' does not exist or is not served here", "model"};
  for (auto _ : state) benchmark::DoNotOptimize(openai_error_body(error));
}
BENCHMARK(BM_ErrorBody);

}  // namespace
