// tests/flows/scripted_ua.h — a small SIP user agent for call-flow tests: it
// sends real REGISTERs over UDP or TCP to a running server, answers digest
// challenges, and checks what comes back.
//
//   ScriptedUa alice("alice", "s3cret", "acme.test", server_ip, port);
//   alice.send(alice.make_register({.expires = 600}));
//   sip::Message challenge = alice.expect(401);
//   alice.send(alice.make_register({.expires = 600, .challenge = &challenge}));
//   sip::Message ok = alice.expect(200);
#ifndef SWITCHBOARD_TESTS_FLOWS_SCRIPTED_UA_H_
#define SWITCHBOARD_TESTS_FLOWS_SCRIPTED_UA_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sip/message.h"
#include "../transport/test_peer.h"

namespace flows {

inline constexpr const char* kDefaultContact = "default";  // <sip:user@127.0.0.1:port>

struct RegisterOptions {
  std::optional<uint32_t> expires = {};                        // the Expires header
  std::vector<std::string> contacts = {kDefaultContact};  // Contact values; {} for none
  const sip::Message* challenge = nullptr;                // answer this 401/407
  std::string password = {};                                   // "" = the UA's own
  std::string username = {};                                   // digest username; "" = the UA's
  std::string algorithm = {};                                  // "" = the first one offered
  std::string to_user = {};                                    // "" = the UA's user
  std::string request_uri = {};                                // "" = sip:DOMAIN
  std::string digest_uri = {};                                 // "" = the Request-URI
  std::optional<std::string> call_id = {};                     // default: the UA's Call-ID
  std::optional<uint32_t> cseq = {};                           // default: the next CSeq
  std::string nc = "00000001";
  bool qop = true;                                        // answer with qop=auth
  std::string extra_headers = {};                              // whole lines ending in CRLF
};

class ScriptedUa {
 public:
  ScriptedUa(std::string user, std::string password, std::string domain, std::string server_ip,
             uint16_t server_port, bool tcp = false);

  std::string make_register(const RegisterOptions& options);
  void send(const std::string& wire);
  // The next response; fails the test (and returns an empty optional) on a timeout.
  std::optional<sip::Message> receive(std::chrono::milliseconds timeout = testpeer::kWait);
  // The next response, which must have this status; a default-parsed 500 when not.
  sip::Message expect(int status);
  // Nothing arrives within `timeout`.
  bool silent(std::chrono::milliseconds timeout);

  // REGISTER → 401/407 → REGISTER with credentials → returns the final response.
  sip::Message register_with_auth(RegisterOptions options);

  uint16_t local_port() const;
  const std::string& user() const { return user_; }
  std::string default_contact() const;

 private:
  std::string user_, password_, domain_, server_ip_;
  uint16_t server_port_;
  bool tcp_;
  std::unique_ptr<testpeer::UdpPeer> udp_;
  std::unique_ptr<testpeer::TcpPeer> tcp_peer_;
  std::string call_id_;
  uint32_t cseq_ = 0;
  uint32_t branch_ = 0;
};

// Contact values of a response, as "<uri>;params" strings.
std::vector<std::string> contact_values(const sip::Message& m);
// The expires parameter of the Contact whose URI is `uri` (-1 when absent).
long contact_expires(const sip::Message& m, std::string_view uri);

}  // namespace flows

#endif  // SWITCHBOARD_TESTS_FLOWS_SCRIPTED_UA_H_
