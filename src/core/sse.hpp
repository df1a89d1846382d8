#pragma once
// Server-Sent Events: an incremental parser for upstream streams and the framing baton writes.
// The parser is pull-based so the relay loop stays a plain loop: append() what arrived, then call
// next() until it returns false. Views handed out stay valid until the next append().
#include <cstddef>
#include <string>
#include <string_view>

namespace baton {

struct SseEvent {
  std::string_view event;  // empty for the default "message" event
  std::string_view data;   // data lines joined with '\n'
};

class SseParser {
 public:
  // An upstream that sends an unterminated event larger than this is treated as garbage.
  static constexpr std::size_t kMaxPendingBytes = 4 * 1024 * 1024;

  void append(std::string_view bytes);
  // Returns the next complete event, or false when more bytes are needed.
  bool next(SseEvent& out);
  // True when the buffered, incomplete input exceeds kMaxPendingBytes.
  bool overflowed() const { return buffer_.size() - pos_ > kMaxPendingBytes; }
  // Drops consumed bytes and spare capacity (call while idle; invalidates views).
  void release_memory();
  // Bytes received but not yet part of a complete event (a stream that ends here was cut).
  std::size_t pending_bytes() const { return buffer_.size() - pos_; }

 private:
  std::string buffer_;
  std::size_t pos_ = 0;     // start of the first unconsumed line
  std::string joined_data_;  // only used when an event has several data lines
};

// Appends "data: <payload>\n\n".
void append_sse_data(std::string& out, std::string_view payload);

}  // namespace baton
