// gateway/api/convert.h — registrar values → API messages (the other
// direction, with validation, lives in the services).
//
//   v1::Realm r = to_proto(realm, credentials.size(), realm.trusted_sources.size());
//   v1::Credential c = to_proto(credential);       // which hashes exist, never a hash
//   v1::Binding b = to_proto(binding);             // aor "sip:alice@acme.example"
//   v1::RegistrationEvent e = to_proto(event, last_sequence);
//
// Threading: pure functions.
#ifndef SWITCHBOARD_GATEWAY_API_CONVERT_H_
#define SWITCHBOARD_GATEWAY_API_CONVERT_H_

#include <google/protobuf/timestamp.pb.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "registrar/binding.h"
#include "registrar/credentials.h"
#include "registrar/digest.h"
#include "registrar/realm.h"
#include "registrar/registration_event.h"
#include "switchboard/v1/admin.pb.h"
#include "switchboard/v1/registration.pb.h"

namespace switchboard::api {

namespace v1 = ::switchboard::v1;

// MD5, SHA_256, SHA_512_256 ↔ the registrar's base algorithms. The -sess
// forms have no API value (nullopt); DIGEST_ALGORITHM_UNSPECIFIED and
// unknown values map to nullopt.
std::optional<v1::DigestAlgorithm> to_proto(registrar::DigestAlgorithm alg);
std::optional<registrar::DigestAlgorithm> from_proto(v1::DigestAlgorithm alg);

// Unset (zero) times stay unset.
void set_timestamp(registrar::WallTime t, google::protobuf::Timestamp* out);
registrar::WallTime from_timestamp(const google::protobuf::Timestamp& t);

// A realm's settings; its trusted sources are ACL entries, listed apart.
// -sess algorithms (configurable in the YAML only) are left out of `algorithms`.
v1::Realm to_proto(const registrar::Realm& realm, int credential_count, int acl_entry_count);

// name, username, the algorithms with a stored HA1 (strongest first) and
// has_hash1b. The input-only secret fields stay empty.
v1::Credential to_proto(const registrar::Credential& credential);

// "192.0.2.4:5062", "[2001:db8::1]:5060"; "" when the address is unknown.
std::string source_address(std::string_view ip, uint16_t port);

// "sip:" + aor.
std::string aor_uri(std::string_view aor);

v1::Binding to_proto(const registrar::Binding& binding);

v1::RegistrationEvent::Type to_proto(registrar::RegistrationEventType type);
std::optional<registrar::RegistrationEventType> from_proto(v1::RegistrationEvent::Type type);

// `auth_failed_sequence`: what a kAuthFailed event (sequence 0, never stored)
// carries as its sequence — the latest stored event the watcher has seen, so
// resuming from it loses nothing.
v1::RegistrationEvent to_proto(const registrar::RegistrationEvent& event,
                               uint64_t auth_failed_sequence);

}  // namespace switchboard::api

#endif  // SWITCHBOARD_GATEWAY_API_CONVERT_H_
