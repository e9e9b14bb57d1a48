#include "server/http_server.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "runtime/error.h"
#include "runtime/log.h"

namespace mova::server {
namespace {

using Clock = std::chrono::steady_clock;

// Connections accepted but not yet taken by a thread; beyond this, new ones are told 503.
constexpr size_t kMaxWaiting = 64;
// How long an answered connection whose request was not read to its end is drained before it
// is closed: closing with unread bytes makes the kernel reset the connection, and the client
// would see the reset instead of the answer (413, 400, ...). Shorter for the 503s given by the
// accepting thread or while stopping, which must not wait long on any one client.
constexpr double kLingerSeconds = 2.0;
constexpr double kBriefLingerSeconds = 0.2;

class Deadline {
 public:
  explicit Deadline(double seconds)
      : end_(Clock::now() +
             std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds))) {}
  // Milliseconds left for poll(), 0 once passed.
  int left_ms() const {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end_ - Clock::now());
    return static_cast<int>(std::max<int64_t>(0, left.count()));
  }
  static Deadline earlier(const Deadline& a, const Deadline& b) { return a.end_ < b.end_ ? a : b; }

 private:
  Clock::time_point end_;
};

enum class Wait { kReady, kTimedOut, kStopped, kFailed };

// Waits for `events` on `fd` until the deadline, or until the server stops (`stop_fd`, the
// stop pipe, turns readable and stays so). A socket that is ready wins over stopping: an answer
// that can go out at once still goes out.
Wait wait_for(int fd, short events, const Deadline& deadline, int stop_fd) {
  pollfd p[2] = {{fd, events, 0}, {stop_fd, POLLIN, 0}};
  for (;;) {
    const int n = ::poll(p, stop_fd >= 0 ? 2 : 1, deadline.left_ms());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Wait::kFailed;
    if (n == 0) return Wait::kTimedOut;
    if (p[0].revents) return Wait::kReady;
    return Wait::kStopped;
  }
}

bool stopped(int stop_fd) {
  return wait_for(stop_fd, POLLIN, Deadline(0), -1) == Wait::kReady;
}

