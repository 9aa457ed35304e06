// registrar/authenticator.h — who sent this REGISTER (RFC 3261 §22, RFC 7616,
// RFC 8760), for one realm: digest, a trusted source address, or both.
//
// The outcome never tells an unknown user from a wrong password: both are a
// fresh challenge, and an unknown user's response is checked against a dummy
// HA1 so that the work (and time) is the same.
//
//   AuthResult r = auth.authenticate(request, realm, source_ip);
//   switch (r.kind) {
//     case AuthResult::kAuthenticated: ... r.username ...
//     case AuthResult::kChallenge:     reply(realm 401/407, auth.challenge_headers(realm, r.stale));
//     case AuthResult::kForbidden:     reply(403);   // or drop when r.drop
//     case AuthResult::kBadRequest:    reply(400, r.reason);
//   }
//
// Threading: authenticate() may be called from many threads at once.
#ifndef SWITCHBOARD_REGISTRAR_AUTHENTICATOR_H_
#define SWITCHBOARD_REGISTRAR_AUTHENTICATOR_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "registrar/auth_throttle.h"
#include "registrar/nonce.h"
#include "registrar/realm.h"
#include "registrar/store/credential_store.h"
#include "sip/message.h"

namespace registrar {

struct AuthResult {
  enum Kind { kAuthenticated, kChallenge, kForbidden, kBadRequest };
  Kind kind = kChallenge;
  std::string username;   // kAuthenticated: as presented ("" for a trusted source)
  bool stale = false;     // kChallenge: the nonce was ours but expired (stale=true)
  bool failure = false;   // a failed attempt (wrong password, unknown user, replay…)
  bool drop = false;      // kForbidden: send nothing (throttled, drop mode)
  std::string presented_username;  // for observers; may be ""
  std::string reason;     // for logs and observers, never secret material
};

// True when `ip` is inside `cidr` ("192.0.2.0/24", "2001:db8::/32", or a bare address).
bool cidr_contains(std::string_view cidr, std::string_view ip);

class Authenticator {
 public:
  // All dependencies must outlive the authenticator. `throttle` may be null.
  Authenticator(const CredentialStore& credentials, const NonceService& nonces,
                NonceCounter& counts, AuthThrottle* throttle);

  AuthResult authenticate(const sip::Message& request, const Realm& realm,
                          std::string_view source_ip) const;

  // "WWW-Authenticate"/"Proxy-Authenticate" headers, one per algorithm the
  // realm offers, strongest first, each with a fresh nonce and qop="auth".
  std::vector<std::pair<std::string, std::string>> challenge_headers(const Realm& realm,
                                                                     bool stale) const;

 private:
  AuthResult check_digest(const sip::Message& request, const Realm& realm,
                          std::string_view source_ip) const;

  const CredentialStore& credentials_;
  const NonceService& nonces_;
  NonceCounter& counts_;
  AuthThrottle* throttle_;
  std::string dummy_ha1_md5_, dummy_ha1_sha256_;  // for unknown users
};

}  // namespace registrar

#endif  // SWITCHBOARD_REGISTRAR_AUTHENTICATOR_H_
