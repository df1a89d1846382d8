#pragma once
// A client request as baton's handlers read it, and the parser that fills it. Beast's
// request<string_body> keeps every header as its own allocated node in a sorted set (five
// allocations and tree inserts for a four-header request); the handlers read four headers, so this
// keeps those and drops the rest as they are parsed. Framing (Content-Length, chunked, limits) is
// Beast's basic_parser's.
#include <string>
#include <string_view>

#include "http/asio.hpp"

namespace baton::http {

class Request {
 public:
  bhttp::verb method() const { return method_; }
  std::string_view method_string() const { return method_string_; }
  std::string_view target() const { return target_; }
  int version() const { return version_; }
  const std::string& body() const { return body_; }
  std::string& body() { return body_; }

  // First occurrence of each header, empty when absent.
  std::string_view authorization() const { return authorization_; }
  std::string_view api_key() const { return api_key_; }  // x-api-key (Anthropic's clients)
  std::string_view request_id() const { return request_id_; }  // x-request-id
  std::string_view expect() const { return expect_; }
  // Every Transfer-Encoding header counts (a second one makes the framing unreliable); the value
  // kept is the first's.
  std::size_t transfer_encoding_count() const { return transfer_encoding_count_; }
  std::string_view transfer_encoding() const { return transfer_encoding_; }

 private:
  friend class RequestParser;
  bhttp::verb method_ = bhttp::verb::unknown;
  int version_ = 11;
  std::string method_string_;
  std::string target_;
  std::string authorization_;
  std::string api_key_;
  std::string request_id_;
  std::string expect_;
  std::string transfer_encoding_;
  std::size_t transfer_encoding_count_ = 0;
  std::string body_;
};

// Fills one Request (one parser per request: Beast's parsers cannot be reset). keep_alive(),
// is_done(), chunked() and the limits are basic_parser's.
class RequestParser final : public bhttp::basic_parser<true> {
 public:
  RequestParser() = default;
  Request& get() { return request_; }
  const Request& get() const { return request_; }

 private:
  void on_request_impl(bhttp::verb method, beast::string_view method_string, beast::string_view target, int version,
                       error_code& ec) override;
  void on_response_impl(int, beast::string_view, int, error_code&) override {}
  void on_field_impl(bhttp::field name, beast::string_view name_string, beast::string_view value,
                     error_code& ec) override;
  void on_header_impl(error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>& content_length, error_code& ec) override;
  std::size_t on_body_impl(beast::string_view body, error_code& ec) override;
  void on_chunk_header_impl(std::uint64_t, beast::string_view, error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view body, error_code& ec) override;
  void on_finish_impl(error_code&) override {}

  enum class Header : std::uint8_t { authorization, api_key, request_id, expect };
  void keep_first(Header header, std::string& slot, beast::string_view value);

  Request request_;
  std::uint8_t seen_ = 0;  // one bit per Header: the first occurrence wins, as Beast's fields[] answers
};

}  // namespace baton::http
