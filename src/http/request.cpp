#include "http/request.hpp"

#include "core/ascii.hpp"
#include "core/json_text.hpp"

namespace baton::http {

void RequestParser::keep_first(Header header, std::string& slot, beast::string_view value) {
  const auto bit = static_cast<std::uint8_t>(1U << static_cast<unsigned>(header));
  if ((seen_ & bit) != 0) return;
  seen_ |= bit;
  slot.assign(value.data(), value.size());
}

void RequestParser::on_request_impl(bhttp::verb method, beast::string_view method_string, beast::string_view target,
                                    int version, error_code&) {
  request_.method_ = method;
  request_.method_string_.assign(method_string.data(), method_string.size());
  request_.target_.assign(target.data(), target.size());
  request_.version_ = version;
}

void RequestParser::on_field_impl(bhttp::field name, beast::string_view name_string, beast::string_view value,
                                  error_code&) {
  switch (name) {
    case bhttp::field::authorization: keep_first(Header::authorization, request_.authorization_, value); return;
    case bhttp::field::expect: keep_first(Header::expect, request_.expect_, value); return;
    case bhttp::field::transfer_encoding:
      if (request_.transfer_encoding_count_++ == 0) request_.transfer_encoding_.assign(value.data(), value.size());
      return;
    case bhttp::field::unknown: {
      const std::string_view field(name_string.data(), name_string.size());
      if (ascii_iequals(field, "x-api-key")) {
        keep_first(Header::api_key, request_.api_key_, value);
      } else if (ascii_iequals(field, "x-request-id")) {
        keep_first(Header::request_id, request_.request_id_, value);
      }
      return;
    }
    default: return;
  }
}

void RequestParser::on_body_init_impl(const boost::optional<std::uint64_t>& content_length, error_code& ec) {
  request_.body_.clear();
  if (!content_length) return;
  if (*content_length > request_.body_.max_size()) {
    ec = bhttp::error::buffer_overflow;
    return;
  }
  // body_limit() already bounds it. The padding lets simdjson parse the body where it is.
  request_.body_.reserve(static_cast<std::size_t>(*content_length) + kJsonPadding);
}

std::size_t RequestParser::on_body_impl(beast::string_view body, error_code&) {
  request_.body_.append(body.data(), body.size());
  return body.size();
}

std::size_t RequestParser::on_chunk_body_impl(std::uint64_t, beast::string_view body, error_code&) {
  request_.body_.append(body.data(), body.size());
  return body.size();
}

}  // namespace baton::http
