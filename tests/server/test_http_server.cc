// `mova serve`'s socket layer (apps/server/http_server.h) over loopback: answering, the head
// deadline, no interim answer to HTTP/1.0, and stopping (refusing at once, still answering the
// request in progress).
#include "server/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace mova::server {
namespace {

using namespace std::chrono_literals;

// A connection to 127.0.0.1:port; -1 (errno set) when refused.
int connect_to(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    const int e = errno;
    ::close(fd);
    errno = e;
    return -1;
  }
  timeval tv{10, 0};  // a test that waits longer has failed
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

void send_text(int fd, const std::string& s) {
  ASSERT_EQ(::send(fd, s.data(), s.size(), MSG_NOSIGNAL), static_cast<ssize_t>(s.size()));
}

// Everything the server sends until it closes.
std::string read_to_close(int fd) {
  std::string all;
  char buf[4096];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) all.append(buf, static_cast<size_t>(n));
  return all;
}

std::string exchange(int port, const std::string& request) {
  const int fd = connect_to(port);
  EXPECT_GE(fd, 0);
  if (fd < 0) return "";
  send_text(fd, request);
  ::shutdown(fd, SHUT_WR);
  std::string answer = read_to_close(fd);
  ::close(fd);
  return answer;
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

HttpResponse echo(const HttpRequest& r) {
  HttpResponse res;
  res.content_type = "text/plain";
  res.body = r.method + " " + r.path + " " + r.body;
  return res;
}

// A server answering on its own thread, stopped and joined at the end of the test.
struct Running {
  explicit Running(HttpServer::Options o, HttpServer::Handler h)
      : server(o, std::move(h)), thread([this] { server.serve(); }) {}
  ~Running() {
    server.stop();
    thread.join();
  }
  HttpServer server;
  std::thread thread;
};

HttpServer::Options loopback() {
  HttpServer::Options o;
  o.port = 0;
  o.threads = 2;
  return o;
}

TEST(HttpServer, AnswersARequestAndClosesTheConnection) {
  Running s(loopback(), echo);
  const std::string answer =
      exchange(s.server.port(), "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc");
  EXPECT_TRUE(starts_with(answer, "HTTP/1.1 200 OK\r\n")) << answer;
  EXPECT_NE(answer.find("Connection: close\r\n"), std::string::npos);
  EXPECT_TRUE(ends_with(answer, "POST /echo abc")) << answer;
}

TEST(HttpServer, AnHeadThatDoesNotArriveInTimeIs408) {
  HttpServer::Options o = loopback();
  o.head_seconds = 0.3;
  Running s(o, echo);
  const int fd = connect_to(s.server.port());
  ASSERT_GE(fd, 0);
  send_text(fd, "GET / HT");  // and nothing more
  const std::string answer = read_to_close(fd);
  ::close(fd);
  EXPECT_TRUE(starts_with(answer, "HTTP/1.1 408 ")) << answer;
}

TEST(HttpServer, Http10GetsNoInterimAnswerToExpect) {
  Running s(loopback(), echo);
  const int fd = connect_to(s.server.port());
  ASSERT_GE(fd, 0);
  send_text(fd, "POST /e HTTP/1.0\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n");
  std::this_thread::sleep_for(300ms);
  char c;
  EXPECT_EQ(::recv(fd, &c, 1, MSG_DONTWAIT), -1);  // nothing yet: no "100 Continue"
  send_text(fd, "xyz");
  const std::string answer = read_to_close(fd);
  ::close(fd);
  EXPECT_TRUE(starts_with(answer, "HTTP/1.1 200 OK\r\n")) << answer;
  EXPECT_TRUE(ends_with(answer, "POST /e xyz")) << answer;
}

// A head the check refuses is answered at once: no 100 Continue, no wait for the body (the
// client below never sends it), and the handler never sees the request.
TEST(HttpServer, AHeadRefusedByTheCheckIsAnsweredWithoutItsBody) {
  HttpServer::Options o = loopback();
  o.check_head = [](const HttpRequest& r) {
    if (!r.header("authorization")) throw HttpError(401, "no key");
  };
  std::atomic<int> handled{0};
  Running s(o, [&](const HttpRequest& r) {
    ++handled;
    return echo(r);
  });
  const std::string refused = exchange(s.server.port(),
                                       "POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n"
                                       "Expect: 100-continue\r\n\r\n");
  EXPECT_TRUE(starts_with(refused, "HTTP/1.1 401 Unauthorized\r\n")) << refused;
  EXPECT_NE(refused.find("WWW-Authenticate: Bearer"), std::string::npos) << refused;
  EXPECT_EQ(handled, 0);
  const std::string passed =
      exchange(s.server.port(),
               "POST /e HTTP/1.1\r\nHost: x\r\nAuthorization: k\r\nContent-Length: 2\r\n\r\nok");
  EXPECT_TRUE(ends_with(passed, "POST /e ok")) << passed;
  EXPECT_EQ(handled, 1);
}

TEST(HttpServer, StoppingRefusesNewConnectionsAndStillAnswersTheOneInProgress) {
  std::mutex m;
  std::condition_variable changed;
  bool entered = false, released = false, stopped = false;
  HttpServer::Options o = loopback();
  o.on_stop = [&] {
    std::lock_guard<std::mutex> lock(m);
    stopped = true;
  };
  HttpServer server(o, [&](const HttpRequest& r) {
    std::unique_lock<std::mutex> lock(m);
    entered = true;
    changed.notify_all();
    changed.wait(lock, [&] { return released; });
    return echo(r);
  });
  std::thread serving([&] { server.serve(); });
  const int port = server.port();
  const int busy = connect_to(port);
  ASSERT_GE(busy, 0);
  send_text(busy, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
  {
    std::unique_lock<std::mutex> lock(m);
    ASSERT_TRUE(changed.wait_for(lock, 10s, [&] { return entered; }));
  }
  server.stop();
  // The listening socket closes while the request above is still being handled.
  bool refused = false;
  for (auto end = std::chrono::steady_clock::now() + 10s;
       !refused && std::chrono::steady_clock::now() < end;) {
    const int fd = connect_to(port);
    refused = fd < 0 && errno == ECONNREFUSED;
    if (fd >= 0) ::close(fd);
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_TRUE(refused);
  {
    std::lock_guard<std::mutex> lock(m);
    EXPECT_TRUE(stopped);
    released = true;
  }
  changed.notify_all();
  const std::string answer = read_to_close(busy);
  ::close(busy);
  EXPECT_TRUE(starts_with(answer, "HTTP/1.1 200 OK\r\n")) << answer;
  EXPECT_TRUE(ends_with(answer, "GET /slow ")) << answer;
  serving.join();
}

}  // namespace
}  // namespace mova::server
