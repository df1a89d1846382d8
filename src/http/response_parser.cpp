#include "http/response_parser.hpp"

#include <algorithm>
#include <array>
#include <cstring>

#include "core/ascii.hpp"
#include "core/json_text.hpp"

namespace baton::http {

namespace {

// The most a Content-Length may make the parser reserve up front (larger bodies grow as read).
constexpr std::uint64_t kMaxReserve = 1024 * 1024;

// RFC 9110 tchar: what a field name is made of.
constexpr std::array<bool, 256> make_token_table() {
  std::array<bool, 256> table{};
  for (int c = '0'; c <= '9'; ++c) table[static_cast<std::size_t>(c)] = true;
  for (int c = 'a'; c <= 'z'; ++c) table[static_cast<std::size_t>(c)] = true;
  for (int c = 'A'; c <= 'Z'; ++c) table[static_cast<std::size_t>(c)] = true;
  for (const char c : std::string_view("!#$%&'*+-.^_`|~")) table[static_cast<unsigned char>(c)] = true;
  return table;
}
constexpr std::array<bool, 256> kTokenChar = make_token_table();

bool is_token(std::string_view text) {
  if (text.empty()) return false;
  return std::all_of(text.begin(), text.end(), [](char c) { return kTokenChar[static_cast<unsigned char>(c)]; });
}

// Field values and reason phrases: visible bytes, spaces, tabs and obs-text; no other control byte
// (a bare CR among them is how response splitting starts). Eight bytes at a time while none is
// below 0x20 or DEL.
bool is_field_text(std::string_view text) {
  std::size_t i = 0;
  for (; i + 8 <= text.size(); i += 8) {
    const std::uint64_t word = load_word(text.data() + i);
    if ((bytes_below(word, 0x20) | zero_bytes(word ^ (kByteOnes * 0x7f))) != 0) break;
  }
  for (; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if ((byte < 0x20 && byte != '\t') || byte == 0x7f) return false;
  }
  return true;
}

// Calls `each(token)` for every element of a comma-separated list (empty elements skipped, as
// RFC 9110 §5.6.1 asks of recipients).
template <class Each>
void for_each_list_item(std::string_view list, Each&& each) {
  while (!list.empty()) {
    const std::size_t comma = list.find(',');
    const std::string_view item = trim_ows(list.substr(0, comma));
    if (!item.empty()) each(item);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
}

// The line starting at `in` (CRLF excluded) and its length with the CRLF. Without one, `ec` says
// why: bad_line_ending for a LF without its CR, `too_long` when no line can end within the limit
// any more (`over_limit`), need_more otherwise.
struct Line {
  std::string_view text;
  std::size_t length = 0;
};
std::optional<Line> next_line(std::string_view in, bool over_limit, bhttp::error too_long, error_code& ec) {
  const void* found = std::memchr(in.data(), '\n', in.size());
  if (found == nullptr) {
    ec = over_limit ? too_long : bhttp::error::need_more;
    return std::nullopt;
  }
  const std::size_t newline = static_cast<std::size_t>(static_cast<const char*>(found) - in.data());
  if (newline == 0 || in[newline - 1] != '\r') {
    ec = bhttp::error::bad_line_ending;
    return std::nullopt;
  }
  return Line{in.substr(0, newline - 1), newline + 1};
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Folds to lower case eight bytes at a time: OR-ing 0x20 lowers A-Z, and the only other bytes it
// turns into a letter or '-' are control bytes (CR becomes '-'), which neither a token nor checked
// field text holds. So for those it is exact against a lower-case name made of letters and '-'.
bool token_equals_lower(std::string_view token, std::string_view lower) {
  if (token.size() != lower.size() || token.size() < 8) return token.size() == lower.size() && ascii_iequals(token, lower);
  constexpr std::uint64_t kFold = kByteOnes * 0x20;
  for (std::size_t i = 0; i + 8 <= token.size(); i += 8) {
    if ((load_word(token.data() + i) | kFold) != load_word(lower.data() + i)) return false;
  }
  const std::size_t last = token.size() - 8;  // the tail, overlapping the words already compared
  return (load_word(token.data() + last) | kFold) == load_word(lower.data() + last);
}

}  // namespace

// The fields that decide framing or are relayed; the rest are skipped.
ResponseParser::Field ResponseParser::known_field(std::string_view name) {
  switch (name.size()) {
    case 10:
      return token_equals_lower(name, "connection") ? Field::connection : Field::other;
    case 11:
      return token_equals_lower(name, "retry-after") ? Field::retry_after : Field::other;
    case 12:
      return token_equals_lower(name, "content-type") ? Field::content_type : Field::other;
    case 14:
      return token_equals_lower(name, "content-length") ? Field::content_length : Field::other;
    case 17:
      return token_equals_lower(name, "transfer-encoding") ? Field::transfer_encoding : Field::other;
    default:
      return Field::other;
  }
}

std::size_t ResponseParser::put(asio::const_buffer bytes, error_code& ec) {
  ec = {};
  const std::string_view in(static_cast<const char*>(bytes.data()), bytes.size());
  if (!in.empty()) got_some_ = true;
  std::size_t used = 0;
  // Bytes after the end of the response belong to no response of ours: they stay unused.
  while (used < in.size() && state_ != State::done) {
    const std::size_t n = step(in.substr(used), ec);
    used += n;
    if (ec || n == 0) break;
  }
  return used;
}

std::size_t ResponseParser::step(std::string_view rest, error_code& ec) {
  switch (state_) {
    case State::head:
      return parse_head(rest, ec);
    case State::sized_body:
      return take_body(rest, State::done);
    case State::chunk_size:
      return parse_chunk_size(rest, ec);
    case State::chunk_data:
      return take_body(rest, State::chunk_end);
    case State::chunk_end:
      // The CRLF after a chunk's data: taken whole or not at all.
      if (rest.size() < 2) {
        ec = bhttp::error::need_more;
        return 0;
      }
      if (rest[0] != '\r' || rest[1] != '\n') {
        ec = bhttp::error::bad_chunk;
        return 0;
      }
      state_ = State::chunk_size;
      return 2;
    case State::trailers:
      return parse_trailers(rest, ec);
    case State::until_close:
      body_.append(rest);
      return rest.size();
    case State::done:
      break;
  }
  return 0;
}

std::size_t ResponseParser::take_body(std::string_view rest, State then) {
  const std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, rest.size()));
  body_.append(rest.data(), take);
  remaining_ -= take;
  if (remaining_ == 0) state_ = then;
  return take;
}

void ResponseParser::put_eof(error_code& ec) {
  ec = {};
  if (state_ == State::until_close) {
    state_ = State::done;
  } else if (state_ != State::done) {
    ec = bhttp::error::partial_message;
  }
}

std::size_t ResponseParser::parse_head(std::string_view in, error_code& ec) {
  // Lines are read as they complete, but none is used until the blank line ends the head (the
  // caller passes the same bytes again, followed by more); head_parsed_ marks how far they were read.
  std::size_t at = head_parsed_;
  while (true) {
    const std::optional<Line> line = next_line(in.substr(at), in.size() > kHeaderLimit, bhttp::error::header_limit, ec);
    if (!line) return 0;
    if (at + line->length > kHeaderLimit) {
      ec = bhttp::error::header_limit;
      return 0;
    }
    if (at == 0) {
      if (!read_status_line(line->text)) {
        ec = bhttp::error::bad_status;
        return 0;
      }
    } else if (line->text.empty()) {
      break;
    } else if (!read_field(line->text, ec)) {
      return 0;
    }
    at += line->length;
    head_parsed_ = at;
  }
  if (transfer_encoding_ && content_length_) {
    ec = bhttp::error::bad_transfer_encoding;  // two framings: trusting either invites smuggling
    return 0;
  }
  start_body();
  return head_parsed_ + 2;
}

bool ResponseParser::read_status_line(std::string_view line) {
  // HTTP/1.x SP 3DIGIT [SP reason]
  constexpr std::string_view kPrefix = "HTTP/1.";
  if (line.size() < 12 || !line.starts_with(kPrefix) || (line[7] != '0' && line[7] != '1') || line[8] != ' ') return false;
  minor_version_ = static_cast<std::uint8_t>(line[7] - '0');
  unsigned code = 0;
  for (std::size_t i = 9; i < 12; ++i) {
    if (line[i] < '0' || line[i] > '9') return false;
    code = code * 10 + static_cast<unsigned>(line[i] - '0');
  }
  if (code < 100) return false;
  if (line.size() > 12 && (line[12] != ' ' || !is_field_text(line.substr(13)))) return false;
  status_ = code;
  return true;
}

bool ResponseParser::read_field(std::string_view line, error_code& ec) {
  // The name: token bytes up to the colon, with no whitespace before it.
  const std::size_t colon = line.find(':');
  if (colon == std::string_view::npos || !is_token(line.substr(0, colon))) {
    // A line that starts with whitespace continues the previous one: folding is obsolete and no
    // upstream of ours folds.
    ec = line.front() == ' ' || line.front() == '\t' ? bhttp::error::bad_obs_fold : bhttp::error::bad_field;
    return false;
  }
  const std::string_view name = line.substr(0, colon);
  const Field field = known_field(name);
  // Fields baton does not act on are neither read nor forwarded, so their values are not examined
  // either (RFC 9112 §2.2 lets a recipient treat a bare CR there as a space).
  if (field == Field::other) return true;
  const std::string_view value = trim_ows(line.substr(colon + 1));
  if (!is_field_text(value)) {
    ec = bhttp::error::bad_value;
    return false;
  }
  switch (field) {
    case Field::connection:
      if (token_equals_lower(value, "keep-alive")) {  // the usual value, without walking a list
        connection_keep_alive_ = true;
        break;
      }
      for_each_list_item(value, [&](std::string_view option) {
        if (ascii_iequals(option, "close")) connection_close_ = true;
        if (ascii_iequals(option, "keep-alive")) connection_keep_alive_ = true;
      });
      break;
    case Field::retry_after:
      retry_after_.assign(value);
      break;
    case Field::content_type:
      content_type_.assign(value);
      break;
    case Field::content_length: {
      if (content_length_ || value.empty() || value.size() > 19) {
        ec = bhttp::error::bad_content_length;  // a second length, even an equal one, is refused
        return false;
      }
      std::uint64_t length = 0;
      for (const char c : value) {
        if (c < '0' || c > '9') {
          ec = bhttp::error::bad_content_length;
          return false;
        }
        length = length * 10 + static_cast<std::uint64_t>(c - '0');
      }
      content_length_ = length;
      break;
    }
    case Field::transfer_encoding:
      // Only chunked, once: baton decodes no other transfer coding (none is seen in practice), and
      // anything else (a coding after chunked, chunked twice, a second field) leaves the framing
      // in doubt.
      if (transfer_encoding_ || !ascii_iequals(value, "chunked")) {
        ec = bhttp::error::bad_transfer_encoding;
        return false;
      }
      transfer_encoding_ = true;
      break;
    case Field::other:
      break;
  }
  return true;
}

void ResponseParser::start_body() {
  keep_alive_ = !connection_close_ && (minor_version_ == 1 || connection_keep_alive_);
  if ((status_ >= 100 && status_ < 200) || status_ == 204 || status_ == 304) {
    state_ = State::done;  // no body, whatever the fields say
  } else if (transfer_encoding_) {
    state_ = State::chunk_size;
  } else if (content_length_) {
    remaining_ = *content_length_;
    state_ = remaining_ == 0 ? State::done : State::sized_body;
    // A sized answer (the usual JSON one) gets its whole length at once, plus simdjson's padding
    // so the answer is validated where it is. Callers bound what they keep; so does this.
    if (remaining_ > 0 && remaining_ <= kMaxReserve) body_.reserve(static_cast<std::size_t>(remaining_) + kJsonPadding);
  } else {
    state_ = State::until_close;
  }
  if (state_ == State::until_close) keep_alive_ = false;
}

std::size_t ResponseParser::parse_chunk_size(std::string_view in, error_code& ec) {
  // chunk-size [BWS ; extensions] CRLF: the extensions are skipped (nothing baton uses).
  const std::optional<Line> line = next_line(in.substr(0, std::min(in.size(), kChunkLineLimit)),
                                             in.size() >= kChunkLineLimit, bhttp::error::bad_chunk, ec);
  if (!line) return 0;
  const std::string_view text = line->text;
  std::uint64_t size = 0;
  std::size_t digits = 0;
  while (digits < text.size() && hex_value(text[digits]) >= 0) {
    if (digits == 16) {
      ec = bhttp::error::bad_chunk;  // more than 64 bits
      return 0;
    }
    size = size * 16 + static_cast<std::uint64_t>(hex_value(text[digits]));
    ++digits;
  }
  // Whitespace may only come before an extension's ';' (RFC 9112 §7.1.1's BWS).
  std::string_view after = text.substr(digits);
  while (!after.empty() && (after.front() == ' ' || after.front() == '\t')) after.remove_prefix(1);
  const bool only_whitespace = after.empty() && digits < text.size();
  if (digits == 0 || only_whitespace || (!after.empty() && after.front() != ';') || !is_field_text(after)) {
    ec = bhttp::error::bad_chunk;
    return 0;
  }
  remaining_ = size;
  state_ = size == 0 ? State::trailers : State::chunk_data;
  return line->length;
}

std::size_t ResponseParser::parse_trailers(std::string_view in, error_code& ec) {
  // Trailer fields up to the blank line; baton reads none of them, but each must be well formed.
  std::size_t used = 0;
  while (true) {
    const std::optional<Line> line =
        next_line(in.substr(used), trailer_bytes_ + in.size() - used > kHeaderLimit, bhttp::error::header_limit, ec);
    if (!line) return used;
    used += line->length;
    trailer_bytes_ += line->length;
    if (line->text.empty()) {
      state_ = State::done;
      return used;
    }
    const std::size_t colon = line->text.find(':');
    if (colon == std::string_view::npos || !is_token(line->text.substr(0, colon)) ||
        !is_field_text(line->text.substr(colon + 1)) || trailer_bytes_ > kHeaderLimit) {
      ec = trailer_bytes_ > kHeaderLimit ? bhttp::error::header_limit : bhttp::error::bad_field;
      return used;
    }
  }
}

}  // namespace baton::http
