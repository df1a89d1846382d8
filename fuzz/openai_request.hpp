// An OpenAI request body as a client sends it: the fields baton reads (both endpoints), the
// splices that make the upstream's body, and the texts the guard scans.
#pragma once

#include "fuzz_check.hpp"

#include <boost/json/parse.hpp>

#include "api/openai/request_fields.hpp"
#include "guard/request_texts.hpp"

namespace baton::fuzz {

namespace openai_request_detail {

inline std::string apply(const std::string& body, const std::vector<api::openai::Splice>& splices) {
  std::string out;
  std::size_t cursor = 0;
  for (const api::openai::Splice& s : splices) {
    // What proxy.cpp relies on when it writes the body as buffers: sorted, disjoint, in range.
    BATON_FUZZ_CHECK(s.offset >= cursor);
    BATON_FUZZ_CHECK(s.offset + s.length <= body.size());
    out.append(body, cursor, s.offset - cursor);
    out += s.text;
    cursor = s.offset + s.length;
  }
  out.append(body, cursor);
  return out;
}

}  // namespace openai_request_detail

inline int openai_request(const std::uint8_t* data, std::size_t size) {
  namespace oa = api::openai;
  const std::string body(reinterpret_cast<const char*>(data), size);

  for (const oa::Endpoint endpoint : {oa::Endpoint::chat_completions, oa::Endpoint::embeddings}) {
    oa::RequestFields fields;
    Error error;
    if (!oa::inspect_request(body, endpoint, fields, error)) {
      BATON_FUZZ_CHECK(!error.message.empty());
      continue;
    }
    BATON_FUZZ_CHECK(fields.model_offset + fields.model_length <= body.size());
    BATON_FUZZ_CHECK(fields.model_length >= 2 && body[fields.model_offset] == '"' &&
                     body[fields.model_offset + fields.model_length - 1] == '"');
    BATON_FUZZ_CHECK(fields.object_end < body.size() && body[fields.object_end] == '}');
    if (endpoint != oa::Endpoint::chat_completions) continue;
    BATON_FUZZ_CHECK(fields.messages_end < body.size() && body[fields.messages_end] == ']');

    // inspect_request reads on demand and does not validate what it skips, so a body that is not
    // JSON may pass and is forwarded as it came (the upstream rejects it). A valid body must stay
    // valid: the upstream body is a request baton accepts, naming the upstream model, asking for
    // usage when forced, and (for a continuation) with a non-empty messages array.
    boost::system::error_code json_ec;
    boost::json::parse(body, json_ec);
    if (json_ec) continue;
    for (const bool force_usage : {false, true}) {
      for (const bool continuation : {false, true}) {
        std::vector<oa::Splice> splices = oa::upstream_body_splices(fields, R"("up\"stream")", force_usage);
        if (continuation) oa::add_continuation_splice(fields, "partial \"answer\"\n", splices);
        const std::string upstream = openai_request_detail::apply(body, splices);
        boost::json::parse(upstream, json_ec);
        BATON_FUZZ_CHECK(!json_ec);
        oa::RequestFields again;
        Error again_error;
        BATON_FUZZ_CHECK(oa::inspect_request(upstream, endpoint, again, again_error));
        BATON_FUZZ_CHECK(again.model == "up\"stream");
        BATON_FUZZ_CHECK(again.stream == fields.stream);
        if (force_usage) BATON_FUZZ_CHECK(again.include_usage);
        if (continuation) BATON_FUZZ_CHECK(!again.messages_empty);
      }
    }
  }

  for (const guard::RequestFormat format : {guard::RequestFormat::openai_chat, guard::RequestFormat::anthropic_messages,
                                            guard::RequestFormat::openai_embeddings}) {
    std::vector<guard::RequestText> texts;
    if (!guard::extract_request_texts(body, format, texts)) continue;
    std::size_t previous_end = 0;
    for (const guard::RequestText& text : texts) {
      // Each text's token lies in the body, in body order, quotes included.
      BATON_FUZZ_CHECK(text.offset >= previous_end);
      BATON_FUZZ_CHECK(text.length >= 2 && text.offset + text.length <= body.size());
      BATON_FUZZ_CHECK(body[text.offset] == '"' && body[text.offset + text.length - 1] == '"');
      previous_end = text.offset + text.length;
    }
  }
  return 0;
}

}  // namespace baton::fuzz
