#pragma once
// Token usage as upstreams report it, read from a completion body or one stream chunk.
#include <cstdint>
#include <string>
#include <string_view>

namespace baton::api::openai {

struct Usage {
  std::int64_t input_tokens = -1;  // -1: not reported
  std::int64_t output_tokens = -1;
  std::int64_t cached_input_tokens = 0;  // prompt_tokens_details.cached_tokens: priced lower
};

struct ChunkFacts {
  Usage usage;
  bool has_usage = false;
  bool empty_choices = false;  // "choices": [] — the usage-only chunk of a stream
};

// What a stream continuation needs to know about one chunk.
struct DeltaFacts {
  std::size_t id_offset = 0;  // the "id" value's token (quotes included) within the chunk
  std::size_t id_length = 0;
  std::string content;        // choices[0].delta.content
  std::size_t content_offset = 0;  // its token within the chunk (0 length: absent)
  std::size_t content_length = 0;
  bool tool_calls = false;    // a tool-call delta: a continuation could not resume it
  bool finished = false;      // choices[0].finish_reason is set
  std::uint32_t choice_index = 0;  // choices[0].index (streams with n > 1 interleave choices)
  bool has_usage = false;
  bool empty_choices = false;
  Usage usage;
};
bool read_delta_facts(std::string_view json, DeltaFacts& facts);

// A cheap prefilter run on every stream chunk before read_chunk_facts: whether `json` contains the
// string "usage" (quotes included). Most chunks do not, and this must cost far less than parsing.
bool may_carry_usage(std::string_view json);

// Returns false when `json` is not a JSON object.
bool read_chunk_facts(std::string_view json, ChunkFacts& facts);

// A whole (non-stream) answer: validates all of it and reads its usage. False: not valid JSON.
bool read_answer_usage(std::string_view json, Usage& usage);
// The same for a body whose capacity may already hold simdjson's padding (then parsed in place).
bool read_answer_usage(const std::string& json, Usage& usage);

}  // namespace baton::api::openai
