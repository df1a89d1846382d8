#pragma once
// Reads only the fields of an OpenAI request body that baton's decisions need, with simdjson's
// on-demand parser, and records where they sit so the forwarded body can be spliced instead of
// re-serialised: everything the client sent reaches the upstream byte for byte except `model`
// (alias → upstream id) and, for streams, `stream_options.include_usage`.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/errors.hpp"

namespace baton::api::openai {

enum class Endpoint : std::uint8_t { chat_completions, embeddings };

// Replace body[offset, offset + length) with `text`.
struct Splice {
  std::size_t offset = 0;
  std::size_t length = 0;
  std::string text;
};

struct RequestFields {
  std::string model;
  std::size_t model_offset = 0;  // the model value, quotes included
  std::size_t model_length = 0;
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage as the client sent it
  bool has_stream_options = false;  // an object
  bool stream_options_null = false;
  bool stream_options_empty = false;
  std::size_t stream_options_offset = 0;  // the stream_options value
  std::size_t stream_options_length = 0;
  std::size_t include_usage_offset = 0;  // its include_usage value, relative to stream_options_offset
  std::size_t include_usage_length = 0;  // 0: absent
  std::size_t object_end = 0;       // offset of the root object's closing brace
  std::size_t messages_end = 0;     // offset of the messages array's closing bracket
  bool messages_empty = true;
  std::int64_t max_tokens = -1;
};

// Fills `fields` from `body` or explains, as a client error, why it cannot.
bool inspect_request(const std::string& body, Endpoint endpoint, RequestFields& fields, Error& error);

// The edits that turn the client's body into the upstream's: `upstream_model_json` is the quoted,
// escaped upstream model id; `force_usage` asks the upstream for a usage chunk on streams.
std::vector<Splice> upstream_body_splices(const RequestFields& fields, std::string_view upstream_model_json,
                                          bool force_usage);

// A continuation request: the same body, plus `partial` as a trailing assistant message the next
// deployment continues from (assistant prefill).
void add_continuation_splice(const RequestFields& fields, std::string_view partial, std::vector<Splice>& splices);

}  // namespace baton::api::openai
