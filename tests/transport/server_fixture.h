// tests/transport/server_fixture.h — a SipServer on loopback ephemeral ports,
// and helpers to parse what comes back.
#ifndef SWITCHBOARD_TESTS_TRANSPORT_SERVER_FIXTURE_H_
#define SWITCHBOARD_TESTS_TRANSPORT_SERVER_FIXTURE_H_

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "gateway/sip_server.h"
#include "sip/parser.h"
#include "sip/transport/listen_address.h"
#include "test_peer.h"

namespace testpeer {

// Predictable To tags: "srv-1", "srv-2", ... (thread-safe).
inline switchboard::TagSource counting_tags() {
  auto n = std::make_shared<std::atomic<int>>(0);
  return [n] { return "srv-" + std::to_string(++*n); };
}

// Options for a server on UDP and TCP, 127.0.0.1 (or ::1), ephemeral ports.
inline switchboard::SipServerOptions loopback_options(bool ipv6 = false, unsigned threads = 2) {
  switchboard::SipServerOptions o;
  const std::string host = ipv6 ? "[::1]" : "127.0.0.1";
  o.listen.push_back(*sip::transport::parse_listen_address("udp:" + host + ":0", nullptr));
  o.listen.push_back(*sip::transport::parse_listen_address("tcp:" + host + ":0", nullptr));
  o.threads = threads;
  o.tags = counting_tags();
  return o;
}

// A started server; fails the test when it cannot start.
class RunningServer {
 public:
  explicit RunningServer(switchboard::SipServerOptions options, bool ipv6 = false)
      : server_(std::move(options)), ipv6_(ipv6) {
    std::string error;
    started_ = server_.start(&error);
    EXPECT_TRUE(started_) << error;
  }
  bool started() const { return started_; }
  switchboard::SipServer& server() { return server_; }
  std::string ip() const { return ipv6_ ? "::1" : "127.0.0.1"; }
  uint16_t udp_port() const { return port(sip::transport::Protocol::kUdp); }
  uint16_t tcp_port() const { return port(sip::transport::Protocol::kTcp); }

 private:
  uint16_t port(sip::transport::Protocol p) const {
    auto a = server_.bound_address(p, ipv6_);
    return a ? a->port : 0;
  }
  switchboard::SipServer server_;
  bool ipv6_;
  bool started_ = false;
};

// Parses a received response; fails the test when it does not parse.
inline std::optional<sip::ParseResult> parse_response(const std::optional<std::string>& bytes) {
  if (!bytes) {
    ADD_FAILURE() << "no response";
    return std::nullopt;
  }
  sip::ParseResult r = sip::parse_message(*bytes);
  if (!r.ok()) {
    ADD_FAILURE() << "unparsable response: " << r.error().reason << "\n" << *bytes;
    return std::nullopt;
  }
  if (!r.message().is_response()) {
    ADD_FAILURE() << "not a response:\n" << *bytes;
    return std::nullopt;
  }
  return r;
}

// Polls `predicate` for up to `timeout`.
template <typename Predicate>
bool eventually(Predicate predicate, std::chrono::milliseconds timeout = kWait) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (predicate()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return predicate();
}

}  // namespace testpeer

#endif  // SWITCHBOARD_TESTS_TRANSPORT_SERVER_FIXTURE_H_
