// registrar/realm.h — a served domain and its registration policy.
//
// A realm is both the digest realm (RFC 3261 §22.1) and the SIP domain of the
// AORs it serves: REGISTER sip:acme.test with To sip:alice@acme.test is
// authenticated against realm "acme.test".
#ifndef SWITCHBOARD_REGISTRAR_REALM_H_
#define SWITCHBOARD_REGISTRAR_REALM_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "registrar/digest.h"

namespace registrar {

enum class ChallengeMode : uint8_t {
  k401,  // 401 with WWW-Authenticate, credentials in Authorization (RFC 3261 §22.2)
  k407,  // 407 with Proxy-Authenticate, credentials in Proxy-Authorization
};

enum class ContactOverflowPolicy : uint8_t {
  kReject,       // the REGISTER that would exceed max_contacts gets 403
  kEvictOldest,  // the oldest binding of the AOR makes room
};

enum class SourceAuthMode : uint8_t {
  kDigest,             // digest only (trusted CIDRs ignored)
  kTrustedOrDigest,    // a request from a trusted CIDR needs no digest
  kTrustedAndDigest,   // both: a trusted source AND a valid digest
};

// An IPv4 or IPv6 network, "192.0.2.0/24" or "2001:db8::/32".
struct Cidr {
  std::string text;
};

struct Realm {
  std::string name;
  ChallengeMode challenge = ChallengeMode::k401;
  // Offered strongest first, one challenge header each (RFC 8760 §2.4). The
  // default is MD5 alone: sipp, sipsak, baresip and many phones read only the
  // first challenge header and speak only MD5, so a SHA-first default would
  // lock them out. Realms with capable devices list
  // [SHA-512-256, SHA-256, MD5] (docs/registrar.md).
  std::vector<DigestAlgorithm> algorithms = {DigestAlgorithm::kMd5};
  bool allow_qop_less = false;  // accept RFC 2069 responses without qop (legacy clients)
  uint32_t default_expires = 3600;
  uint32_t min_expires = 60;
  uint32_t max_expires = 7200;
  uint32_t max_contacts = 10;  // per AOR
  ContactOverflowPolicy overflow = ContactOverflowPolicy::kReject;
  SourceAuthMode source_auth = SourceAuthMode::kDigest;
  std::vector<Cidr> trusted_sources;
  // AOR user parts a username may register besides its own: {"alice": {"sales", "+15551234"}}.
  std::map<std::string, std::vector<std::string>> aliases;
};

}  // namespace registrar

#endif  // SWITCHBOARD_REGISTRAR_REALM_H_
