// registrar/registrar.h — REGISTER processing, RFC 3261 §10.3 in order:
//
//   1. the Request-URI names a served realm                  else 404
//   2. Require option-tags                                   (done by sip/validate)
//   3. authenticate (digest, IP-ACL, or both per the realm)  else 401/407, 403
//   4. the To AOR belongs to the authenticated user           else 403
//   5. (the AOR is served: implied by 1 and 4)
//   6. Contact rules: '*' only alone with Expires 0; expires from the contact
//      param, the Expires header, or the realm default; clamped to max; above
//      0 but below min → 423 with Min-Expires
//   7. per contact: same Call-ID with a CSeq not higher → refused; add,
//      refresh, remove; RFC 5626 instance/reg-id replaces the flow's binding
//   8. applied atomically (LocationService::update), durable before the
//      200 OK, which lists every binding with its remaining expires, plus Date
//      (and Path when Supported: path). No Contact → a query (§10.2.3).
//
// Every response is built here with the RFC 3581 received/rport of the
// request's source, and handed to `respond` exactly once — at once for
// challenges and errors, from the store's writer thread after a commit. An
// empty string means "send nothing" (a throttled source in drop mode).
//
//   registrar::Registrar reg(deps, options);
//   reg.handle_register(request, context, [reply](std::string wire) { reply.send(std::move(wire)); });
//
// Threading: handle_register() may be called from many threads at once.
#ifndef SWITCHBOARD_REGISTRAR_REGISTRAR_H_
#define SWITCHBOARD_REGISTRAR_REGISTRAR_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "registrar/location_service.h"
#include "registrar/nonce.h"
#include "registrar/store/credential_store.h"
#include "sip/clock.h"
#include "sip/message.h"

namespace registrar {

class AuthThrottle;

// Where the REGISTER came from (the transport's Source, as plain values).
struct RequestContext {
  std::string transport;       // "udp" | "tcp" | "tls"
  std::string source_ip;       // without brackets
  uint16_t source_port = 0;
  std::string local_address;   // "udp:127.0.0.1:5060"
  uint64_t connection_id = 0;  // 0 for UDP
  std::string to_tag;          // the tag to put in To of the response
};

struct RegistrarDeps {
  CredentialStore& credentials;
  LocationService& location;
  NonceService& nonces;
  NonceCounter& nonce_counts;
  const sip::Clock& clock;
  AuthThrottle* throttle = nullptr;  // optional
  // This process's replica.id, written into every binding a REGISTER adds or
  // refreshes (Binding::replica): the replica that holds the device's flow.
  // "" when one process serves the store (the embedded SQLite store).
  std::string replica_id = {};  // "= {}": initialisers that omit it draw no -Wextra warning
};

struct RegistrarOptions {
  std::string server_header = "Switchboard";  // Server / User-Agent value; "" for none
};

class Registrar {
 public:
  Registrar(RegistrarDeps deps, RegistrarOptions options = {});
  ~Registrar();

  using Respond = std::function<void(std::string wire)>;

  // REQUIRES: request.method_id() == sip::Method::kRegister and it passed
  // sip::check_request(). `request` need only live during the call.
  void handle_register(const sip::Message& request, const RequestContext& context,
                       Respond respond);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace registrar

#endif  // SWITCHBOARD_REGISTRAR_REGISTRAR_H_
