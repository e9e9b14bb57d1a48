// The listening socket of `mova serve` and the threads that answer its connections: each
// connection carries one request (read within a deadline, so a slow or silent client cannot
// hold a thread), handed to the handler, whose response closes the connection.
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
    int threads = 4;                  // connections answered at once
    double request_seconds = 30.0;    // to receive a whole request
    double response_seconds = 600.0;  // to send a whole response (a long video to a slow client)
  };

  // Binds and listens at once: a kIo mova::Error names host:port when it cannot.
  HttpServer(const Options& options, Handler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  int port() const { return port_; }

  // Answers connections until stop(); returns once every connection taken has been answered.
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
