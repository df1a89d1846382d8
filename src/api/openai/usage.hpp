#pragma once
// Token usage as upstreams report it, read from a completion body or one stream chunk.
#include <cstdint>
#include <string_view>

namespace baton::api::openai {

struct Usage {
  std::int64_t input_tokens = -1;  // -1: not reported
  std::int64_t output_tokens = -1;
};

struct ChunkFacts {
  Usage usage;
  bool has_usage = false;
  bool empty_choices = false;  // "choices": [] — the usage-only chunk of a stream
};

// Returns false when `json` is not a JSON object.
bool read_chunk_facts(std::string_view json, ChunkFacts& facts);

}  // namespace baton::api::openai
