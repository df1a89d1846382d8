#include "guard/request_texts.hpp"

#include <simdjson.h>

#include "core/json_text.hpp"

namespace baton::guard {

namespace sj = simdjson;
namespace od = simdjson::ondemand;

namespace {

// One walk over one body. Every method returns false when the document (or the shape of a field it
// reads) is wrong; texts are appended in body order, so their offsets ascend.
class Walker {
 public:
  Walker(const char* base, std::vector<RequestText>& out) : base_(base), out_(out) {}

  // A JSON string: its unescaped text and the byte range of its token.
  bool take_string(od::value& value, std::uint32_t index) {
    const std::string_view token = value.raw_json_token();  // before get_string() consumes it
    std::string_view text;
    if (value.get_string().get(text) != sj::SUCCESS) return false;
    // raw_json_token() may include the whitespace after the token; the string ends at its quote.
    const std::size_t length = token.find_last_of('"') + 1;
    out_.push_back({index, std::string(text), static_cast<std::size_t>(token.data() - base_), length});
    return true;
  }

  static bool type_of(od::value& value, od::json_type& type) { return value.type().get(type) == sj::SUCCESS; }

  // --- OpenAI embeddings: `input` is a string or a list of strings (token-id arrays carry no text) ---

  bool embeddings_root(od::object& root) {
    for (auto field : root) {
      std::string_view key;
      od::value value;
      if (field.unescaped_key().get(key) != sj::SUCCESS || field.value().get(value) != sj::SUCCESS) return false;
      if (key != "input") continue;
      od::json_type type;
      if (!type_of(value, type)) return false;
      if (type == od::json_type::string) {
        if (!take_string(value, 0)) return false;
        continue;
      }
      if (type != od::json_type::array) return false;
      od::array inputs;
      if (value.get_array().get(inputs) != sj::SUCCESS) return false;
      std::uint32_t index = 0;
      for (auto element : inputs) {
        od::value item;
        od::json_type item_type;
        if (element.get(item) != sj::SUCCESS || !type_of(item, item_type)) return false;
        if (item_type == od::json_type::string && !take_string(item, index)) return false;
        ++index;
      }
    }
    return true;
  }

  // --- OpenAI chat completions ---

  bool openai_root(od::object& root) {
    for (auto field : root) {
      std::string_view key;
      od::value value;
      if (field.unescaped_key().get(key) != sj::SUCCESS || field.value().get(value) != sj::SUCCESS) return false;
      if (key == "messages" && !messages(value, &Walker::openai_message)) return false;
    }
    return true;
  }

  bool openai_message(od::value& message, std::uint32_t index) {
    od::object object;
    if (message.get_object().get(object) != sj::SUCCESS) return false;
    for (auto field : object) {
      std::string_view key;
      od::value value;
      if (field.unescaped_key().get(key) != sj::SUCCESS || field.value().get(value) != sj::SUCCESS) return false;
      if (key == "content") {
        if (!content(value, index)) return false;
      } else if (key == "tool_calls") {
        if (!tool_calls(value, index)) return false;
      } else if (key == "function_call") {
        if (!function(value, index)) return false;
      }
    }
    return true;
  }

  // `content`: a string, null, or an array of parts; any part's string `text` (type "text", and
  // look-alikes such as "input_text") and `refusal` are read.
  bool content(od::value& value, std::uint32_t index) {
    od::json_type type;
    if (!type_of(value, type)) return false;
    if (type == od::json_type::string) return take_string(value, index);
    if (type == od::json_type::null) return true;
    if (type != od::json_type::array) return false;
    od::array parts;
    if (value.get_array().get(parts) != sj::SUCCESS) return false;
    for (auto element : parts) {
      od::value part;
      od::object object;
      if (element.get(part) != sj::SUCCESS || part.get_object().get(object) != sj::SUCCESS) return false;
      for (auto field : object) {
        std::string_view key;
        od::value member;
        if (field.unescaped_key().get(key) != sj::SUCCESS || field.value().get(member) != sj::SUCCESS) return false;
        if ((key == "text" || key == "refusal") && !optional_string(member, index)) return false;
      }
    }
    return true;
  }

  bool tool_calls(od::value& value, std::uint32_t index) {
    od::json_type type;
    if (!type_of(value, type)) return false;
    if (type == od::json_type::null) return true;
    od::array calls;
    if (value.get_array().get(calls) != sj::SUCCESS) return false;
    for (auto element : calls) {
      od::value call;
      od::object object;
      if (element.get(call) != sj::SUCCESS || call.get_object().get(object) != sj::SUCCESS) return false;
      for (auto field : object) {
        std::string_view key;
        od::value member;
        if (field.unescaped_key().get(key) != sj::SUCCESS || field.value().get(member) != sj::SUCCESS) return false;
        if (key == "function" && !function(member, index)) return false;
      }
    }
    return true;
  }

