#include "api/openai/usage.hpp"

#include <simdjson.h>

#include <cstddef>
#include <cstring>
#include <string>

#include "core/json_text.hpp"

namespace baton::api::openai {

namespace sj = simdjson;
namespace od = simdjson::ondemand;

namespace {
// {"prompt_tokens": N, "completion_tokens": M} (or Anthropic's input/output_tokens) into `usage`.
bool read_usage_object(od::object& counts, Usage& usage) {
  for (auto item : counts) {
    std::string_view name;
    std::int64_t value = 0;
    if (item.unescaped_key().get(name) != sj::SUCCESS) return false;
    if (name == "prompt_tokens" || name == "input_tokens") {
      if (item.value().get_int64().get(value) == sj::SUCCESS) usage.input_tokens = value;
    } else if (name == "completion_tokens" || name == "output_tokens") {
      if (item.value().get_int64().get(value) == sj::SUCCESS) usage.output_tokens = value;
    } else if (name == "prompt_tokens_details") {
      od::object details;
      if (item.value().get_object().get(details) != sj::SUCCESS) continue;
      for (auto detail : details) {
        std::string_view detail_name;
        if (detail.unescaped_key().get(detail_name) != sj::SUCCESS) return false;
        if (detail_name == "cached_tokens" && detail.value().get_int64().get(value) == sj::SUCCESS) {
          usage.cached_input_tokens = value;
        }
      }
    } else if (name == "cache_read_input_tokens") {  // Anthropic's spelling
      if (item.value().get_int64().get(value) == sj::SUCCESS) usage.cached_input_tokens = value;
    }
  }
  return true;
}

// One chunk at a time per thread (the readers below never nest): parses `json` as an object with
// this thread's parser. `text` is the padded copy that offsets into the chunk refer to.
bool open_object(std::string_view json, std::string_view& text, od::document& doc, od::object& root) {
  thread_local od::parser parser;
  thread_local std::string scratch;
  const PaddedJson padded = padded_for_simdjson(json, scratch);
  text = padded.text;
  return parser.iterate(text.data(), text.size(), padded.allocated).get(doc) == sj::SUCCESS &&
         doc.get_object().get(root) == sj::SUCCESS;
}
}  // namespace

bool may_carry_usage(std::string_view json) {
  // Not string_view::find: it stops at every '"' of the needle's first byte, dozens per chunk, and
  // that was a third of a stream's instructions. 'u' is rare in chunk JSON, so look for it and check
  // what surrounds it.
  constexpr std::string_view kWord = "usage\"";
  const char* const begin = json.data();
  const char* const end = begin + json.size();
  const char* at = begin;
  while (end - at >= static_cast<std::ptrdiff_t>(kWord.size())) {
    at = static_cast<const char*>(std::memchr(at, 'u', static_cast<std::size_t>(end - at)));
    if (at == nullptr || end - at < static_cast<std::ptrdiff_t>(kWord.size())) return false;
    if (at != begin && at[-1] == '"' && std::string_view(at, kWord.size()) == kWord) return true;
    ++at;
  }
  return false;
}

bool read_chunk_facts(std::string_view json, ChunkFacts& facts) {
  std::string_view text;
  od::document doc;
  od::object root;
  if (!open_object(json, text, doc, root)) return false;
  for (auto field : root) {
    std::string_view key;
    if (field.unescaped_key().get(key) != sj::SUCCESS) return false;
    if (key == "usage") {
      od::object usage;
      if (field.value().get_object().get(usage) != sj::SUCCESS) continue;  // "usage": null
      facts.has_usage = true;
      if (!read_usage_object(usage, facts.usage)) return false;
    } else if (key == "choices") {
      od::array choices;
      std::size_t count = 0;
      if (field.value().get_array().get(choices) == sj::SUCCESS && choices.count_elements().get(count) == sj::SUCCESS) {
        facts.empty_choices = count == 0;
      }
    }
  }
  return true;
}

namespace {
bool read_padded_answer_usage(const PaddedJson& padded, Usage& usage) {
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(padded.text.data(), padded.text.size(), false).get(root) != sj::SUCCESS) return false;
  simdjson::dom::object answer;
  if (root.get_object().get(answer) != sj::SUCCESS) return false;
  simdjson::dom::object counts;
  if (answer["usage"].get_object().get(counts) == sj::SUCCESS) {
    std::int64_t value = 0;
    if (counts["prompt_tokens"].get_int64().get(value) == sj::SUCCESS) usage.input_tokens = value;
    if (counts["completion_tokens"].get_int64().get(value) == sj::SUCCESS) usage.output_tokens = value;
    if (counts["prompt_tokens_details"]["cached_tokens"].get_int64().get(value) == sj::SUCCESS) {
      usage.cached_input_tokens = value;
    }
  }
  return true;
}
}  // namespace

