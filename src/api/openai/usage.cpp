#include "api/openai/usage.hpp"

#include <simdjson.h>

#include <string>

#include "core/json_text.hpp"

namespace baton::api::openai {

namespace sj = simdjson;
namespace od = simdjson::ondemand;

bool read_chunk_facts(std::string_view json, ChunkFacts& facts) {
  thread_local od::parser parser;
  thread_local std::string scratch;
  const std::string_view text = padded_for_simdjson(json, scratch);
  od::document doc;
  od::object root;
  if (parser.iterate(text.data(), text.size(), scratch.capacity()).get(doc) != sj::SUCCESS ||
      doc.get_object().get(root) != sj::SUCCESS) {
    return false;
  }
  for (auto field : root) {
    std::string_view key;
    if (field.unescaped_key().get(key) != sj::SUCCESS) return false;
    if (key == "usage") {
      od::object usage;
      if (field.value().get_object().get(usage) != sj::SUCCESS) continue;  // "usage": null
      facts.has_usage = true;
      for (auto item : usage) {
        std::string_view name;
        std::int64_t value = 0;
        if (item.unescaped_key().get(name) != sj::SUCCESS) return false;
        if (name == "prompt_tokens" || name == "input_tokens") {
          if (item.value().get_int64().get(value) == sj::SUCCESS) facts.usage.input_tokens = value;
        } else if (name == "completion_tokens" || name == "output_tokens") {
          if (item.value().get_int64().get(value) == sj::SUCCESS) facts.usage.output_tokens = value;
        }
      }
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

}  // namespace baton::api::openai
