// tests/calls/test_device.h — a scripted SIP device for call-flow tests: it
// registers with the real registrar over UDP or TCP on loopback, receives the
// engine's INVITEs, answers, rejects or challenges them, and sends its own
// requests (INVITE, ACK, CANCEL, BYE, INFO, re-INVITE).
//
//   TestDevice alice("alice", "alice-pw", "acme.test", server_port);
//   ASSERT_TRUE(alice.register_binding());
//   ... engine.create_call(...) ...
//   sip::Message invite = *alice.expect_request("INVITE");
//   alice.send(alice.response(invite, 200, kAnswerSdp));
//   sip::Message ack = *alice.expect_request("ACK");
//
// Every wait is bounded (2 s by default): a missing message fails the test
// instead of hanging it.
#ifndef SWITCHBOARD_TESTS_CALLS_TEST_DEVICE_H_
#define SWITCHBOARD_TESTS_CALLS_TEST_DEVICE_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sip/message.h"
#include "test_peer.h"

namespace calltest {

using std::chrono::milliseconds;
inline constexpr milliseconds kWait{2000};

class TestDevice {
 public:
  TestDevice(std::string user, std::string password, std::string domain, uint16_t server_port,
             bool tcp = false);

  const std::string& user() const { return user_; }
  uint16_t port() const;
  bool tcp() const { return tcp_; }
  // "<sip:alice@127.0.0.1:PORT>" (";transport=tcp" over TCP).
  std::string contact() const;
  std::string contact_uri() const;
  // The tag this device puts in To of its responses (its side of a dialog).
  const std::string& tag() const { return tag_; }

  // REGISTER → 401 → REGISTER with credentials → 200. `extra` are whole
  // header lines ending in CRLF (e.g. a Path).
  bool register_binding(const std::string& extra = "");

  void send(const std::string& bytes);
  // The next message, whatever it is; nullopt after `timeout`.
  std::optional<sip::Message> receive(milliseconds timeout = kWait);
  // The next request, which must have this method (100 Trying responses are
  // skipped); nullopt (and a test failure) otherwise.
  std::optional<sip::Message> expect_request(std::string_view method, milliseconds timeout = kWait);
  // The next requests, in any order (UDP keeps no order between messages:
  // an ACK and the next INVITE may cross); 100 Trying is skipped. Returns
  // them in the order of `methods`; empty (and a test failure) otherwise.
  std::vector<sip::Message> expect_requests(std::vector<std::string_view> methods,
                                            milliseconds timeout = kWait);
  // The next response, which must have this status (a 100 is skipped unless
  // asked for).
  std::optional<sip::Message> expect_response(int status, milliseconds timeout = kWait);
  // Nothing but 100 Trying arrives within `timeout`.
  bool silent(milliseconds timeout);

  // This device's response to `request` (To tag = tag(), Contact =
  // contact()); `body` is SDP unless `content_type` says otherwise.
  std::string response(const sip::Message& request, int status, std::string_view body = {},
                       std::string_view extra = {}) const;

  // A request inside the dialog of `invite`, which this device answered (it
  // is the UAS): Request-URI = the INVITE's Contact, From = its To + tag(),
  // To = its From, Route = its Record-Route.
  std::string in_dialog(const sip::Message& invite, std::string_view method, uint32_t cseq,
                        std::string_view content_type = {}, std::string_view body = {}) const;

  // This device calling `to` ("sip:bob@acme.test"): an INVITE with an SDP
  // offer. `auth` is a whole Authorization/Proxy-Authorization line (with
  // its CRLF), or empty.
  struct Invite {
    std::string to = "sip:bob@acme.test";
    std::string call_id = "device-call-1";
    uint32_t cseq = 1;
    std::string branch = "z9hG4bK-dev-1";
    std::string sdp = "v=0\r\no=alice 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";
    std::string auth;
    std::string from_tag = "dev-from-1";
  };
  std::string invite(const Invite& spec) const;
  // The CANCEL of that INVITE (same branch, §9.1).
  std::string cancel(const Invite& spec) const;
  // The ACK of a non-2xx final to that INVITE (same branch).
  std::string ack_non_2xx(const Invite& spec, const sip::Message& response) const;
  // The ACK of a 2xx to that INVITE (new branch; To with the remote tag).
  std::string ack_2xx(const Invite& spec, const sip::Message& ok, std::string_view body = {}) const;
  // A request inside the dialog of our INVITE `spec` answered by `ok`.
  std::string uac_in_dialog(const Invite& spec, const sip::Message& ok, std::string_view method,
                            uint32_t cseq, std::string_view content_type = {},
                            std::string_view body = {}) const;

 private:
  std::string user_, password_, domain_;
  uint16_t server_port_;
  bool tcp_;
  std::string tag_;
  std::unique_ptr<testpeer::UdpPeer> udp_;
  std::unique_ptr<testpeer::TcpPeer> tcp_peer_;
  uint32_t register_cseq_ = 0;
  mutable uint32_t branches_ = 0;
};

// Digest answer for a challenge from the server (REGISTER or INVITE).
std::string digest_authorization(const sip::Message& challenge, std::string_view method,
                                 std::string_view uri, std::string_view user,
                                 std::string_view password);

}  // namespace calltest

#endif  // SWITCHBOARD_TESTS_CALLS_TEST_DEVICE_H_
