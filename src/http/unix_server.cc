// UnixServer: binding, the accept loop and per-connection threads (see unix_server.h).
#include "http/unix_server.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/logging.h"

namespace nydus::http {

struct UnixServer::Conn {
  int fd = -1;
  std::thread thread;
  std::atomic<bool> done{false};
};

namespace {

void CloseFd(int* fd) {
  if (*fd >= 0) ::close(*fd);
  *fd = -1;
}

bool FillAddr(const std::string& path, sockaddr_un* addr) {
  std::memset(addr, 0, sizeof(*addr));
  addr->sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(addr->sun_path)) return false;
  std::memcpy(addr->sun_path, path.data(), path.size());
  return true;
}

// Whether a server answers on `path`: connected → true; refused (stale file) → false.
Result<bool> LiveServerAt(const std::string& path) {
  sockaddr_un addr;
  FillAddr(path, &addr);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return Status::FromErrno(errno, "api socket: socket");
  int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  int err = errno;
  ::close(fd);
  if (rc == 0 || err == EAGAIN || err == EINPROGRESS) return true;  // EAGAIN: backlog full
  if (err == ECONNREFUSED || err == ENOENT) return false;
  return Status::FromErrno(err, "api socket: probing " + path);
}

HttpResponse ErrorResponse(int status, std::string_view msg) {
  return HttpResponse::Json(status, ErrorBody(msg));
}

}  // namespace

UnixServer::UnixServer(std::string path, Handler handler)
    : UnixServer(std::move(path), std::move(handler), Options()) {}

UnixServer::UnixServer(std::string path, Handler handler, Options options)
    : path_(std::move(path)), handler_(std::move(handler)), options_(options) {}

UnixServer::~UnixServer() {
  Stop();
  CloseFd(&listen_fd_);
  CloseFd(&wake_pipe_[0]);
  CloseFd(&wake_pipe_[1]);
}

Status UnixServer::Start() {
  if (started_ || stopped_) return Status::Internal("api server: Start() called twice");
  sockaddr_un addr;
  if (!FillAddr(path_, &addr)) {
    return Status::InvalidArgument("api socket path is empty or too long: " + path_);
  }
  struct stat st;
  if (::lstat(path_.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return Status::AlreadyExists("api socket " + path_ + " exists and is not a socket");
    }
    ASSIGN_OR_RETURN(bool live, LiveServerAt(path_));
    if (live) {
      return Status::AlreadyExists("another server is listening on api socket " + path_);
    }
    if (::unlink(path_.c_str()) != 0 && errno != ENOENT) {
      return Status::FromErrno(errno, "api socket: removing stale " + path_);
    }
    LOG_INFO("api socket: removed stale {}", path_);
  }
  if (::pipe2(wake_pipe_, O_CLOEXEC | O_NONBLOCK) != 0) {
    return Status::FromErrno(errno, "api socket: pipe");
  }
  listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (listen_fd_ < 0) return Status::FromErrno(errno, "api socket: socket");
  // On Linux the socket inode's mode is what bind() gives the file, so no window with a wider
  // mode exists; the chmod below covers other kernels.
  (void)::fchmod(listen_fd_, options_.socket_mode);
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    int err = errno;
    CloseFd(&listen_fd_);
    if (err == EADDRINUSE) return Status::AlreadyExists("api socket " + path_ + " is in use");
    return Status::FromErrno(err, "api socket: bind " + path_);
  }
  if (::chmod(path_.c_str(), options_.socket_mode) != 0 || ::lstat(path_.c_str(), &st) != 0 ||
      ::listen(listen_fd_, 64) != 0) {
    Status s = Status::FromErrno(errno, "api socket: setting up " + path_);
    ::unlink(path_.c_str());
    CloseFd(&listen_fd_);
    return s;
  }
  sock_dev_ = st.st_dev;
  sock_ino_ = st.st_ino;
  started_ = true;
  accept_thread_ = std::thread([this] { AcceptLoop(); });
  LOG_INFO("api server listening on {}", path_);
  return Status::OK();
}

void UnixServer::Stop() {
  if (!started_ || stopped_) return;
  stopped_ = true;
  stopping_.store(true);
  char b = 'x';
  (void)!::write(wake_pipe_[1], &b, 1);  // never drained: every later poll() sees it
  if (accept_thread_.joinable()) accept_thread_.join();
  ReapFinished(/*all=*/true);
  struct stat st;
  if (::lstat(path_.c_str(), &st) == 0 && st.st_dev == sock_dev_ && st.st_ino == sock_ino_) {
    ::unlink(path_.c_str());
  }
  CloseFd(&listen_fd_);
  LOG_INFO("api server on {} stopped", path_);
}

