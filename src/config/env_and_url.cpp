#include <charconv>
#include <cstdlib>

#include "config/config.hpp"

namespace baton::config {

bool expand_env(const std::string& in, std::string& out, std::string& error) {
  out.clear();
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '$') {
      out.push_back(in[i]);
      continue;
    }
    if (i + 1 < in.size() && in[i + 1] == '$') {
      out.push_back('$');
      ++i;
      continue;
    }
    if (i + 1 >= in.size() || in[i + 1] != '{') {
      out.push_back('$');
      continue;
    }
    const std::size_t close = in.find('}', i + 2);
    if (close == std::string::npos) {
      error = "unterminated ${...} reference";
      return false;
    }
    const std::string body = in.substr(i + 2, close - i - 2);
    const std::size_t dash = body.find(":-");
    const std::size_t plus = body.find(":+");
    const std::string name = body.substr(0, std::min(dash, plus));
    if (name.empty()) {
      error = "empty variable name in ${...}";
      return false;
    }
    const char* value = std::getenv(name.c_str());
    if (plus != std::string::npos && plus < dash) {
      if (value != nullptr && *value != '\0') out += body.substr(plus + 2);
    } else if (value != nullptr && (*value != '\0' || dash == std::string::npos)) {
      out += value;
    } else if (dash != std::string::npos) {
      out += body.substr(dash + 2);
    } else {
      error = "environment variable " + name + " is not set (write ${" + name + ":-} to allow empty)";
      return false;
    }
    i = close;
  }
  return true;
}

std::string parse_origin(const std::string& url, Origin& out) {
  std::string_view rest = url;
  if (rest.starts_with("http://")) {
    out.tls = false;
    rest.remove_prefix(7);
  } else if (rest.starts_with("https://")) {
    out.tls = true;
    rest.remove_prefix(8);
  } else {
    return "must start with http:// or https://, got '" + url + "'";
  }
  const std::size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
  if (authority.find('@') != std::string_view::npos) return "must not carry credentials; use api_key";
  std::string_view host = authority;
  std::string_view port;
  if (authority.starts_with('[')) {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return "has an unterminated IPv6 address";
    host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return "has junk after the IPv6 address";
      port = authority.substr(close + 2);
    }
  } else if (const std::size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) return "has no host";
  out.host = std::string(host);
  out.port = out.tls ? 443 : 80;
  if (!port.empty()) {
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc{} || end != port.data() + port.size() || value == 0 || value > 65535) {
      return "has an invalid port '" + std::string(port) + "'";
    }
    out.port = static_cast<std::uint16_t>(value);
  }
  if (path.find_first_of("?#") != std::string_view::npos) return "must not have a query or fragment";
  while (path.ends_with('/')) path.remove_suffix(1);
  out.path_prefix = std::string(path);
  return {};
}

}  // namespace baton::config
