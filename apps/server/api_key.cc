#include "server/api_key.h"

#include <filesystem>
#include <fstream>
#include <string_view>

#include "runtime/error.h"

namespace mova::server {
namespace {

bool visible_ascii(std::string_view s) {
  for (const char c : s)
    if (c < 0x21 || c > 0x7e) return false;
  return true;
}

// Equal strings, in a time that depends only on the lengths: a wrong key's first differing byte
// is not visible in when the 401 comes back.
bool same_secret(std::string_view given, std::string_view key) {
  unsigned diff = given.size() == key.size() ? 0U : 1U;
  for (size_t i = 0; i < key.size(); ++i) {
    const char g = i < given.size() ? given[i] : '\0';
    diff |= static_cast<unsigned char>(g ^ key[i]);
  }
  return diff == 0;
}

}  // namespace

ApiKey::ApiKey(std::string key, const std::string& source) : key_(std::move(key)) {
  MOVA_CHECK(!key_.empty(), ErrorKind::kInvalidArgument, "the API key from ", source, " is empty");
  MOVA_CHECK(visible_ascii(key_), ErrorKind::kInvalidArgument, "the API key from ", source,
             " holds a space, a control character or a non-ASCII byte: it has to be sent in an "
             "Authorization header");
}

void ApiKey::check(const HttpRequest& head) const {
  const std::string* value = nullptr;
  for (const auto& [name, v] : head.headers) {
    if (name != "authorization") continue;
    if (value) throw HttpError(400, "more than one Authorization header");
    value = &v;
  }
  if (!value) {
    // Open for probes, but only as a bodiless GET: a body would still be read into memory.
    if (head.method == "GET" && head.path == "/health" && head.content_length == 0) return;
    throw HttpError(401, "this server needs its API key: send 'Authorization: Bearer <key>'");
  }
  // credentials = auth-scheme 1*SP token68 (RFC 9110 11.4, RFC 6750 2.1); the scheme is
  // case-insensitive.
  const std::string_view v = *value;
  const size_t space = v.find(' ');
  if (space == std::string_view::npos || lower(v.substr(0, space)) != "bearer")
    throw HttpError(401, "the Authorization header is not 'Bearer <key>'");
  const size_t token = v.find_first_not_of(' ', space);
  if (!same_secret(v.substr(token == std::string_view::npos ? v.size() : token), key_))
    throw HttpError(401, "wrong API key");
}

std::string read_api_key_file(const std::string& path) {
  std::error_code ec;
  MOVA_CHECK(!std::filesystem::is_directory(path, ec), ErrorKind::kIo, "the API key file ", path,
             " is a folder");
  std::ifstream in(path, std::ios::binary);
  MOVA_CHECK(in.good(), ErrorKind::kIo, "cannot read the API key file ", path);
  std::string line;
  std::getline(in, line);
  MOVA_CHECK(!in.bad(), ErrorKind::kIo, "cannot read the API key file ", path);
  if (!line.empty() && line.back() == '\r') line.pop_back();  // a CRLF file
  return std::string(trim_ows(line));
}

}  // namespace mova::server
