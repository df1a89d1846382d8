#include "http/request_framing.hpp"

#include <gtest/gtest.h>

#include <initializer_list>
#include <string_view>

namespace baton::http {
namespace {

bhttp::fields with_transfer_encoding(std::initializer_list<std::string_view> values) {
  bhttp::fields headers;
  for (const std::string_view value : values) headers.insert(bhttp::field::transfer_encoding, value);
  return headers;
}

TEST(RequestFraming, NoTransferEncodingIsFine) {
  EXPECT_TRUE(acceptable_transfer_encoding(bhttp::fields{}));
}

TEST(RequestFraming, ChunkedInAnyCaseWithOptionalWhitespace) {
  for (const std::string_view value : {"chunked", "CHUNKED", "Chunked", " chunked", "chunked\t", "\tchunked "}) {
    EXPECT_TRUE(acceptable_transfer_encoding(with_transfer_encoding({value}))) << "'" << value << "'";
  }
}

TEST(RequestFraming, AnythingElseIsRefused) {
  // A coding list, an unknown or misspelt coding, or chunked not last: the length is unreliable.
  for (const std::string_view value :
       {"chunked, identity", "identity, chunked", "gzip, chunked", "xchunked", "chunked;q=1", "identity", "", "chunk"}) {
    EXPECT_FALSE(acceptable_transfer_encoding(with_transfer_encoding({value}))) << "'" << value << "'";
  }
}

TEST(RequestFraming, TwoTransferEncodingHeadersAreRefused) {
  EXPECT_FALSE(acceptable_transfer_encoding(with_transfer_encoding({"chunked", "chunked"})));
}

}  // namespace
}  // namespace baton::http
