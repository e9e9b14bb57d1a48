// The request-head parser of `mova serve` (apps/server/http_message.h): what it takes, and the
// status each malformed or refused head is answered with.
#include "server/http_message.h"

#include <gtest/gtest.h>

#include <map>

namespace mova::server {
namespace {

using namespace std::string_literals;

TEST(HttpMessage, ParsesARequestHead) {
  const std::string head =
      "POST /v1/generate?verbose=1 HTTP/1.1\r\nHost: example\r\nContent-Type:  application/json "
      "\r\nContent-Length: 17\r\nEXPECT: 100-Continue\r\n\r\n";
  EXPECT_EQ(find_head_end(head + "{\"prompt\": \"hi\"}"), head.size());
  const HttpRequest r = parse_request_head(head, HttpLimits{});
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.target, "/v1/generate?verbose=1");
  EXPECT_EQ(r.path, "/v1/generate");
  EXPECT_EQ(r.content_length, 17);
  EXPECT_TRUE(r.expect_continue);
  EXPECT_TRUE(r.http11);
  ASSERT_NE(r.header("content-type"), nullptr);
  EXPECT_EQ(*r.header("content-type"), "application/json");
  EXPECT_EQ(r.header("Content-Type"), nullptr);  // names are looked up lower-cased
  EXPECT_EQ(r.headers.size(), 4u);

  const HttpRequest g = parse_request_head("GET / HTTP/1.0\r\n\r\n", HttpLimits{});
  EXPECT_EQ(g.method, "GET");
  EXPECT_EQ(g.path, "/");
  EXPECT_EQ(g.content_length, 0);
  EXPECT_FALSE(g.expect_continue);
  EXPECT_FALSE(g.http11);  // and HTTP/1.0 needs no Host
}

TEST(HttpMessage, QueryParametersAreDecoded) {
  HttpRequest r;
  r.target = "/v1/jobs/ab?wait=1.5&note=x%20y+z%2b&&flag&empty=";
  const std::map<std::string, std::string> q = query_parameters(r);
  EXPECT_EQ(q, (std::map<std::string, std::string>{
                   {"wait", "1.5"}, {"note", "x y z+"}, {"flag", ""}, {"empty", ""}}));
  r.target = "/v1/jobs/ab";
  EXPECT_TRUE(query_parameters(r).empty());
  r.target = "/?";
  EXPECT_TRUE(query_parameters(r).empty());

  for (const char* target : {"/?a=%4", "/?a=%zz", "/?a=%", "/?=1", "/?a=1&a=2", "/?%61=1&a=2"}) {
    r.target = target;
    try {
      query_parameters(r);
      ADD_FAILURE() << "accepted " << target;
    } catch (const HttpError& e) {
      EXPECT_EQ(e.status(), 400) << target;
    }
  }
}

TEST(HttpMessage, HeadEndsOnlyAtAnEmptyLine) {
  EXPECT_EQ(find_head_end("GET / HTTP/1.1\r\nHost: x\r\n"), std::string_view::npos);
  EXPECT_EQ(find_head_end("GET / HTTP/1.1\n\n"), std::string_view::npos);
  EXPECT_EQ(find_head_end("GET / HTTP/1.1\r\n\r\nbody"), 18u);
}

TEST(HttpMessage, MalformedOrRefusedHeadsGetTheirStatus) {
  HttpLimits limits;
  limits.max_body_bytes = 1000;
  limits.max_headers = 3;
  limits.max_head_bytes = 200;
  const std::pair<std::string, int> cases[] = {
      {"\r\n\r\n", 400},
      {"GET /\r\n\r\n", 400},
      {"GET  / HTTP/1.1\r\n\r\n", 400},
      {"GET / HTTP/1.1 \r\n\r\n", 400},
      {"GET http://host/ HTTP/1.1\r\n\r\n", 400},
      {"GET /a b HTTP/1.1\r\n\r\n", 400},
      {"GET /\x01 HTTP/1.1\r\n\r\n", 400},
      {"GET /\xc3\xa9 HTTP/1.1\r\n\r\n", 400},
      {"G(T / HTTP/1.1\r\n\r\n", 400},
      {"GET / HTTP/2.0\r\n\r\n", 505},
      {"GET / HTTP/1.1x\r\n\r\n", 400},
      {"GET / http/1.1\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nNoColon\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\n: x\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nA: b\nC: d\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nA: b\rc\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nA: b\0c\r\n\r\n"s, 400},
      {"GET / HTTP/1.1\r\nA: b\x7f\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nContent-Length: 1e3\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nContent-Length: \r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1001\r\n\r\n", 413},
      {"GET / HTTP/1.1\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 400},
      {"GET / HTTP/1.\xb1\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 501},
      {"GET / HTTP/1.1\r\nExpect: something\r\n\r\n", 417},
      {"GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n", 431},
      {"GET /" + std::string(250, 'a') + " HTTP/1.1\r\n\r\n", 431},
      {"GET / HTTP/1.1\r\n", 400},
  };
  for (const auto& [head, status] : cases) {
    try {
      parse_request_head(head, limits);
      ADD_FAILURE() << "accepted: " << head;
    } catch (const HttpError& e) {
      EXPECT_EQ(e.status(), status) << head << " -> " << e.what();
    }
  }
  // Equal duplicates are one length; the limit itself is accepted.
  EXPECT_EQ(parse_request_head("PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 1000\r\n"
                               "content-length: 1000\r\n\r\n",
                               limits)
                .content_length,
            1000);
}

TEST(HttpMessage, ResponsesCloseTheirConnectionAndCarryErrorsAsJson) {
  HttpResponse r = error_response(404, "no job \"x\"");
  r.headers.emplace_back("Allow", "GET");
  EXPECT_EQ(r.body, "{\"error\":\"no job \\\"x\\\"\"}\n");
  EXPECT_EQ(response_head(r, r.body.size()),
            "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 25\r\n"
            "Allow: GET\r\nConnection: close\r\n\r\n");
  // Bytes that are not UTF-8 in a message do not break the JSON.
  EXPECT_NE(error_response(400, "bad \xff byte").body.find("bad"), std::string::npos);
}

}  // namespace
}  // namespace mova::server
