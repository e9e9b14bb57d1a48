#include "server/http_message.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

namespace mova::server {
namespace {

// RFC 9110 tchar: what a method or a header name may consist of.
bool is_token_char(unsigned char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

bool is_token(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return is_token_char(static_cast<unsigned char>(c));
  });
}

// Field values: visible characters, spaces and tabs, and obs-text; never CR, LF or NUL.
bool is_field_value(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return (u == '\t' || u >= 0x20) && u != 0x7f;
  });
}

[[noreturn]] void bad(const std::string& why) {
  throw HttpError(400, why);
}

void parse_request_line(std::string_view line, HttpRequest& r) {
  const size_t sp1 = line.find(' ');
  const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos)
    bad("malformed request line (expected: METHOD /path HTTP/1.1)");
  const std::string_view method = line.substr(0, sp1);
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (!is_token(method)) bad("malformed method in the request line");
  if (target.empty() || target.front() != '/')
    bad("the request target must be a path beginning with '/'");
  for (char c : target) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) bad("the request target holds a control or non-ASCII byte");
  }
  const auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || !digit(version[5]) ||
      version[6] != '.' || !digit(version[7]))
    bad("malformed HTTP version in the request line");
  if (version != "HTTP/1.1" && version != "HTTP/1.0")
    throw HttpError(505, "only HTTP/1.0 and HTTP/1.1 are spoken here");
  r.method = method;
  r.http11 = version == "HTTP/1.1";
  r.target = target;
  r.path = target.substr(0, target.find('?'));
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] != '%') {
      out += s[i];
    } else {
      const int hi = i + 2 < s.size() ? hex_value(s[i + 1]) : -1;
      const int lo = hi < 0 ? -1 : hex_value(s[i + 2]);
      if (lo < 0) bad("malformed %-escape in the query (expected %XX)");
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    }
  }
  return out;
}

int64_t parse_content_length(std::string_view v) {
  if (v.empty() || v.size() > 18 ||
      !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; }))
    bad("Content-Length must be a decimal number of bytes");
  int64_t n = 0;
  for (char c : v) n = n * 10 + (c - '0');
  return n;
}

}  // namespace

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

const std::string* HttpRequest::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (k == name) return &v;
  return nullptr;
}

size_t find_head_end(std::string_view received) {
  const size_t at = received.find("\r\n\r\n");
  return at == std::string_view::npos ? at : at + 4;
}

HttpRequest parse_request_head(std::string_view head, const HttpLimits& limits) {
  if (head.size() > limits.max_head_bytes)
    throw HttpError(431,
                    "the request head is over " + std::to_string(limits.max_head_bytes) + " bytes");
  if (head.size() < 4 || head.substr(head.size() - 4) != "\r\n\r\n")
    bad("the request head does not end with an empty line");
  head.remove_suffix(2);  // each line below keeps its own CRLF terminator out
  HttpRequest r;
  bool has_length = false;
  size_t pos = 0, line_number = 0;
  while (pos < head.size()) {
    const size_t eol = head.find("\r\n", pos);
    const std::string_view line = head.substr(pos, eol - pos);
    pos = eol + 2;
    if (line.find('\n') != std::string_view::npos || line.find('\r') != std::string_view::npos)
      bad("a bare CR or LF inside the request head");
    if (line_number++ == 0) {
      parse_request_line(line, r);
      continue;
    }
    if (line.empty() || line.front() == ' ' || line.front() == '\t')
      bad("folded or empty header line");
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || !is_token(line.substr(0, colon)))
      bad("malformed header line (expected: Name: value)");
    const std::string_view value = trim_ows(line.substr(colon + 1));
    if (!is_field_value(value)) bad("a header value holds a control byte");
    if (r.headers.size() == limits.max_headers)
      throw HttpError(431, "more than " + std::to_string(limits.max_headers) + " headers");
    std::string name = lower(line.substr(0, colon));
    if (name == "content-length") {
      const int64_t n = parse_content_length(value);
      if (has_length && n != r.content_length) bad("conflicting Content-Length headers");
      has_length = true;
      r.content_length = n;
    } else if (name == "transfer-encoding") {
      throw HttpError(501,
                      "transfer codings (chunked bodies) are not accepted; send the body "
                      "with a Content-Length");
    } else if (name == "expect") {
      if (lower(value) != "100-continue")
        throw HttpError(417, "the only expectation met is 100-continue");
      r.expect_continue = true;
    }
    r.headers.emplace_back(std::move(name), std::string(value));
  }
  if (r.method.empty()) bad("empty request");
  if (r.http11 && !r.header("host")) bad("an HTTP/1.1 request needs a Host header");
  if (r.content_length > limits.max_body_bytes)
    throw HttpError(413, "the request body is " + std::to_string(r.content_length) +
                             " bytes; at most " + std::to_string(limits.max_body_bytes) +
                             " are accepted (mova serve --max-body-mib)");
  return r;
}

std::map<std::string, std::string> query_parameters(const HttpRequest& request) {
  std::map<std::string, std::string> out;
  const size_t q = request.target.find('?');
  if (q == std::string::npos) return out;
  std::string_view rest = std::string_view(request.target).substr(q + 1);
  while (!rest.empty()) {
    const size_t amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (pair.empty()) continue;  // "?a=1&&b=2", a trailing '&'
    const size_t eq = pair.find('=');
    std::string name = percent_decode(pair.substr(0, eq));
    std::string value = eq == std::string_view::npos ? "" : percent_decode(pair.substr(eq + 1));
    if (name.empty()) bad("a query parameter without a name");
    if (out.count(name)) bad("query parameter '" + name + "' given twice");
    out.emplace(std::move(name), std::move(value));
  }
  return out;
}

const char* reason_phrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 202:
      return "Accepted";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 413:
      return "Content Too Large";
    case 415:
      return "Unsupported Media Type";
    case 417:
      return "Expectation Failed";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

HttpResponse error_response(int status, const std::string& message) {
  HttpResponse r;
  r.status = status;
  r.body = nlohmann::json{{"error", message}}.dump(-1, ' ', false,
                                                   nlohmann::json::error_handler_t::replace) +
           "\n";
  // A 401 names the scheme that would be accepted (RFC 9110 15.5.2).
  if (status == 401) r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"mova serve\"");
  return r;
}

std::string response_head(const HttpResponse& response, uint64_t content_length) {
  std::string h =
      "HTTP/1.1 " + std::to_string(response.status) + " " + reason_phrase(response.status) + "\r\n";
  h += "Content-Type: " + response.content_type + "\r\n";
  h += "Content-Length: " + std::to_string(content_length) + "\r\n";
  for (const auto& [k, v] : response.headers) h.append(k).append(": ").append(v).append("\r\n");
  h += "Connection: close\r\n\r\n";
  return h;
}

}  // namespace mova::server
