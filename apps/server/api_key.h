// The API key of `mova serve` (docs/server.md, "API key"): when the server has one, every
// request but GET /health must carry it as "Authorization: Bearer <key>" (RFC 6750), checked on
// the request head, before a body is read, so that a client without it cannot make the server
// take a large upload either.
#pragma once

#include <string>

#include "server/http_message.h"

namespace mova::server {

class ApiKey {
 public:
  // `source` names where the key came from (a file, an environment variable) in errors. Throws
  // a kInvalidArgument mova::Error when the key is empty or holds anything but visible ASCII
  // (it has to fit in a header line), without quoting the key.
  ApiKey(std::string key, const std::string& source);

  // Throws HttpError 401 unless the head carries this key (an unauthenticated GET /health
  // without a body passes: probes and load balancers ask it), 400 for two Authorization
  // headers. The comparison takes the same time wherever a wrong key differs.
  void check(const HttpRequest& head) const;

 private:
  std::string key_;
};

// The key in a file: its first line, without the line break and surrounding spaces or tabs.
// Throws a kIo mova::Error naming the file when it cannot be read.
std::string read_api_key_file(const std::string& path);

}  // namespace mova::server
