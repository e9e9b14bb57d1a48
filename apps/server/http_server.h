// The listening socket of `mova serve` and the threads that answer its connections: each
// connection carries one request, read within deadlines (a slow or silent client holds a
// thread for a bounded time, not for ever), handed to the handler, whose response closes the
// connection. Not hardened against deliberate denial of service: enough slow clients can keep
// every thread busy (docs/server.md).
#pragma once

#include <atomic>
#include <functional>
#include <string>

#include "server/http_message.h"

namespace mova::server {

class HttpServer {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;
  struct Options {
    std::string host = "127.0.0.1";
    int port = 8080;  // 0: any free port (see port())
    HttpLimits limits;
    int threads = 16;                 // connections answered at once
    double head_seconds = 10.0;       // to receive the request head
    double request_seconds = 30.0;    // to receive the whole request
    double response_seconds = 600.0;  // to send a whole response (a long video to a slow client)
    // Called with each request's head before its body is read (and before a 100 Continue):
    // throws HttpError to refuse the request unread, e.g. one without the API key.
    std::function<void(const HttpRequest&)> check_head;
    // Called once serve() has stopped accepting, before it waits for the connections in
    // progress (e.g. to stop the work those connections would wait for).
    std::function<void()> on_stop;
  };

  // Binds and listens at once: a kIo mova::Error names host:port when it cannot.
  HttpServer(const Options& options, Handler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  int port() const { return port_; }

  // Answers connections until stop(). Then the listening socket is closed, connections still
  // waiting for a thread are answered 503, requests being handled still get their answer,
  // but a client slow to send or to read is cut off (a video download too); returns when every
  // thread is done.
  void serve();
  // Makes serve() return. Async-signal-safe: a signal handler may call it.
  void stop();

 private:
  void answer(int fd) const;

  Options options_;
  Handler handler_;
  int listen_fd_ = -1;
  int stop_pipe_[2] = {-1, -1};
  int port_ = 0;
};

}  // namespace mova::server