// Sends all of `data`; false when the peer went away, the deadline passed or the server stops.
bool send_all(int fd, const char* data, size_t size, const Deadline& deadline, int stop_fd) {
  while (size > 0) {
    if (wait_for(fd, POLLOUT, deadline, stop_fd) != Wait::kReady) return false;
    const ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
      return false;
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

bool send_all(int fd, const std::string& s, const Deadline& deadline, int stop_fd) {
  return send_all(fd, s.data(), s.size(), deadline, stop_fd);
}

// What reading from a connection gave: bytes, the peer's end of the request, or why not.
enum class Read { kBytes, kEnd, kTimedOut, kGone };

// Appends what is available to `buffer`.
Read receive_some(int fd, std::string& buffer, const Deadline& deadline, int stop_fd) {
  char chunk[16 << 10];
  for (;;) {
    const Wait w = wait_for(fd, POLLIN, deadline, stop_fd);
    if (w == Wait::kTimedOut) return Read::kTimedOut;
    if (w != Wait::kReady) return Read::kGone;
    const ssize_t n = ::recv(fd, chunk, sizeof chunk, MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
    if (n < 0) return Read::kGone;
    if (n == 0) return Read::kEnd;
    buffer.append(chunk, static_cast<size_t>(n));
    return Read::kBytes;
  }
}

// Ends our side, then reads and drops what the client still sends, for `seconds` at most.
void drain_before_close(int fd, double seconds) {
  ::shutdown(fd, SHUT_WR);
  const Deadline deadline(seconds);
  std::string dropped;
  while (receive_some(fd, dropped, deadline, -1) == Read::kBytes) dropped.clear();
}

void send_simple(int fd, const HttpResponse& r, const Deadline& deadline, int stop_fd) {
  send_all(fd, response_head(r, r.body.size()) + r.body, deadline, stop_fd);
}

void send_response(int fd, const HttpResponse& response, const Deadline& deadline, int stop_fd) {
  if (response.file_path.empty()) {
    send_simple(fd, response, deadline, stop_fd);
    return;
  }
  const int file = ::open(response.file_path.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat st {};
  if (file < 0 || ::fstat(file, &st) != 0) {
    const int error = errno;
    if (file >= 0) ::close(file);
    if (error == ENOENT) {  // forgotten (DELETE, --keep-jobs) since the handler looked
      send_simple(fd, error_response(404, "the video was deleted meanwhile"), deadline, stop_fd);
      return;
    }
    MOVA_LOG_WARN("mova serve: cannot read ", response.file_path, ": ", std::strerror(error));
    send_simple(fd, error_response(500, "the result file cannot be read"), deadline, stop_fd);
    return;
  }
  // The head promised st_size bytes: a file shortened meanwhile ends the connection early,
  // which the client sees as a truncated body, never as a complete wrong one.
  if (send_all(fd, response_head(response, static_cast<uint64_t>(st.st_size)), deadline, stop_fd)) {
    std::vector<char> chunk(size_t{256} << 10);
    off_t left = st.st_size;
    while (left > 0) {
      const ssize_t n = ::read(file, chunk.data(), chunk.size());
      if (n < 0 && errno == EINTR) continue;
      // A long video to a slow client is cut short when the server stops.
      if (n <= 0 || stopped(stop_fd) ||
          !send_all(fd, chunk.data(), static_cast<size_t>(n), deadline, stop_fd))
        break;
      left -= n;
    }
  }
  ::close(file);
}

}  // namespace

HttpServer::HttpServer(const Options& options, Handler handler)
    : options_(options), handler_(std::move(handler)) {
  MOVA_CHECK(options.port >= 0 && options.port <= 65535, ErrorKind::kInvalidArgument, "--port ",
             options.port, ": must be in [0, 65535]");
  MOVA_CHECK(options.threads >= 1, ErrorKind::kInvalidArgument, "server threads must be >= 1");
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(options.port);
  const int gai = ::getaddrinfo(options.host.c_str(), port.c_str(), &hints, &found);
  MOVA_CHECK(gai == 0, ErrorKind::kInvalidArgument, "--host ", options.host, ": ",
             ::gai_strerror(gai));
  std::string why = "no address";
  for (addrinfo* a = found; a && listen_fd_ < 0; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      why = std::strerror(errno);
      continue;
    }
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, a->ai_addr, a->ai_addrlen) == 0 && ::listen(fd, 128) == 0) {
      listen_fd_ = fd;
      sockaddr_storage bound{};
      socklen_t len = sizeof bound;
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
      char service[16] = {};
      ::getnameinfo(reinterpret_cast<sockaddr*>(&bound), len, nullptr, 0, service, sizeof service,
                    NI_NUMERICSERV);
      port_ = std::atoi(service);
    } else {
      why = std::strerror(errno);
      ::close(fd);
    }
  }
  ::freeaddrinfo(found);
  MOVA_CHECK(listen_fd_ >= 0, ErrorKind::kIo, "cannot listen on ", options.host, ":", options.port,
             ": ", why);
  if (::pipe2(stop_pipe_, O_CLOEXEC | O_NONBLOCK) != 0) {
    ::close(listen_fd_);
    fail(ErrorKind::kIo, "mova serve: pipe: ", std::strerror(errno));
  }
}

HttpServer::~HttpServer() {
  if (listen_fd_ >= 0) ::close(listen_fd_);
  ::close(stop_pipe_[0]);
  ::close(stop_pipe_[1]);
}

void HttpServer::stop() {
  const char byte = 1;
  [[maybe_unused]] const ssize_t n = ::write(stop_pipe_[1], &byte, 1);
}

