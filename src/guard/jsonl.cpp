#include "guard/jsonl.hpp"

#include "core/json_text.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <istream>
#include <optional>
#include <ostream>

namespace baton::guard {

namespace {


bool is_blank(std::string_view line) {
  return line.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

// The id as a string: JSON strings as is, numbers in their JSON spelling
// (clients that number their lines should not get an error for it).
std::optional<std::string> id_of(const boost::json::object& object) {
  const boost::json::value* id = object.if_contains("id");
  if (id == nullptr) return std::nullopt;
  if (const auto* text = id->if_string()) return std::string(text->data(), text->size());
  if (id->is_int64() || id->is_uint64()) return boost::json::serialize(*id);
  return std::nullopt;
}

}  // namespace

std::string findings_to_json(std::string_view id, const std::vector<Finding>& findings) {
  std::string out;
  out.reserve(32 + id.size() + findings.size() * 48);
  out += "{\"id\":";
  append_json_string(out, id);
  out += ",\"findings\":[";
  for (std::size_t i = 0; i < findings.size(); ++i) {
    const Finding& finding = findings[i];
    if (i != 0) out += ',';
    out += "{\"type\":\"";
    out += to_string(finding.type);
    out += "\",\"start\":";
    out += std::to_string(finding.start);
    out += ",\"end\":";
    out += std::to_string(finding.end);
    out += '}';
  }
  out += "]}";
  return out;
}

std::string error_to_json(std::string_view message) {
  std::string out = "{\"id\":null,\"error\":";
  append_json_string(out, message);
  out += '}';
  return out;
}

int scan_jsonl(const Scanner& scanner, std::istream& in, std::ostream& out) {
  try {
    int status = kJsonlOk;
    std::string line;
    std::vector<Finding> findings;
    const auto fail = [&](std::string_view message) {
      out << error_to_json(message) << '\n';
      status = kJsonlMalformedLine;
    };
    while (std::getline(in, line)) {
      if (is_blank(line)) continue;
      boost::system::error_code error;
      const boost::json::value document = boost::json::parse(line, error);
      if (error) {
        fail("invalid JSON: " + error.message());
        continue;
      }
      const auto* object = document.if_object();
      if (object == nullptr) {
        fail("expected a JSON object");
        continue;
      }
      const std::optional<std::string> id = id_of(*object);
      if (!id) {
        fail("\"id\" must be a string or an integer");
        continue;
      }
      const boost::json::value* text = object->if_contains("text");
      if (text == nullptr || !text->is_string()) {
        fail("\"text\" must be a string");
        continue;
      }
      findings.clear();
      const boost::json::string& body = text->get_string();
      if (!scanner.try_scan(std::string_view(body.data(), body.size()), findings)) {
        fail("scan failed");
        continue;
      }
      out << findings_to_json(*id, findings) << '\n';
      if (!out) return kJsonlIoError;
    }
    out.flush();
    if (in.bad() || !out) return kJsonlIoError;
    return status;
  } catch (...) {
    // Allocation failure or a stream configured to throw; the contract is an exit code.
    return kJsonlIoError;
  }
}

}  // namespace baton::guard
