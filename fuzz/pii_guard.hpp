// The PII guard end to end on a request body: decide() under a policy that redacts every type,
// then the three ways answers are restored. Input: byte 0 picks the request format (% 3) and how
// the stream restorer's input is cut (/ 3); the rest is the body.
#pragma once

#include "fuzz_check.hpp"

#include <memory>

#include "guard/policy.hpp"
#include "guard/redaction.hpp"
#include "guard/request_texts.hpp"
#include "guard/scanner.hpp"
#include "guard/validators.hpp"

namespace baton::fuzz {

inline int pii_guard(const std::uint8_t* data, std::size_t size) {
  using namespace baton::guard;
  static const std::unique_ptr<Scanner> scanner = Scanner::create(validate::CivilDate{2025, 6, 1});
  BATON_FUZZ_CHECK(scanner != nullptr);
  if (size == 0) return 0;
  constexpr RequestFormat kFormats[] = {RequestFormat::openai_chat, RequestFormat::anthropic_messages,
                                        RequestFormat::openai_embeddings};
  const RequestFormat format = kFormats[data[0] % 3];
  const auto selector = static_cast<std::uint8_t>(data[0] / 3);
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);

  Policy policy;
  policy.default_action = Action::redact;
  Decision decision;
  if (!decide(*scanner, policy, body, decision, format)) return 0;  // refused: nothing to restore

  BATON_FUZZ_CHECK(decision.action == (decision.total_findings() > 0 ? Action::redact : Action::allow));
  BATON_FUZZ_CHECK(decision.redact == (decision.total_findings() > 0));
  BATON_FUZZ_CHECK(!decision.pin);
  if (!decision.redact) {
    BATON_FUZZ_CHECK(decision.splices.empty());
    return 0;
  }
  BATON_FUZZ_CHECK(decision.redaction != nullptr);
  const Redaction& redaction = *decision.redaction;
  std::size_t cursor = 0;
  for (const BodySplice& splice : decision.splices) {  // documented: sorted, non-overlapping
    BATON_FUZZ_CHECK(splice.offset >= cursor && splice.offset + splice.length <= body.size());
    cursor = splice.offset + splice.length;
  }
  const std::string redacted = apply_splices(body, decision.splices);

  // The forwarded body has the same texts, and restoring each gives back the client's text
  // (decide() reserves placeholder-shaped text of every message first, so none is confused).
  std::vector<RequestText> original;
  std::vector<RequestText> forwarded;
  BATON_FUZZ_CHECK(extract_request_texts(body, format, original));
  BATON_FUZZ_CHECK(extract_request_texts(redacted, format, forwarded));
  BATON_FUZZ_CHECK(original.size() == forwarded.size());
  for (std::size_t i = 0; i < original.size(); ++i) {
    BATON_FUZZ_CHECK(redaction.restore(forwarded[i].text) == original[i].text);
  }

  // An answer that quotes the forwarded JSON comes back as JSON with the client's texts in it.
  const std::string restored_json = restore_in_json(redacted, redaction);
  std::vector<RequestText> restored;
  BATON_FUZZ_CHECK(extract_request_texts(restored_json, format, restored));
  BATON_FUZZ_CHECK(restored.size() == original.size());
  for (std::size_t i = 0; i < original.size(); ++i) BATON_FUZZ_CHECK(restored[i].text == original[i].text);

  // Streamed in any cuts, the restorer's output is restore() of the whole (documented contract).
  StreamRestorer restorer(redaction);
  std::string streamed;
  for (const std::string_view piece : split_pieces(redacted, selector)) streamed += restorer.feed(piece);
  streamed += restorer.finish();
  BATON_FUZZ_CHECK(streamed == redaction.restore(redacted));
  return 0;
}

}  // namespace baton::fuzz
