// The texts of an LLM request body that an upstream model would read, found without building a
// DOM, each with where its JSON string token sits in the body, so that redaction can splice a
// re-escaped string in its place and forward every other byte untouched.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace baton::guard {

enum class RequestFormat : std::uint8_t {
  openai_chat,         // POST /v1/chat/completions
  anthropic_messages,  // POST /v1/messages
  openai_embeddings,   // POST /v1/embeddings: `input` as a string or a list of strings
};

// message_index of a text in Anthropic's top-level `system` (it is not in `messages`).
inline constexpr std::uint32_t kSystemText = 0xFFFF'FFFF;

struct RequestText {
  std::uint32_t message_index = 0;  // index into `messages`, or kSystemText
  std::string text;                 // the JSON-unescaped text (valid UTF-8)
  std::size_t offset = 0;           // of the string token's opening quote in the body
  std::size_t length = 0;           // of the whole token, both quotes included
};

// Appends every text of `body` to `out`, in body order:
//
// openai_chat — for each `messages[i]`: `content` when it is a string; the `text` of each content
// part `{"type":"text","text":...}` (also `refusal` parts); the `arguments` string of each
// `tool_calls[].function` and of a legacy `function_call` (earlier model output the client sends
// back, often with the user's data in it). Role `tool` messages are messages like any other.
// `name`, `tool_call_id`, image/audio/file parts and everything outside `messages` (tools,
// response_format, ...) are not read.
//
// anthropic_messages — `system` as a string or as `{"type":"text","text":...}` blocks; for each
// `messages[i]`: `content` as a string, or blocks of type `text` (`text`) and `tool_result`
// (`content` as a string or as text blocks).
//
// Returns false, with `out` in an unspecified state, when the body is not valid JSON or a field
// above has a shape the API does not allow (a message that is not an object, a number as
// content, ...). A guard must then refuse the request rather than forward text it did not see.
bool extract_request_texts(std::string_view body, RequestFormat format, std::vector<RequestText>& out);

}  // namespace baton::guard
