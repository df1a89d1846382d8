#include "core/sse.hpp"

namespace baton {

void SseParser::append(std::string_view bytes) {
  // Compact lazily: consumed bytes are dropped only when new bytes arrive, which keeps views handed
  // out by next() valid until this call.
  if (pos_ > 0) {
    buffer_.erase(0, pos_);
    pos_ = 0;
  }
  buffer_.append(bytes);
}

bool SseParser::next(SseEvent& out) {
  // The shape nearly every upstream sends, "data: {...}\n\n", takes one search for the newline;
  // anything else (names, comments, several data lines, CRLF) goes the general way.
  const std::string_view rest = std::string_view(buffer_).substr(pos_);
  if (rest.starts_with("data:")) {
    const std::size_t newline = rest.find('\n', 5);
    if (newline != std::string_view::npos && newline + 1 < rest.size() && rest[newline + 1] == '\n' &&
        rest[newline - 1] != '\r') {
      std::string_view value = rest.substr(5, newline - 5);
      if (value.starts_with(' ')) value.remove_prefix(1);
      pos_ += newline + 2;
      out.event = {};
      out.data = value;
      return true;
    }
  }
  std::size_t cursor = pos_;
  std::string_view event_name;
  std::string_view first_data;
  bool has_data = false;
  bool joined = false;
  while (true) {
    const std::size_t newline = buffer_.find('\n', cursor);
    if (newline == std::string::npos) return false;  // incomplete event: wait for more bytes
    std::string_view line(buffer_.data() + cursor, newline - cursor);
    cursor = newline + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) {
      if (!has_data && event_name.empty()) {
        pos_ = cursor;  // stray blank line between events
        continue;
      }
      pos_ = cursor;
      out.event = event_name;
      out.data = joined ? std::string_view(joined_data_) : first_data;
      return true;
    }
    if (line.front() == ':') continue;  // comment / keep-alive
    const std::size_t colon = line.find(':');
    std::string_view field = line.substr(0, colon);
    std::string_view value = colon == std::string_view::npos ? std::string_view{} : line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    if (field == "data") {
      if (!has_data) {
        first_data = value;
        has_data = true;
      } else {
        if (!joined) {
          joined_data_.assign(first_data);
          joined = true;
        }
        joined_data_.push_back('\n');
        joined_data_.append(value);
      }
    } else if (field == "event") {
      event_name = value;
    }
    // "id" and "retry" are not needed by the relay.
  }
}

void SseParser::release_memory() {
  buffer_.erase(0, pos_);
  pos_ = 0;
  buffer_.shrink_to_fit();
  joined_data_.clear();
  joined_data_.shrink_to_fit();
}

void append_sse_data(std::string& out, std::string_view payload) {
  out += "data: ";
  out += payload;
  out += "\n\n";
}

}  // namespace baton
