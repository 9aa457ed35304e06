// gateway/api/convert.cc — see convert.h.
#include "gateway/api/convert.h"

#include <chrono>

#include "gateway/api/resource_names.h"

namespace switchboard::api {
namespace {

// RFC 3327 Path values as stored ("<sip:p1;lr>,<sip:p2;lr>"): split at commas
// outside <…> and quoted strings.
void split_path(std::string_view path, google::protobuf::RepeatedPtrField<std::string>* out) {
  bool quoted = false, in_angle = false;
  size_t start = 0;
  auto emit = [&](size_t end) {
    std::string_view v = path.substr(start, end - start);
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    if (!v.empty()) out->Add(std::string(v));
  };
  for (size_t i = 0; i < path.size(); ++i) {
    char c = path[i];
    if (quoted) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        quoted = false;
    } else if (c == '"') {
      quoted = true;
    } else if (c == '<') {
      in_angle = true;
    } else if (c == '>') {
      in_angle = false;
    } else if (c == ',' && !in_angle) {
      emit(i);
      start = i + 1;
    }
  }
  emit(path.size());
}

}  // namespace

std::optional<v1::DigestAlgorithm> to_proto(registrar::DigestAlgorithm alg) {
  switch (alg) {
    case registrar::DigestAlgorithm::kMd5:
      return v1::MD5;
    case registrar::DigestAlgorithm::kSha256:
      return v1::SHA_256;
    case registrar::DigestAlgorithm::kSha512_256:
      return v1::SHA_512_256;
    case registrar::DigestAlgorithm::kMd5Sess:
      return v1::MD5_SESS;
    case registrar::DigestAlgorithm::kSha256Sess:
      return v1::SHA_256_SESS;
    case registrar::DigestAlgorithm::kSha512_256Sess:
      return v1::SHA_512_256_SESS;
    default:
      return std::nullopt;
  }
}

std::optional<registrar::DigestAlgorithm> from_proto(v1::DigestAlgorithm alg) {
  switch (alg) {
    case v1::MD5:
      return registrar::DigestAlgorithm::kMd5;
    case v1::SHA_256:
      return registrar::DigestAlgorithm::kSha256;
    case v1::SHA_512_256:
      return registrar::DigestAlgorithm::kSha512_256;
    case v1::MD5_SESS:
      return registrar::DigestAlgorithm::kMd5Sess;
    case v1::SHA_256_SESS:
      return registrar::DigestAlgorithm::kSha256Sess;
    case v1::SHA_512_256_SESS:
      return registrar::DigestAlgorithm::kSha512_256Sess;
    default:
      return std::nullopt;
  }
}

void set_timestamp(registrar::WallTime t, google::protobuf::Timestamp* out) {
  if (t == registrar::WallTime{}) return;
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  int64_t seconds = ns / 1'000'000'000;
  int64_t nanos = ns % 1'000'000'000;
  if (nanos < 0) {
    nanos += 1'000'000'000;
    --seconds;
  }
  out->set_seconds(seconds);
  out->set_nanos(int32_t(nanos));
}

registrar::WallTime from_timestamp(const google::protobuf::Timestamp& t) {
  return registrar::WallTime(std::chrono::duration_cast<registrar::WallTime::duration>(
      std::chrono::seconds(t.seconds()) + std::chrono::nanoseconds(t.nanos())));
}

v1::Realm to_proto(const registrar::Realm& realm, int credential_count, int acl_entry_count) {
  v1::Realm out;
  out.set_name(realm_name(realm.name));
  out.set_challenge(realm.challenge == registrar::ChallengeMode::k407 ? v1::CHALLENGE_MODE_407
                                                                      : v1::CHALLENGE_MODE_401);
  for (registrar::DigestAlgorithm alg : realm.algorithms)
    if (auto a = to_proto(alg)) out.add_algorithms(*a);
  out.set_allow_qop_less(realm.allow_qop_less);
  out.set_default_expires_seconds(realm.default_expires);
  out.set_min_expires_seconds(realm.min_expires);
  out.set_max_expires_seconds(realm.max_expires);
  out.set_max_contacts(realm.max_contacts);
  out.set_contact_overflow(realm.overflow == registrar::ContactOverflowPolicy::kEvictOldest
                               ? v1::EVICT_OLDEST
                               : v1::REJECT);
  switch (realm.source_auth) {
    case registrar::SourceAuthMode::kDigest:
      out.set_source_auth(v1::DIGEST);
      break;
    case registrar::SourceAuthMode::kTrustedOrDigest:
      out.set_source_auth(v1::TRUSTED_OR_DIGEST);
      break;
    case registrar::SourceAuthMode::kTrustedAndDigest:
      out.set_source_auth(v1::TRUSTED_AND_DIGEST);
      break;
  }
  for (const auto& [user, aliases] : realm.aliases) {
    v1::AliasList& list = (*out.mutable_aliases())[user];
    for (const std::string& a : aliases) list.add_users(a);
  }
  out.set_credential_count(credential_count);
  out.set_acl_entry_count(acl_entry_count);
  return out;
}

