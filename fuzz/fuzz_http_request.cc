// Feeds arbitrary bytes to `mova serve`'s request-head parser, as a connection delivers them:
// the head is what precedes the first empty line; a head that parses has its query decoded and
// its API key checked too.
// Any input must parse or throw HttpError with a status the server answers; crashes, leaks, UB
// and out-of-range statuses are findings.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "server/api_key.h"
#include "server/http_message.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  mova::server::HttpLimits limits;
  limits.max_head_bytes = 4096;
  limits.max_body_bytes = 1 << 20;
  const size_t end = mova::server::find_head_end(bytes);
  if (end == std::string_view::npos) return 0;
  try {
    const mova::server::HttpRequest r =
        mova::server::parse_request_head(bytes.substr(0, end), limits);
    if (r.method.empty() || r.path.empty() || r.path[0] != '/' || r.content_length < 0 ||
        r.content_length > limits.max_body_bytes || r.headers.size() > limits.max_headers)
      __builtin_trap();
    // The API key check on the same head: it passes only with the key, or for an
    // unauthenticated GET /health; anything else is a 400 or 401.
    static const mova::server::ApiKey key("fuzz-key", "the fuzzer");
    try {
      key.check(r);
      const std::string* given = r.header("authorization");
      if (given ? given->find("fuzz-key") == std::string::npos
                : !(r.method == "GET" && r.path == "/health"))
        __builtin_trap();
    } catch (const mova::server::HttpError& e) {
      if (e.status() != 400 && e.status() != 401) __builtin_trap();
    }
    for (const auto& [name, value] : mova::server::query_parameters(r))
      if (name.empty() || value.size() > r.target.size()) __builtin_trap();
  } catch (const mova::server::HttpError& e) {
    if (e.status() < 400 || e.status() > 599) __builtin_trap();
  }
  return 0;
}
