// registrar/binding.h — one entry of the location service (RFC 3261 §10.3):
// an AOR bound to a contact, with where the REGISTER came from so that later
// requests reach the device (RFC 3581 received/rport, RFC 5626 flows, RFC 3327 Path).
//
//   registrar::Binding b;
//   b.aor = "alice@acme.test";                  // sip::aor_key(To URI)
//   b.contact = "sip:alice@192.0.2.4:5062";     // the Contact URI as registered
//   b.expires_at = now + std::chrono::seconds(3600);
//
// A Binding is a value; it owns its strings.
#ifndef SWITCHBOARD_REGISTRAR_BINDING_H_
#define SWITCHBOARD_REGISTRAR_BINDING_H_

#include <chrono>
#include <cstdint>
#include <string>

namespace registrar {

using WallTime = std::chrono::system_clock::time_point;

struct Binding {
  // Identity: the AOR and the contact URI (two contacts are the same binding
  // when their URIs are equal by RFC 3261 §19.1.4; the registrar decides that).
  std::string aor;       // "user@domain", user unescaped, domain lower-case
  std::string realm;     // the realm that authenticated it
  std::string contact;   // the Contact URI exactly as registered (escapes kept)
  std::string username;  // the authenticated digest username ("" for IP-ACL)

  // The received source of the REGISTER (RFC 3581): where requests go.
  std::string transport;      // "udp" | "tcp" | "tls"
  std::string source_ip;      // without IPv6 brackets
  uint16_t source_port = 0;
  std::string local_address;  // the listener it arrived on, "udp:127.0.0.1:5060"
  uint64_t connection_id = 0; // the TCP/TLS connection (0 for UDP)
  // The replica that took the REGISTER and holds the flow (its replica.id;
  // docs/scale-out.md): requests to the device leave from that process. ""
  // on the embedded store (one process).
  std::string replica;

  std::string path;           // RFC 3327 Path values, comma-separated, as received
  std::string instance_id;    // RFC 5626 +sip.instance, unquoted ("<urn:uuid:…>")
  uint32_t reg_id = 0;        // RFC 5626 reg-id, 0 when absent

  std::string call_id;
  uint32_t cseq = 0;
  WallTime expires_at{};
  int q = -1;                 // q-value times 1000 (0..1000); -1 when absent
  std::string user_agent;
  WallTime first_registered{};
  WallTime last_registered{};

  friend bool operator==(const Binding&, const Binding&) = default;
};

}  // namespace registrar

#endif  // SWITCHBOARD_REGISTRAR_BINDING_H_
