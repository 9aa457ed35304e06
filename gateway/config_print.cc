// gateway/config_print.cc — render_config(): the effective configuration as
// YAML for `switchboard --print-config` (see config.h).
//
// The output has the configuration file's shape, so it can be saved and used
// as a file (after putting the secrets back). yaml-cpp's emitter does the
// quoting: values from the file or environment may hold any characters.
#include <yaml-cpp/yaml.h>

#include <string>

#include "gateway/config.h"
#include "registrar/digest.h"

namespace switchboard {

namespace {

constexpr const char* kRedacted = "<redacted>";

const char* challenge_name(registrar::ChallengeMode m) {
  return m == registrar::ChallengeMode::k407 ? "407" : "401";
}

const char* overflow_name(registrar::ContactOverflowPolicy p) {
  return p == registrar::ContactOverflowPolicy::kEvictOldest ? "evict_oldest" : "reject";
}

const char* source_auth_name(registrar::SourceAuthMode m) {
  switch (m) {
    case registrar::SourceAuthMode::kDigest:
      return "digest";
    case registrar::SourceAuthMode::kTrustedOrDigest:
      return "trusted_or_digest";
    case registrar::SourceAuthMode::kTrustedAndDigest:
      return "trusted_and_digest";
  }
  return "digest";
}

void emit_realm(YAML::Emitter& out, const RealmConfig& rc) {
  const registrar::Realm& r = rc.realm;
  out << YAML::BeginMap;
  out << YAML::Key << "name" << YAML::Value << r.name;
  out << YAML::Key << "challenge" << YAML::Value << challenge_name(r.challenge);
  out << YAML::Key << "algorithms" << YAML::Value << YAML::Flow << YAML::BeginSeq;
  for (auto alg : r.algorithms) out << std::string(registrar::digest_algorithm_name(alg));
  out << YAML::EndSeq;
  out << YAML::Key << "allow_qop_less" << YAML::Value << r.allow_qop_less;
  out << YAML::Key << "default_expires" << YAML::Value << r.default_expires;
  out << YAML::Key << "min_expires" << YAML::Value << r.min_expires;
  out << YAML::Key << "max_expires" << YAML::Value << r.max_expires;
  out << YAML::Key << "max_contacts" << YAML::Value << r.max_contacts;
  out << YAML::Key << "overflow" << YAML::Value << overflow_name(r.overflow);
  out << YAML::Key << "source_auth" << YAML::Value << source_auth_name(r.source_auth);
  out << YAML::Key << "trusted_sources" << YAML::Value << YAML::Flow << YAML::BeginSeq;
  for (const auto& cidr : r.trusted_sources) out << cidr.text;
  out << YAML::EndSeq;
  if (!r.aliases.empty()) {
    out << YAML::Key << "aliases" << YAML::Value << YAML::BeginMap;
    for (const auto& [user, list] : r.aliases) {
      out << YAML::Key << user << YAML::Value << YAML::Flow << YAML::BeginSeq;
      for (const auto& a : list) out << a;
      out << YAML::EndSeq;
    }
    out << YAML::EndMap;
  }
  out << YAML::Key << "users" << YAML::Value << YAML::BeginSeq;
  for (const UserConfig& u : rc.users) {
    out << YAML::BeginMap;
    out << YAML::Key << "username" << YAML::Value << u.username;
    if (u.domain != r.name) out << YAML::Key << "domain" << YAML::Value << u.domain;
    if (u.password) out << YAML::Key << "password" << YAML::Value << kRedacted;
    if (u.ha1_md5) out << YAML::Key << "ha1_md5" << YAML::Value << kRedacted;
    if (u.ha1_sha256) out << YAML::Key << "ha1_sha256" << YAML::Value << kRedacted;
    if (u.ha1_sha512_256) out << YAML::Key << "ha1_sha512_256" << YAML::Value << kRedacted;
    if (u.hash1b) out << YAML::Key << "hash1b" << YAML::Value << kRedacted;
    out << YAML::EndMap;
  }
  out << YAML::EndSeq;
  out << YAML::EndMap;
}

}  // namespace

std::string render_config(const Config& c) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  out << YAML::Key << "sip" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "listen" << YAML::Value << YAML::BeginSeq;
  for (const auto& a : c.listen) out << a.to_string();
  out << YAML::EndSeq;
  out << YAML::Key << "tcp_idle_timeout" << YAML::Value << c.tcp_idle_timeout.count();
  out << YAML::Key << "tcp_max_connections" << YAML::Value << c.tcp_max_connections;
  if (!c.sip_advertise.empty()) out << YAML::Key << "advertise" << YAML::Value << c.sip_advertise;
  out << YAML::EndMap;
  out << YAML::Key << "data_dir" << YAML::Value << c.data_dir;
  out << YAML::Key << "log_level" << YAML::Value << std::string(log_level_name(c.log_level));
  out << YAML::Key << "threads" << YAML::Value << c.threads;
  out << YAML::Key << "store" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "kind" << YAML::Value << std::string(store_kind_name(c.store.kind));
  out << YAML::Key << "synchronous" << YAML::Value
      << (c.store_sync == StoreSync::kFull ? "full" : "normal");
  if (!c.store.url.empty()) out << YAML::Key << "url" << YAML::Value << redact_url(c.store.url);
  out << YAML::Key << "prefix" << YAML::Value << c.store.prefix;
  out << YAML::EndMap;
  if (!c.replica.id.empty() || !c.replica.advertise.empty()) {
    out << YAML::Key << "replica" << YAML::Value << YAML::BeginMap;
    if (!c.replica.id.empty()) out << YAML::Key << "id" << YAML::Value << c.replica.id;
    if (!c.replica.advertise.empty())
      out << YAML::Key << "advertise" << YAML::Value << c.replica.advertise;
    if (!c.replica.token.empty()) out << YAML::Key << "token" << YAML::Value << kRedacted;
    out << YAML::EndMap;
  }
  out << YAML::Key << "nonce" << YAML::Value << YAML::BeginMap;
  if (c.nonce.secret) out << YAML::Key << "secret" << YAML::Value << kRedacted;
  out << YAML::Key << "lifetime" << YAML::Value << c.nonce.lifetime.count();
  out << YAML::Key << "max_tracked" << YAML::Value << c.nonce.max_tracked;
  out << YAML::EndMap;
  const AuthThrottleConfig& t = c.auth_throttle;
  out << YAML::Key << "auth_throttle" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "enabled" << YAML::Value << t.enabled;
  out << YAML::Key << "max_failures" << YAML::Value << t.max_failures;
  out << YAML::Key << "window" << YAML::Value << t.window.count();
  out << YAML::Key << "cooldown" << YAML::Value << t.cooldown.count();
  out << YAML::Key << "action" << YAML::Value
      << (t.action == ThrottleAction::kDrop ? "drop" : "reject");
  out << YAML::EndMap;
  out << YAML::Key << "grpc" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "listen" << YAML::Value << (c.grpc.enabled() ? c.grpc.listen : "off");
  if (c.grpc.tls_enabled()) {
    out << YAML::Key << "tls" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "cert_file" << YAML::Value << c.grpc.tls.cert_file;
    out << YAML::Key << "key_file" << YAML::Value << c.grpc.tls.key_file;
    if (!c.grpc.tls.client_ca_file.empty())
      out << YAML::Key << "client_ca_file" << YAML::Value << c.grpc.tls.client_ca_file;
    out << YAML::EndMap;
  }
  out << YAML::EndMap;
  if (!c.api_tokens.empty()) {
    out << YAML::Key << "api" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "tokens" << YAML::Value << YAML::BeginSeq;
    for (const ApiTokenConfig& token : c.api_tokens) {
      out << YAML::BeginMap;
      out << YAML::Key << "name" << YAML::Value << token.name;
      out << YAML::Key << "role" << YAML::Value << std::string(api::role_name(token.role));
      out << YAML::Key << "sha256" << YAML::Value << kRedacted;
      out << YAML::EndMap;
    }
    out << YAML::EndSeq;
    out << YAML::EndMap;
  }
  out << YAML::Key << "events" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "max_count" << YAML::Value << c.events.max_count;
  out << YAML::Key << "max_age" << YAML::Value << c.events.max_age.count();
  out << YAML::Key << "watcher_buffer" << YAML::Value << c.events.watcher_buffer;
  out << YAML::Key << "max_watchers" << YAML::Value << c.events.max_watchers;
  out << YAML::EndMap;
  out << YAML::Key << "calls" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "max_calls" << YAML::Value << c.calls.max_calls;
  out << YAML::Key << "rate_per_token" << YAML::Value << c.calls.rate_per_token;
  out << YAML::Key << "burst_per_token" << YAML::Value << c.calls.burst_per_token;
  out << YAML::Key << "inbound_ring_timeout" << YAML::Value << c.calls.inbound_ring_timeout.count();
  out << YAML::Key << "ended_retention" << YAML::Value << c.calls.ended_retention.count();
  out << YAML::Key << "max_ended" << YAML::Value << c.calls.max_ended;
  out << YAML::Key << "watcher_buffer" << YAML::Value << c.calls.watcher_buffer;
  out << YAML::Key << "max_watchers" << YAML::Value << c.calls.max_watchers;
  out << YAML::EndMap;
  out << YAML::Key << "metrics" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "listen" << YAML::Value << (c.metrics.enabled() ? c.metrics.listen : "off");
  out << YAML::EndMap;
  out << YAML::Key << "shutdown" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "grace_period" << YAML::Value << c.shutdown.grace_period.count();
  out << YAML::EndMap;
  out << YAML::Key << "realms" << YAML::Value << YAML::BeginSeq;
  for (const RealmConfig& rc : c.realms) emit_realm(out, rc);
  out << YAML::EndSeq;
  out << YAML::EndMap;
  std::string text = out.c_str();
  text += '\n';
  return text;
}

}  // namespace switchboard