v1::Credential to_proto(const registrar::Credential& credential) {
  v1::Credential out;
  out.set_name(credential_name(credential.realm(), credential.username()));
  out.set_username(credential.username());
  for (registrar::DigestAlgorithm alg : registrar::kOfferedDigestAlgorithms)
    if (credential.supports(alg))
      if (auto a = to_proto(alg)) out.add_algorithms(*a);
  out.set_has_hash1b(credential.hash1b().has_value());
  return out;
}

std::string source_address(std::string_view ip, uint16_t port) {
  if (ip.empty()) return "";
  std::string out;
  if (ip.find(':') != std::string_view::npos) {
    out = "[" + std::string(ip) + "]";
  } else {
    out = std::string(ip);
  }
  return out + ":" + std::to_string(port);
}

std::string aor_uri(std::string_view aor) { return "sip:" + std::string(aor); }

v1::Binding to_proto(const registrar::Binding& b) {
  v1::Binding out;
  if (!b.aor.empty() && !b.contact.empty()) out.set_name(binding_name(b));
  if (!b.aor.empty()) out.set_aor(aor_uri(b.aor));
  out.set_contact(b.contact);
  if (!b.realm.empty()) out.set_realm(realm_name(b.realm));
  out.set_username(b.username);
  out.set_transport(b.transport);
  out.set_source_address(source_address(b.source_ip, b.source_port));
  out.set_local_address(b.local_address);
  out.set_replica(b.replica);
  split_path(b.path, out.mutable_path());
  out.set_instance_id(b.instance_id);
  out.set_reg_id(b.reg_id);
  out.set_call_id(b.call_id);
  out.set_cseq(b.cseq);
  if (b.q >= 0) out.set_q(float(b.q) / 1000.0f);
  out.set_user_agent(b.user_agent);
  set_timestamp(b.expires_at, out.mutable_expire_time());
  set_timestamp(b.first_registered, out.mutable_create_time());
  set_timestamp(b.last_registered, out.mutable_update_time());
  // Unset timestamps: leave the fields absent rather than present-and-zero.
  if (b.expires_at == registrar::WallTime{}) out.clear_expire_time();
  if (b.first_registered == registrar::WallTime{}) out.clear_create_time();
  if (b.last_registered == registrar::WallTime{}) out.clear_update_time();
  return out;
}

v1::RegistrationEvent::Type to_proto(registrar::RegistrationEventType type) {
  switch (type) {
    case registrar::RegistrationEventType::kRegistered:
      return v1::RegistrationEvent::REGISTERED;
    case registrar::RegistrationEventType::kRefreshed:
      return v1::RegistrationEvent::REFRESHED;
    case registrar::RegistrationEventType::kUnregistered:
      return v1::RegistrationEvent::UNREGISTERED;
    case registrar::RegistrationEventType::kExpired:
      return v1::RegistrationEvent::EXPIRED;
    case registrar::RegistrationEventType::kReplaced:
      return v1::RegistrationEvent::REPLACED;
    case registrar::RegistrationEventType::kAuthFailed:
      return v1::RegistrationEvent::AUTH_FAILED;
  }
  return v1::RegistrationEvent::TYPE_UNSPECIFIED;
}

std::optional<registrar::RegistrationEventType> from_proto(v1::RegistrationEvent::Type type) {
  switch (type) {
    case v1::RegistrationEvent::REGISTERED:
      return registrar::RegistrationEventType::kRegistered;
    case v1::RegistrationEvent::REFRESHED:
      return registrar::RegistrationEventType::kRefreshed;
    case v1::RegistrationEvent::UNREGISTERED:
      return registrar::RegistrationEventType::kUnregistered;
    case v1::RegistrationEvent::EXPIRED:
      return registrar::RegistrationEventType::kExpired;
    case v1::RegistrationEvent::REPLACED:
      return registrar::RegistrationEventType::kReplaced;
    case v1::RegistrationEvent::AUTH_FAILED:
      return registrar::RegistrationEventType::kAuthFailed;
    default:
      return std::nullopt;
  }
}

v1::RegistrationEvent to_proto(const registrar::RegistrationEvent& event,
                               uint64_t auth_failed_sequence) {
  v1::RegistrationEvent out;
  const bool auth_failed = event.type == registrar::RegistrationEventType::kAuthFailed;
  out.set_sequence(auth_failed && event.sequence == 0 ? auth_failed_sequence : event.sequence);
  set_timestamp(event.time, out.mutable_event_time());
  if (event.time == registrar::WallTime{}) out.clear_event_time();
  out.set_type(to_proto(event.type));
  *out.mutable_binding() = to_proto(event.binding);
  if (event.type == registrar::RegistrationEventType::kReplaced)
    *out.mutable_previous_binding() = to_proto(event.previous);
  out.set_reason(event.reason);
  out.set_source_address(out.binding().source_address());
  out.set_user_agent(event.binding.user_agent);
  return out;
}

}  // namespace switchboard::api