  // {"name": ..., "arguments": "<JSON text>"}: the arguments string is read as text.
  bool function(od::value& value, std::uint32_t index) {
    od::json_type type;
    if (!type_of(value, type)) return false;
    if (type == od::json_type::null) return true;
    od::object object;
    if (value.get_object().get(object) != sj::SUCCESS) return false;
    for (auto field : object) {
      std::string_view key;
      od::value member;
      if (field.unescaped_key().get(key) != sj::SUCCESS || field.value().get(member) != sj::SUCCESS) return false;
      if (key == "arguments" && !optional_string(member, index)) return false;
    }
    return true;
  }

  // --- Anthropic messages ---

  bool anthropic_root(od::object& root) {
    for (auto field : root) {
      std::string_view key;
      od::value value;
      if (field.unescaped_key().get(key) != sj::SUCCESS || field.value().get(value) != sj::SUCCESS) return false;
      if (key == "system") {
        if (!anthropic_content(value, kSystemText)) return false;
      } else if (key == "messages") {
        if (!messages(value, &Walker::anthropic_message)) return false;
      }
    }
    return true;
  }

  bool anthropic_message(od::value& message, std::uint32_t index) {
    od::object object;
    if (message.get_object().get(object) != sj::SUCCESS) return false;
    for (auto field : object) {
      std::string_view key;
      od::value value;
      if (field.unescaped_key().get(key) != sj::SUCCESS || field.value().get(value) != sj::SUCCESS) return false;
      if (key == "content" && !anthropic_content(value, index)) return false;
    }
    return true;
  }

  // A string, or blocks: a block's string `text` is read, and a tool_result's `content` (a string
  // or blocks again).
  bool anthropic_content(od::value& value, std::uint32_t index, int depth = 0) {
    od::json_type type;
    if (!type_of(value, type)) return false;
    if (type == od::json_type::string) return take_string(value, index);
    if (type == od::json_type::null) return true;
    if (type != od::json_type::array) return false;
    od::array blocks;
    if (value.get_array().get(blocks) != sj::SUCCESS) return false;
    for (auto element : blocks) {
      od::value block;
      od::object object;
      if (element.get(block) != sj::SUCCESS || block.get_object().get(object) != sj::SUCCESS) return false;
      for (auto field : object) {
        std::string_view key;
        od::value member;
        if (field.unescaped_key().get(key) != sj::SUCCESS || field.value().get(member) != sj::SUCCESS) return false;
        if (key == "text") {
          if (!optional_string(member, index)) return false;
        } else if (key == "content" && depth == 0) {  // tool_result content; blocks do not nest deeper
          if (!anthropic_content(member, index, depth + 1)) return false;
        }
      }
    }
    return true;
  }

  // --- shared ---

  using MessageReader = bool (Walker::*)(od::value&, std::uint32_t);

  bool messages(od::value& value, MessageReader read) {
    od::array array;
    if (value.get_array().get(array) != sj::SUCCESS) return false;
    std::uint32_t index = 0;
    for (auto element : array) {
      od::value message;
      if (element.get(message) != sj::SUCCESS || !(this->*read)(message, index)) return false;
      ++index;
    }
    return true;
  }

  // A string is read; null is nothing; anything else is a shape the API does not allow.
  bool optional_string(od::value& value, std::uint32_t index) {
    od::json_type type;
    if (!type_of(value, type)) return false;
    if (type == od::json_type::null) return true;
    return type == od::json_type::string && take_string(value, index);
  }

 private:
  const char* base_;
  std::vector<RequestText>& out_;
};

}  // namespace

bool extract_request_texts(std::string_view body, RequestFormat format, std::vector<RequestText>& out) {
  thread_local od::parser parser;
  thread_local std::string scratch;
  const PaddedJson padded = padded_for_simdjson(body, scratch);
  const std::string_view text = padded.text;
  od::document doc;
  od::object root;
  if (parser.iterate(text.data(), text.size(), padded.allocated).get(doc) != sj::SUCCESS ||
      doc.get_object().get(root) != sj::SUCCESS) {
    return false;
  }
  Walker walker(text.data(), out);
  bool ok = false;
  switch (format) {
    case RequestFormat::openai_chat: ok = walker.openai_root(root); break;
    case RequestFormat::anthropic_messages: ok = walker.anthropic_root(root); break;
    case RequestFormat::openai_embeddings: ok = walker.embeddings_root(root); break;
  }
  // Anything after the root object makes the body invalid JSON.
  return ok && doc.current_location().error() == sj::OUT_OF_BOUNDS;
}

}  // namespace baton::guard