size_t UnixServer::ActiveConnections() const {
  std::lock_guard<std::mutex> lock(mu_);
  size_t n = 0;
  for (const auto& c : conns_) n += c->done.load() ? 0 : 1;
  return n;
}

int UnixServer::WaitFd(int fd, short events, int timeout_ms) const {
  pollfd fds[2] = {{fd, events, 0}, {wake_pipe_[0], POLLIN, 0}};
  for (;;) {
    if (stopping_.load()) return -1;
    int rc = ::poll(fds, 2, timeout_ms);
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0 || (fds[1].revents & POLLIN)) return -1;
    if (rc == 0) return 0;
    return 1;  // ready, or an error/hangup the next read/write reports
  }
}

bool UnixServer::WriteAll(int fd, std::string_view data) const {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (WaitFd(fd, POLLOUT, options_.io_timeout_ms) <= 0) return false;
      continue;
    }
    return false;
  }
  return true;
}

void UnixServer::AcceptLoop() {
  while (!stopping_.load()) {
    int ready = WaitFd(listen_fd_, POLLIN, 1000);
    ReapFinished(/*all=*/false);
    if (ready < 0) break;
    if (ready == 0) continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE || errno == ENOMEM || errno == ENOBUFS) {
        LOG_WARN("api server: accept: {}", std::strerror(errno));
        WaitFd(-1, 0, 100);  // back off instead of spinning
      }
      continue;
    }
    std::lock_guard<std::mutex> lock(mu_);
    size_t live = 0;
    for (const auto& c : conns_) live += c->done.load() ? 0 : 1;
    if (live >= static_cast<size_t>(options_.max_connections)) {
      (void)WriteAll(fd, SerializeResponse(ErrorResponse(503, "too many connections"), false));
      ::close(fd);
      continue;
    }
    auto conn = std::make_unique<Conn>();
    conn->fd = fd;
    Conn* raw = conn.get();
    conns_.push_back(std::move(conn));
    raw->thread = std::thread([this, raw] { ServeConnection(raw); });
  }
}

void UnixServer::ReapFinished(bool all) {
  std::list<std::unique_ptr<Conn>> finished;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = conns_.begin(); it != conns_.end();) {
      if (all || (*it)->done.load()) {
        finished.push_back(std::move(*it));
        it = conns_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& c : finished) {
    if (c->thread.joinable()) c->thread.join();
  }
}

void UnixServer::ServeConnection(Conn* conn) {
  const int fd = conn->fd;
  std::string buf;
  bool sent_continue = false;
  char chunk[16 * 1024];
  while (!stopping_.load()) {
    HttpRequest req;
    ParseOutcome out = ParseHttpRequest(buf, options_.limits, &req);
    if (out.kind == ParseOutcome::kComplete) {
      buf.erase(0, out.consumed);
      sent_continue = false;
      HttpResponse resp;
      try {
        resp = handler_ ? handler_(req) : ErrorResponse(500, "no handler");
      } catch (...) {  // a handler must not throw; never let it kill the daemon
        resp = ErrorResponse(500, "internal error in request handler");
      }
      bool keep_alive = out.keep_alive && !stopping_.load();
      if (!WriteAll(fd, SerializeResponse(resp, keep_alive, req.method == "HEAD"))) break;
      if (!keep_alive) break;
      continue;
    }
    if (out.kind == ParseOutcome::kError) {
      LOG_DEBUG("api server: bad request: {}", out.error);
      (void)WriteAll(fd, SerializeResponse(ErrorResponse(out.error_status, out.error), false));
      break;
    }
    if (out.expect_continue && !sent_continue) {
      if (!WriteAll(fd, "HTTP/1.1 100 Continue\r\n\r\n")) break;
      sent_continue = true;
    }
    int ready = WaitFd(fd, POLLIN, buf.empty() ? options_.idle_timeout_ms : options_.io_timeout_ms);
    if (ready < 0) break;
    if (ready == 0) {
      if (!buf.empty()) {
        (void)WriteAll(fd, SerializeResponse(ErrorResponse(408, "request timed out"), false));
      }
      break;
    }
    ssize_t n = ::recv(fd, chunk, sizeof(chunk), MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
    if (n <= 0) break;  // EOF or reset
    buf.append(chunk, static_cast<size_t>(n));
  }
  ::shutdown(fd, SHUT_RDWR);
  ::close(fd);
  conn->done.store(true);
}

}  // namespace nydus::http
