// gateway/api/validation.h — request fields → registrar values, with every
// problem reported as a field violation (google.rpc.BadRequest) rather than
// the first one only.
//
//   std::vector<FieldViolation> bad;
//   registrar::Realm realm;                       // defaults
//   apply_realm(request.realm(), RealmFields::all(), "realm", realm, bad);
//   if (!bad.empty()) return invalid_argument(bad);
//
//   auto credential = credential_from_secret(request.credential(), "credential", realm,
//                                            username, bad);   // password | ha1_* | hash1+hash1b
//
// Threading: pure functions.
#ifndef SWITCHBOARD_GATEWAY_API_VALIDATION_H_
#define SWITCHBOARD_GATEWAY_API_VALIDATION_H_

#include <google/protobuf/field_mask.pb.h>

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/api/status.h"
#include "registrar/credentials.h"
#include "registrar/realm.h"
#include "switchboard/v1/admin.pb.h"

namespace switchboard::api {

// A domain name: labels of letters, digits and '-' (not first or last),
// 1-63 characters each, 253 in all.
bool is_domain_name(std::string_view s);

// A digest username or AOR user part: 1-255 printable characters without
// whitespace, '"' or '\' (they go into quoted-strings of Digest headers).
bool is_username(std::string_view s);

inline constexpr uint32_t kMaxContactsLimit = 10'000;

// Which Realm fields an update sets. `explicit_mask`: the fields were named
// in an update_mask, so a zero number is an error rather than "the default".
struct RealmFields {
  std::set<std::string> paths;  // proto field names
  bool explicit_mask = false;
  static RealmFields all();
  bool has(std::string_view path) const { return paths.count(std::string(path)) > 0; }
};

// update_mask of UpdateRealm: empty or "*" means every settable field;
// unknown and output-only paths are violations of "update_mask".
RealmFields realm_fields_from_mask(const google::protobuf::FieldMask& mask,
                                   std::vector<FieldViolation>& violations);

// Writes the chosen fields of `in` into `realm` (keeping the others), then
// checks the expiry ordering of the result. Unset enums take their
// documented defaults; with !explicit_mask zero numbers do too.
void apply_realm(const ::switchboard::v1::Realm& in, const RealmFields& fields,
                 std::string_view prefix, registrar::Realm& realm,
                 std::vector<FieldViolation>& violations);

// The credential the secret fields of `in` describe: exactly one of
// password; ha1_md5/ha1_sha256/ha1_sha512_256; hash1 + hash1b. The realm's
// stored spelling goes into the hashes; hash1b's domain is the realm name.
// nullopt (with violations) when the fields are wrong. Never puts a secret
// into a message.
std::optional<registrar::Credential> credential_from_secret(
    const ::switchboard::v1::Credential& in, std::string_view prefix, const registrar::Realm& realm,
    std::string_view username, std::vector<FieldViolation>& violations);

// update_mask of UpdateCredential: only the secret fields may be named.
void check_credential_mask(const google::protobuf::FieldMask& mask,
                           std::vector<FieldViolation>& violations);

}  // namespace switchboard::api

#endif  // SWITCHBOARD_GATEWAY_API_VALIDATION_H_
