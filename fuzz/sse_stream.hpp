// An upstream's SSE stream: the parser fed in socket-sized pieces must yield exactly the events
// it yields from the whole stream at once, and each event's data goes through the chunk readers
// the relay and usage accounting use. Byte 0 picks the cuts; the rest is the stream.
#pragma once

#include "fuzz_check.hpp"

#include "api/openai/usage.hpp"
#include "core/sse.hpp"

namespace baton::fuzz {

namespace sse_stream_detail {

struct Event {
  std::string event;
  std::string data;
  bool operator==(const Event&) const = default;
};

inline void drain(SseParser& parser, std::vector<Event>& events) {
  SseEvent event;
  while (parser.next(event)) {
    events.push_back({std::string(event.event), std::string(event.data)});
    const std::string_view data = event.data;
    api::openai::ChunkFacts chunk;
    api::openai::read_chunk_facts(data, chunk);
    api::openai::DeltaFacts delta;
    if (api::openai::read_delta_facts(data, delta)) {
      BATON_FUZZ_CHECK(delta.id_offset + delta.id_length <= data.size());
      BATON_FUZZ_CHECK(delta.content_offset + delta.content_length <= data.size());
    }
    api::openai::Usage usage;
    api::openai::read_answer_usage(data, usage);
  }
}

}  // namespace sse_stream_detail

inline int sse_stream(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view stream(reinterpret_cast<const char*>(data) + 1, size - 1);

  std::vector<sse_stream_detail::Event> whole;
  SseParser at_once;
  at_once.append(stream);
  sse_stream_detail::drain(at_once, whole);

  std::vector<sse_stream_detail::Event> pieces;
  SseParser piecewise;
  for (const std::string_view piece : split_pieces(stream, data[0])) {
    piecewise.append(piece);
    sse_stream_detail::drain(piecewise, pieces);
    if (pieces.size() % 4 == 3) piecewise.release_memory();
  }
  BATON_FUZZ_CHECK(pieces == whole);
  BATON_FUZZ_CHECK(piecewise.pending_bytes() == at_once.pending_bytes());
  BATON_FUZZ_CHECK(at_once.pending_bytes() <= stream.size());
  return 0;
}

}  // namespace baton::fuzz
