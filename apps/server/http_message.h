// HTTP/1.1 requests and responses as `mova serve` speaks them (RFC 9112), kept small: one
// request per connection, bodies framed by Content-Length only. The request head comes from
// the network, so parsing is strict, bounded, and fuzzed (fuzz/fuzz_http_request.cc).
#pragma once

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mova::server {

// A request the server answers with an error status instead of handling it.
class HttpError : public std::runtime_error {
 public:
  HttpError(int status, const std::string& message)
      : std::runtime_error(message), status_(status) {}
  int status() const { return status_; }

 private:
  int status_;
};

struct HttpLimits {
  size_t max_head_bytes = 16 << 10;  // request line and headers
  int64_t max_body_bytes = int64_t{32} << 20;
  size_t max_headers = 64;
};

struct HttpRequest {
  std::string method;                                        // as sent: methods are case-sensitive
  std::string target;                                        // origin form: "/v1/jobs/ab12?x=1"
  std::string path;                                          // target without its query
  bool http11 = true;                                        // false: HTTP/1.0
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased, in order
  int64_t content_length = 0;
  bool expect_continue = false;  // "Expect: 100-continue": the client waits for a 100 first
  std::string body;

  // The value of header `name` (lower case), or nullptr.
  const std::string* header(std::string_view name) const;
};

// Where the head ends in what has been received so far: the offset just past the empty line
// ("\r\n\r\n"), or std::string_view::npos while it has not arrived.
size_t find_head_end(std::string_view received);

// Parses a request head (request line and header lines, up to and including the empty line).
// Throws HttpError: 400 malformed (an HTTP/1.1 request without Host too), 413 body over the limit,
// 417 an expectation other than 100-continue, 431 too many headers, 501 a transfer coding (chunked
// bodies are not taken), 505 an HTTP version other than 1.0 and 1.1.
HttpRequest parse_request_head(std::string_view head, const HttpLimits& limits);

// The query of the request's target ("?wait=30&after=7"), names and values percent-decoded
// ('+' as a space). Throws HttpError 400 for a malformed escape, an empty or repeated name.
std::map<std::string, std::string> query_parameters(const HttpRequest& request);

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::string file_path;  // when set, the response's body is this file, sent as it is read
  std::vector<std::pair<std::string, std::string>> headers;  // extra, e.g. Allow
};

const char* reason_phrase(int status);

// Without the spaces and tabs around it (HTTP's optional whitespace).
std::string_view trim_ows(std::string_view s);
// ASCII lower case (header names, schemes: case-insensitive in HTTP).
std::string lower(std::string_view s);

// A JSON body {"error": message} with `status`: what every failure answers.
HttpResponse error_response(int status, const std::string& message);

// The status line and headers of `response` with a body of `content_length` bytes, and the
// empty line; every response closes its connection.
std::string response_head(const HttpResponse& response, uint64_t content_length);

}  // namespace mova::server