bool read_answer_usage(std::string_view json, Usage& usage) {
  thread_local std::string scratch;
  return read_padded_answer_usage(padded_for_simdjson(json, scratch), usage);
}

bool read_answer_usage(const std::string& json, Usage& usage) {
  thread_local std::string scratch;
  return read_padded_answer_usage(padded_for_simdjson(json, scratch), usage);
}

bool read_delta_facts(std::string_view json, DeltaFacts& facts) {
  std::string_view text;
  od::document doc;
  od::object root;
  if (!open_object(json, text, doc, root)) return false;
  for (auto field : root) {
    std::string_view key;
    od::value value;
    if (field.unescaped_key().get(key) != sj::SUCCESS || field.value().get(value) != sj::SUCCESS) return false;
    if (key == "id") {
      const std::string_view token = value.raw_json_token();
      facts.id_offset = static_cast<std::size_t>(token.data() - text.data());
      facts.id_length = token.find_last_of('"') + 1;
    } else if (key == "choices") {
      od::array choices;
      if (value.get_array().get(choices) != sj::SUCCESS) continue;
      facts.empty_choices = true;
      for (auto choice_value : choices) {
        facts.empty_choices = false;
        od::object choice;
        if (choice_value.get_object().get(choice) != sj::SUCCESS) break;
        for (auto item : choice) {
          std::string_view name;
          if (item.unescaped_key().get(name) != sj::SUCCESS) return false;
          if (name == "index") {
            std::uint64_t index = 0;
            if (item.value().get_uint64().get(index) == sj::SUCCESS) facts.choice_index = static_cast<std::uint32_t>(index);
          } else if (name == "finish_reason") {
            bool is_null = true;
            if (item.value().is_null().get(is_null) == sj::SUCCESS && !is_null) facts.finished = true;
          } else if (name == "delta") {
            od::object delta;
            if (item.value().get_object().get(delta) != sj::SUCCESS) continue;
            for (auto part : delta) {
              std::string_view part_name;
              if (part.unescaped_key().get(part_name) != sj::SUCCESS) return false;
              if (part_name == "content") {
                od::value content_value;
                if (part.value().get(content_value) != sj::SUCCESS) return false;
                const std::string_view token = content_value.raw_json_token();
                std::string_view content;
                if (content_value.get_string().get(content) == sj::SUCCESS) {
                  facts.content.assign(content);
                  facts.content_offset = static_cast<std::size_t>(token.data() - text.data());
                  facts.content_length = token.find_last_of('"') + 1;
                }
              } else if (part_name == "tool_calls" || part_name == "function_call") {
                bool is_null = true;
                if (part.value().is_null().get(is_null) == sj::SUCCESS && !is_null) facts.tool_calls = true;
              }
            }
          }
        }
        break;  // only the first choice is continued (n > 1 streams are not continued)
      }
    } else if (key == "usage") {
      od::object usage;
      if (value.get_object().get(usage) != sj::SUCCESS) continue;
      facts.has_usage = true;
      if (!read_usage_object(usage, facts.usage)) return false;
    }
  }
  return true;
}

}  // namespace baton::api::openai
