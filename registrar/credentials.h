// registrar/credentials.h — what the registrar stores to check a Digest
// response: HA1 per algorithm (RFC 7616 §3.4.2, §5.2), never the password.
//
// An HA1 is H(username:realm:password). It authenticates only in its realm but
// there it is as good as the password, so it is redacted from every printout.
// The stored hashes are the base (non -sess) HA1s; the -sess algorithms derive
// theirs per request (see expected_response() in registrar/digest.h).
//
//   // Provisioning: compute every HA1, then forget the password.
//   auto c = registrar::Credential::from_password("registrar.example", "alice", password,
//                                                 "registrar.example");
//   // Loading from a store: validate what was stored.
//   auto r = registrar::Credential::from_hashes({.realm = "registrar.example",
//                                                .username = "alice",
//                                                .ha1_md5 = row.ha1});
//   if (!r.ok()) log(r.error);                            // "MD5 HA1 must be 32 hex digits, …"
//   std::optional<std::string_view> ha1 = r.credential->ha1(DigestAlgorithm::kSha256);
//   std::cout << *r.credential;                           // no hashes printed
//
// Threading: a Credential is a value; const methods may be called concurrently.
#ifndef SWITCHBOARD_REGISTRAR_CREDENTIALS_H_
#define SWITCHBOARD_REGISTRAR_CREDENTIALS_H_

#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "registrar/digest.h"

namespace registrar {

class Credential;

// Hashes as read from a store or configuration. Hex in either case; an absent
// hash is nullopt (an empty string is an error, not "absent").
struct StoredHashes {
  std::string_view realm = {};
  std::string_view username = {};
  std::string_view domain = {};                         // "" when unknown; needed to use hash1b
  std::optional<std::string_view> ha1_md5 = {};         // 32 hex digits
  std::optional<std::string_view> ha1_sha256 = {};      // 64 hex digits
  std::optional<std::string_view> ha1_sha512_256 = {};  // 64 hex digits
  std::optional<std::string_view> hash1b = {};  // 32 hex digits: MD5(user@domain:realm:password)
};

struct CredentialOrError;

class Credential {
 public:
  // Computes the HA1 of every algorithm OpenSSL offers here (MD5, SHA-256,
  // SHA-512-256), and hash1b when `domain` is not empty. The password is not
  // kept; the caller should drop (and wipe) its copy.
  // REQUIRES: realm and username are not empty.
  static Credential from_password(std::string_view realm, std::string_view username,
                                  std::string_view password, std::string_view domain = {});

  // Validates stored hashes: realm and username not empty, at least one hash,
  // each exactly the right number of hex digits for its algorithm (32 / 64 /
  // 64, hash1b 32). Hex is lower-cased. On failure the error names the field
  // and the problem, never the value.
  [[nodiscard]] static CredentialOrError from_hashes(const StoredHashes& hashes);

  const std::string& realm() const { return realm_; }
  const std::string& username() const { return username_; }
  const std::string& domain() const { return domain_; }

  // The stored HA1 (lower-case hex) for base_algorithm(alg), nullopt when this
  // credential has none. The view lives as long as the Credential.
  std::optional<std::string_view> ha1(DigestAlgorithm alg) const;

  // The HA1 to check a response from a client that presented `username` in its
  // credentials: ha1(alg) when it is username(); hash1b for
  // "username@domain" (MD5 and MD5-sess only, and only with a domain);
  // nullopt otherwise.
  std::optional<std::string_view> ha1_for(DigestAlgorithm alg,
                                          std::string_view presented_username) const;

  // MD5(username@domain:realm:password), lower-case hex, when stored.
  std::optional<std::string_view> hash1b() const;

  // ha1(alg) is present.
  bool supports(DigestAlgorithm alg) const { return ha1(alg).has_value(); }

  // The algorithms of kOfferedDigestAlgorithms this credential can answer,
  // strongest first: what to challenge this user with.
  std::vector<DigestAlgorithm> offerable_algorithms() const;

  // `Credential{username="alice", realm="registrar.example", ha1=[SHA-512-256,SHA-256,MD5],
  // hash1b=yes}`: which hashes exist, never their values.
  std::string redacted() const;

  friend bool operator==(const Credential&, const Credential&) = default;

 private:
  Credential() = default;

  std::string realm_;
  std::string username_;
  std::string domain_;
  std::optional<std::string> ha1_md5_;
  std::optional<std::string> ha1_sha256_;
  std::optional<std::string> ha1_sha512_256_;
  std::optional<std::string> hash1b_;
};

// Writes redacted().
std::ostream& operator<<(std::ostream& os, const Credential& c);

struct CredentialOrError {
  std::optional<Credential> credential;
  std::string error;  // set iff !credential
  bool ok() const { return credential.has_value(); }
};

}  // namespace registrar

#endif  // SWITCHBOARD_REGISTRAR_CREDENTIALS_H_
