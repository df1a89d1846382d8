#include "api/openai/request_fields.hpp"

#include <array>

#include <simdjson.h>

#include <algorithm>

#include "core/json_text.hpp"

namespace baton::api::openai {

namespace sj = simdjson;
namespace od = simdjson::ondemand;

namespace {

Error json_error(std::string message) { return Error{ErrorCode::invalid_json, std::move(message), {}}; }

// stream_options is rare and small: parse it on its own to learn include_usage and where a forced
// `"include_usage":true` goes. Offsets are relative to the object's text.
bool inspect_stream_options(std::string_view raw, RequestFields& fields, Error& error) {
  thread_local od::parser parser;
  thread_local std::string scratch;
  const PaddedJson padded = padded_for_simdjson(raw, scratch);
  const std::string_view text = padded.text;
  const Error not_object{ErrorCode::invalid_field, "stream_options must be an object", "stream_options"};
  od::document doc;
  od::object object;
  if (parser.iterate(text.data(), text.size(), padded.allocated).get(doc) != sj::SUCCESS ||
      doc.get_object().get(object) != sj::SUCCESS) {
    error = not_object;
    return false;
  }
  bool empty = true;
  for (auto field : object) {
    empty = false;
    std::string_view key;
    od::value value;
    if (field.unescaped_key().get(key) != sj::SUCCESS || field.value().get(value) != sj::SUCCESS) {
      error = not_object;
      return false;
    }
    if (key != "include_usage") continue;
    if (fields.include_usage_length != 0) {
      error = Error{ErrorCode::invalid_field, "duplicate key 'include_usage' in stream_options",
                    "stream_options.include_usage"};
      return false;
    }
    const std::string_view token = value.raw_json_token();
    bool include = false;
    if (value.get_bool().get(include) != sj::SUCCESS) {
      error = Error{ErrorCode::invalid_field, "stream_options.include_usage must be a boolean",
                    "stream_options.include_usage"};
      return false;
    }
    fields.include_usage = include;
    fields.include_usage_offset = static_cast<std::size_t>(token.data() - text.data());
    fields.include_usage_length = include ? 4 : 5;
  }
  fields.stream_options_empty = empty;
  return true;
}

}  // namespace

bool inspect_request(const std::string& body, Endpoint endpoint, RequestFields& fields, Error& error) {
  thread_local od::parser parser;
  thread_local std::string scratch;
  const PaddedJson padded = padded_for_simdjson(body, scratch);  // in place when the body reserved padding
  const std::string_view text = padded.text;
  const char* base = text.data();

  od::document doc;
  if (auto ec = parser.iterate(text.data(), text.size(), padded.allocated).get(doc); ec != sj::SUCCESS) {
    error = json_error(std::string("request body is not valid JSON: ") + sj::error_message(ec));
    return false;
  }
  od::object root;
  if (auto ec = doc.get_object().get(root); ec != sj::SUCCESS) {
    error = json_error(ec == sj::INCORRECT_TYPE ? "request body must be a JSON object"
                                                : std::string("request body is not valid JSON: ") + sj::error_message(ec));
    return false;
  }
  bool has_model = false;
  bool has_payload = false;  // messages (chat) or input (embeddings)
  const std::string_view payload_name = endpoint == Endpoint::chat_completions ? "messages" : "input";
  // A field baton decides on must appear once: with two "model" (or "stream_options") keys, baton
  // and the upstream could read different ones (a key limited to one model reaching another, a
  // stream whose usage is never reported). Refuse the ambiguity instead of guessing.
  static constexpr std::array<std::string_view, 7> kDecisive = {
      "model", "stream", "stream_options", "messages", "input", "max_tokens", "max_completion_tokens"};
  std::array<bool, kDecisive.size()> seen{};
  for (auto field : root) {
    std::string_view key;
    od::value value;
    if (auto ec = field.unescaped_key().get(key); ec != sj::SUCCESS) {
      error = json_error(std::string("request body is not valid JSON: ") + sj::error_message(ec));
      return false;
    }
    for (std::size_t i = 0; i < kDecisive.size(); ++i) {
      if (key != kDecisive[i]) continue;
      if (seen[i]) {
        error = Error{ErrorCode::invalid_field, "duplicate key '" + std::string(key) + "' in the request body", std::string(key)};
        return false;
      }
      seen[i] = true;
    }
    if (auto ec = field.value().get(value); ec != sj::SUCCESS) {
      error = json_error(std::string("request body is not valid JSON: ") + sj::error_message(ec));
      return false;
    }
    if (key == "model") {
      const std::string_view token = value.raw_json_token();
      std::string_view model;
      if (value.get_string().get(model) != sj::SUCCESS) {
        error = Error{ErrorCode::invalid_field, "model must be a string", "model"};
        return false;
      }
      // raw_json_token() may include trailing whitespace; the value itself ends at its closing quote.
      const std::size_t length = token.find_last_of('"') + 1;
      fields.model.assign(model);
      fields.model_offset = static_cast<std::size_t>(token.data() - base);
      fields.model_length = length;
      has_model = true;
    } else if (key == "stream" && endpoint == Endpoint::chat_completions) {
      bool is_null = false;
      if (value.is_null().get(is_null) == sj::SUCCESS && is_null) {
        fields.stream = false;
      } else if (value.get_bool().get(fields.stream) != sj::SUCCESS) {
        error = Error{ErrorCode::invalid_field, "stream must be a boolean", "stream"};
        return false;
      }
    } else if (key == "stream_options" && endpoint == Endpoint::chat_completions) {
      bool is_null = false;
      if (value.is_null().get(is_null) == sj::SUCCESS && is_null) {
        // Remember where the null sits so a forced include_usage replaces it (no duplicate key).
        fields.stream_options_null = true;
        fields.stream_options_offset = static_cast<std::size_t>(value.raw_json_token().data() - base);
        fields.stream_options_length = 4;
        continue;
      }
      std::string_view raw;
      od::object object;
      if (value.get_object().get(object) != sj::SUCCESS || object.raw_json().get(raw) != sj::SUCCESS) {
        error = Error{ErrorCode::invalid_field, "stream_options must be an object", "stream_options"};
        return false;
      }
      fields.has_stream_options = true;
      fields.stream_options_offset = static_cast<std::size_t>(raw.data() - base);
      fields.stream_options_length = raw.size();
      if (!inspect_stream_options(raw, fields, error)) return false;
    } else if (key == payload_name) {
      has_payload = true;
      if (endpoint == Endpoint::chat_completions) {
        od::array messages;
        std::string_view raw;
        if (value.get_array().get(messages) != sj::SUCCESS || messages.raw_json().get(raw) != sj::SUCCESS) {
          error = Error{ErrorCode::invalid_field, "messages must be an array", "messages"};
          return false;
        }
        // On-demand skipping does not validate the array; without its closing bracket it was not one.
        const std::size_t close = raw.find_last_of(']');
        if (close == std::string_view::npos) {
          error = json_error("request body is not valid JSON: unterminated messages array");
          return false;
        }
        // Where a continuation appends the partial assistant turn.
        fields.messages_end = static_cast<std::size_t>(raw.data() - base) + close;
        fields.messages_empty = raw.find_first_not_of(" \t\r\n", 1) == raw.find_last_of(']');
      }
    } else if (key == "max_tokens" || key == "max_completion_tokens") {
      std::int64_t max_tokens = 0;
      if (value.get_int64().get(max_tokens) == sj::SUCCESS) fields.max_tokens = max_tokens;
    }
  }
  // Anything after the root object (`{...} x`) makes the body invalid JSON.
  if (doc.current_location().error() != sj::OUT_OF_BOUNDS) {
    error = json_error("request body is not valid JSON: unexpected content after the object");
    return false;
  }
  if (!has_model) {
    error = Error{ErrorCode::missing_field, "you must provide a model parameter", "model"};
    return false;
  }
  if (!has_payload) {
    error = Error{ErrorCode::missing_field, "you must provide a " + std::string(payload_name) + " parameter",
                  std::string(payload_name)};
    return false;
  }
  fields.object_end = body.find_last_of('}');
  return true;
}

void add_continuation_splice(const RequestFields& fields, std::string_view partial, std::vector<Splice>& splices) {
  std::string message = fields.messages_empty ? R"({"role":"assistant","content":)" : R"(,{"role":"assistant","content":)";
  append_json_string(message, partial);
  message += '}';
  splices.push_back({fields.messages_end, 0, std::move(message)});
  std::sort(splices.begin(), splices.end(), [](const Splice& a, const Splice& b) { return a.offset < b.offset; });
}

std::vector<Splice> upstream_body_splices(const RequestFields& fields, std::string_view upstream_model_json,
                                          bool force_usage) {
  std::vector<Splice> splices;
  splices.push_back({fields.model_offset, fields.model_length, std::string(upstream_model_json)});
  if (force_usage && !fields.include_usage) {
    if (fields.stream_options_null) {
      splices.push_back({fields.stream_options_offset, fields.stream_options_length, R"({"include_usage":true})"});
    } else if (!fields.has_stream_options) {
      splices.push_back({fields.object_end, 0, R"(,"stream_options":{"include_usage":true})"});
    } else if (fields.include_usage_length > 0) {  // "include_usage": false
      splices.push_back({fields.stream_options_offset + fields.include_usage_offset, fields.include_usage_length, "true"});
    } else {  // other members only: add ours first
      splices.push_back({fields.stream_options_offset + 1, 0,
                         fields.stream_options_empty ? R"("include_usage":true)" : R"("include_usage":true,)"});
    }
  }
  std::sort(splices.begin(), splices.end(), [](const Splice& a, const Splice& b) { return a.offset < b.offset; });
  return splices;
}

}  // namespace baton::api::openai
