#include <cstdlib>

#include "config/config.hpp"
#include "core/url.hpp"

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
  if (const std::string problem = parse_authority(authority, out.tls ? 443 : 80, out.host, out.port); !problem.empty()) {
    return problem;
  }
  if (path.find_first_of("?#") != std::string_view::npos) return "must not have a query or fragment";
  while (path.ends_with('/')) path.remove_suffix(1);
  out.path_prefix = std::string(path);
  return {};
}

}  // namespace baton::config