void HttpServer::serve() {
  std::mutex mutex;
  std::condition_variable ready;
  std::deque<int> waiting;
  bool stopping = false;
  std::vector<std::thread> threads;
  const auto finish = [&] {
    {
      std::lock_guard<std::mutex> lock(mutex);
      stopping = true;
    }
    ready.notify_all();
    for (std::thread& t : threads) t.join();
  };
  const auto take_connections = [&] {
    for (;;) {
      int fd;
      bool answer_it;
      {
        std::unique_lock<std::mutex> lock(mutex);
        ready.wait(lock, [&] { return stopping || !waiting.empty(); });
        if (waiting.empty()) return;  // stopping, and every connection answered
        fd = waiting.front();
        waiting.pop_front();
        answer_it = !stopping;
      }
      if (answer_it) {
        answer(fd);
      } else {
        send_simple(fd, error_response(503, "the server is stopping"), Deadline(1.0), -1);
        drain_before_close(fd, kBriefLingerSeconds);
      }
      ::close(fd);
    }
  };
  try {
    threads.reserve(static_cast<size_t>(options_.threads));
    for (int i = 0; i < options_.threads; ++i) threads.emplace_back(take_connections);
  } catch (...) {
    finish();
    throw;
  }

  pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
  bool said_out_of_descriptors = false;
  std::string failure;  // why the loop ended, when not by stop()
  for (;;) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      failure = std::string("poll: ") + std::strerror(errno);
      break;
    }
    if (fds[1].revents) break;
    if (!(fds[0].revents & POLLIN)) continue;
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE) {  // the connection stays queued: wait, not spin
        if (!said_out_of_descriptors)
          MOVA_LOG_WARN("mova serve: out of file descriptors; new connections wait");
        said_out_of_descriptors = true;
        wait_for(stop_pipe_[0], POLLIN, Deadline(0.1), -1);
      }
      continue;  // else the peer gave up already
    }
    said_out_of_descriptors = false;
    std::unique_lock<std::mutex> lock(mutex);
    if (waiting.size() >= kMaxWaiting) {
      lock.unlock();
      MOVA_LOG_INFO("mova serve: ", kMaxWaiting, " connections wait already -> 503");
      send_simple(fd, error_response(503, "too many connections; try again"),
                  Deadline(kBriefLingerSeconds), stop_pipe_[0]);
      drain_before_close(fd, kBriefLingerSeconds);
      ::close(fd);
      continue;
    }
    waiting.push_back(fd);
    ready.notify_one();
  }
  ::close(listen_fd_);  // from here on, connecting is refused
  listen_fd_ = -1;
  try {
    if (options_.on_stop) options_.on_stop();
  } catch (...) {
    finish();  // joinable threads must not be destroyed
    throw;
  }
  finish();
  MOVA_CHECK(failure.empty(), ErrorKind::kIo, "mova serve: ", failure);
}

void HttpServer::answer(int fd) const {
  const int stop_fd = stop_pipe_[0];
  const Deadline whole(options_.request_seconds);
  const Deadline head_deadline = Deadline::earlier(whole, Deadline(options_.head_seconds));
  const auto t0 = Clock::now();
  std::string received;
  size_t head_end = std::string::npos;
  HttpRequest request;
  HttpResponse response;
  bool read_to_end = false;  // the whole request was read: nothing is left to drain
  try {
    while ((head_end = find_head_end(received)) == std::string::npos) {
      if (received.size() > options_.limits.max_head_bytes)
        throw HttpError(431, "the request head is over " +
                                 std::to_string(options_.limits.max_head_bytes) + " bytes");
      const Read r = receive_some(fd, received, head_deadline, stop_fd);
      if (r == Read::kGone || (r == Read::kEnd && received.empty())) return;  // nobody to answer
      if (r == Read::kEnd) throw HttpError(400, "the connection closed inside the request head");
      if (r == Read::kTimedOut) throw HttpError(408, "the request head did not arrive in time");
    }
    request = parse_request_head(std::string_view(received).substr(0, head_end), options_.limits);
    if (options_.check_head) options_.check_head(request);
    const auto length = static_cast<size_t>(request.content_length);
    request.body = received.substr(head_end, length);
    // HTTP/1.0 has no interim responses (RFC 9110 15.2): such a client sends its body anyway.
    if (request.body.size() < length && request.expect_continue && request.http11)
      send_all(fd, std::string("HTTP/1.1 100 Continue\r\n\r\n"), whole, stop_fd);
    while (request.body.size() < length) {
      const Read r = receive_some(fd, request.body, whole, stop_fd);
      if (r == Read::kGone) return;
      if (r == Read::kEnd) throw HttpError(400, "the connection closed inside the request body");
      if (r == Read::kTimedOut) throw HttpError(408, "the request body did not arrive in time");
    }
    request.body.resize(length);  // bytes after the body (a pipelined request) are not read
    read_to_end = received.size() <= head_end + length;
    response = handler_(request);
  } catch (const HttpError& e) {
    response = error_response(e.status(), e.what());
  } catch (const std::exception& e) {
    response = error_response(500, std::string("internal error: ") + e.what());
  }
  try {
    send_response(fd, response, Deadline(options_.response_seconds), stop_fd);
    if (!read_to_end) drain_before_close(fd, kLingerSeconds);
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    const LogLevel level = response.status >= 400 ? LogLevel::kInfo : LogLevel::kDebug;
    MOVA_LOG(level, "mova serve: ",
             request.method.empty() ? "(malformed request)" : request.method + " " + request.target,
             " -> ", response.status, " (", static_cast<int64_t>(ms), " ms)");
  } catch (const std::exception&) {
    // Out of memory while answering: the connection closes without (the rest of) its answer.
  }
}

}  // namespace mova::server
