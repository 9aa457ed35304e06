// tests/transport/test_peer.cc — see test_peer.h.
#include "test_peer.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace testpeer {
namespace {

bool make_addr(const std::string& ip, uint16_t port, sockaddr_storage& ss, socklen_t& len) {
  std::memset(&ss, 0, sizeof ss);
  std::string host = ip;
  if (!host.empty() && host.front() == '[') host = host.substr(1, host.size() - 2);
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    len = sizeof(sockaddr_in);
    return true;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    len = sizeof(sockaddr_in6);
    return true;
  }
  return false;
}

uint16_t local_port_of(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return 0;
  if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
}

int millis_until(std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
  return left.count() < 0 ? 0 : int(left.count());
}

}  // namespace

bool ipv6_loopback_available() {
  int fd = ::socket(AF_INET6, SOCK_DGRAM, 0);
  if (fd < 0) return false;
  sockaddr_storage ss;
  socklen_t len;
  make_addr("::1", 0, ss, len);
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) == 0;
  ::close(fd);
  return ok;
}

UdpPeer::UdpPeer(bool ipv6) : ipv6_(ipv6) {
  fd_ = ::socket(ipv6 ? AF_INET6 : AF_INET, SOCK_DGRAM, 0);
  if (fd_ < 0) return;
  sockaddr_storage ss;
  socklen_t len;
  make_addr(ipv6 ? "::1" : "127.0.0.1", 0, ss, len);
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    ::close(fd_);
    fd_ = -1;
    return;
  }
  port_ = local_port_of(fd_);
}

UdpPeer::~UdpPeer() {
  if (fd_ >= 0) ::close(fd_);
}

bool UdpPeer::send_to(const std::string& ip, uint16_t port, std::string_view bytes) {
  sockaddr_storage ss;
  socklen_t len;
  if (!make_addr(ip, port, ss, len)) return false;
  return ::sendto(fd_, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&ss), len) ==
         ssize_t(bytes.size());
}

std::optional<std::string> UdpPeer::receive(milliseconds timeout) {
  return receive_from(nullptr, timeout);
}

std::optional<std::string> UdpPeer::receive_from(Endpoint* from, milliseconds timeout) {
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, int(timeout.count())) <= 0) return std::nullopt;
  std::string buf(65536, '\0');
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  ssize_t n = ::recvfrom(fd_, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&ss), &len);
  if (n < 0) return std::nullopt;
  buf.resize(size_t(n));
  if (from != nullptr) {
    char text[INET6_ADDRSTRLEN] = {};
    if (ss.ss_family == AF_INET) {
      auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
      inet_ntop(AF_INET, &v4->sin_addr, text, sizeof text);
      from->port = ntohs(v4->sin_port);
    } else {
      auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
      inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof text);
      from->port = ntohs(v6->sin6_port);
    }
    from->ip = text;
  }
  return buf;
}

TcpPeer::~TcpPeer() { close(); }

void TcpPeer::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool TcpPeer::connect(const std::string& ip, uint16_t port) {
  sockaddr_storage ss;
  socklen_t len;
  if (!make_addr(ip, port, ss, len)) return false;
  fd_ = ::socket(ss.ss_family, SOCK_STREAM, 0);
  if (fd_ < 0) return false;
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // byte-by-byte writes stay separate
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    close();
    return false;
  }
  local_port_ = local_port_of(fd_);
  return true;
}

bool TcpPeer::write(std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    bytes.remove_prefix(size_t(n));
  }
  return true;
}

bool TcpPeer::fill(std::chrono::steady_clock::time_point deadline) {
  if (fd_ < 0 || eof_) return false;
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, millis_until(deadline)) <= 0) return false;
  char buf[8192];
  ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
  if (n <= 0) {
    eof_ = true;
    return false;
  }
  buffer_.append(buf, size_t(n));
  return true;
}

std::optional<std::string> TcpPeer::read_message(milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    size_t end = buffer_.find("\r\n\r\n");
    if (end != std::string::npos) {
      size_t body = 0;
      std::string head = buffer_.substr(0, end);
      for (std::string_view name : {"\r\nContent-Length:", "\r\nl:"}) {
        size_t at = head.find(name);
        if (at != std::string::npos) body = std::strtoul(head.c_str() + at + name.size(), nullptr, 10);
      }
      size_t total = end + 4 + body;
      if (buffer_.size() >= total) {
        std::string message = buffer_.substr(0, total);
        buffer_.erase(0, total);
        return message;
      }
    }
    if (!fill(deadline)) return std::nullopt;
  }
}

std::optional<std::string> TcpPeer::read_bytes(size_t n, milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (buffer_.size() < n)
    if (!fill(deadline)) return std::nullopt;
  std::string out = buffer_.substr(0, n);
  buffer_.erase(0, n);
  return out;
}

bool TcpPeer::wait_closed(milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!eof_) {
    if (fd_ < 0) return true;
    if (!fill(deadline) && !eof_) return false;  // timed out with the connection open
  }
  return true;
}

std::string make_request(const RequestSpec& s) {
  std::string cseq_method = s.cseq_method.empty() ? s.method : s.cseq_method;
  std::string sent_by = s.via_host + (s.via_port ? ":" + std::to_string(s.via_port) : "");
  std::string r;
  r += s.method + " " + s.request_uri + " SIP/2.0\r\n";
  r += "Via: SIP/2.0/" + s.transport + " " + sent_by + ";branch=" + s.branch +
       (s.rport ? ";rport" : "") + "\r\n";
  r += "Max-Forwards: 70\r\n";
  r += "From: " + s.from + "\r\n";
  r += "To: " + s.to + "\r\n";
  r += "Call-ID: " + s.call_id + "\r\n";
  r += "CSeq: " + std::to_string(s.cseq) + " " + cseq_method + "\r\n";
  r += s.extra_headers;
  r += "Content-Length: " + std::to_string(s.body.size()) + "\r\n\r\n";
  r += s.body;
  return r;
}

}  // namespace testpeer
