// tests/transport/test_peer.h — blocking SIP peers for loopback tests, on
// plain POSIX sockets so the code under test is the only Asio in the picture.
//
// Every wait is bounded (poll with a timeout, 2 s by default): a test that
// gets no answer fails quickly instead of hanging.
#ifndef SWITCHBOARD_TESTS_TRANSPORT_TEST_PEER_H_
#define SWITCHBOARD_TESTS_TRANSPORT_TEST_PEER_H_

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace testpeer {

using std::chrono::milliseconds;
inline constexpr milliseconds kWait{2000};

// True when an IPv6 loopback socket can be bound here.
bool ipv6_loopback_available();

class UdpPeer {
 public:
  // Binds to 127.0.0.1:0 or [::1]:0.
  explicit UdpPeer(bool ipv6 = false);
  ~UdpPeer();
  UdpPeer(const UdpPeer&) = delete;
  UdpPeer& operator=(const UdpPeer&) = delete;

  bool ok() const { return fd_ >= 0; }
  uint16_t port() const { return port_; }
  bool send_to(const std::string& ip, uint16_t port, std::string_view bytes);
  // One datagram, or nullopt after `timeout`.
  std::optional<std::string> receive(milliseconds timeout = kWait);
  // The same, also telling where it came from.
  struct Endpoint {
    std::string ip;
    uint16_t port = 0;
  };
  std::optional<std::string> receive_from(Endpoint* from, milliseconds timeout = kWait);

 private:
  int fd_ = -1;
  bool ipv6_ = false;
  uint16_t port_ = 0;
};

class TcpPeer {
 public:
  TcpPeer() = default;
  ~TcpPeer();
  TcpPeer(const TcpPeer&) = delete;
  TcpPeer& operator=(const TcpPeer&) = delete;

  bool connect(const std::string& ip, uint16_t port);
  uint16_t local_port() const { return local_port_; }
  bool write(std::string_view bytes);
  // One whole SIP message (header block plus Content-Length body) from the
  // stream, or nullopt after `timeout` or on close.
  std::optional<std::string> read_message(milliseconds timeout = kWait);
  // Exactly `n` bytes, or nullopt.
  std::optional<std::string> read_bytes(size_t n, milliseconds timeout = kWait);
  // True once the server has closed (EOF or reset) within `timeout`.
  bool wait_closed(milliseconds timeout = kWait);
  // Bytes received but not consumed yet.
  const std::string& pending() const { return buffer_; }
  void close();

 private:
  // Reads what is available into buffer_; false on timeout, EOF or error.
  bool fill(std::chrono::steady_clock::time_point deadline);

  int fd_ = -1;
  uint16_t local_port_ = 0;
  bool eof_ = false;
  std::string buffer_;
};

// A request as a client would send it.
struct RequestSpec {
  std::string method = "OPTIONS";
  std::string request_uri = "sip:switchboard.test";
  std::string transport = "UDP";
  std::string via_host = "127.0.0.1";
  uint16_t via_port = 5060;       // 0: no port in sent-by
  std::string branch = "z9hG4bK-test-1";
  bool rport = true;
  std::string from = "<sip:alice@switchboard.test>;tag=from-tag-1";
  std::string to = "<sip:alice@switchboard.test>";
  std::string call_id = "call-1@test";
  uint32_t cseq = 1;
  std::string cseq_method;        // "": the method
  std::string extra_headers;      // whole lines, each ending in CRLF
  std::string body;
};
std::string make_request(const RequestSpec& spec);

}  // namespace testpeer

#endif  // SWITCHBOARD_TESTS_TRANSPORT_TEST_PEER_H_
