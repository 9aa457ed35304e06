// gateway/api/validation.cc — see validation.h.
#include "gateway/api/validation.h"

#include <algorithm>
#include <cctype>

#include "gateway/api/convert.h"
#include "registrar/digest.h"

namespace switchboard::api {
namespace {

namespace v1 = ::switchboard::v1;

constexpr std::string_view kSettableRealmFields[] = {
    "challenge",           "algorithms",
    "allow_qop_less",      "default_expires_seconds",
    "min_expires_seconds", "max_expires_seconds",
    "max_contacts",        "contact_overflow",
    "source_auth",         "aliases"};

std::string settable_list() {
  std::string out;
  for (std::string_view f : kSettableRealmFields) {
    if (!out.empty()) out += ", ";
    out += f;
  }
  return out;
}

std::string join(std::string_view prefix, std::string_view field) {
  if (prefix.empty()) return std::string(field);
  return std::string(prefix) + "." + std::string(field);
}

bool is_hex(std::string_view s, size_t length) {
  if (s.size() != length) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; });
}

}  // namespace

bool is_domain_name(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  size_t start = 0;
  while (start <= s.size()) {
    size_t dot = s.find('.', start);
    std::string_view label = s.substr(start, dot == std::string_view::npos ? s.npos : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-')
      return false;
    for (char c : label)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return true;
}

bool is_username(std::string_view s) {
  if (s.empty() || s.size() > 255) return false;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f || c == '"' || c == '\\') return false;
  }
  return true;
}

RealmFields RealmFields::all() {
  RealmFields f;
  for (std::string_view p : kSettableRealmFields) f.paths.insert(std::string(p));
  return f;
}

RealmFields realm_fields_from_mask(const google::protobuf::FieldMask& mask,
                                   std::vector<FieldViolation>& violations) {
  if (mask.paths_size() == 0) return RealmFields::all();
  RealmFields fields;
  fields.explicit_mask = true;
  for (const std::string& path : mask.paths()) {
    if (path == "*") return RealmFields::all();
    if (std::find(std::begin(kSettableRealmFields), std::end(kSettableRealmFields), path) !=
        std::end(kSettableRealmFields)) {
      fields.paths.insert(path);
    } else if (path == "name") {
      violations.push_back({"update_mask", "\"name\" cannot be changed (it identifies the realm)"});
    } else if (path == "credential_count" || path == "acl_entry_count") {
      violations.push_back({"update_mask", "\"" + path + "\" is output only"});
    } else {
      violations.push_back(
          {"update_mask", "unknown field \"" + path + "\" (settable: " + settable_list() + ")"});
    }
  }
  return fields;
}

void apply_realm(const v1::Realm& in, const RealmFields& fields, std::string_view prefix,
                 registrar::Realm& realm, std::vector<FieldViolation>& violations) {
  const registrar::Realm defaults;
  auto bad = [&](std::string_view field, std::string description) {
    violations.push_back({join(prefix, field), std::move(description)});
  };

  if (fields.has("challenge")) {
    switch (in.challenge()) {
      case v1::CHALLENGE_MODE_UNSPECIFIED:
      case v1::CHALLENGE_MODE_401:
        realm.challenge = registrar::ChallengeMode::k401;
        break;
      case v1::CHALLENGE_MODE_407:
        realm.challenge = registrar::ChallengeMode::k407;
        break;
      default:
        bad("challenge", "unknown value " + std::to_string(in.challenge()) +
                             " (CHALLENGE_MODE_401 or CHALLENGE_MODE_407)");
    }
  }
  if (fields.has("algorithms")) {
    std::vector<registrar::DigestAlgorithm> algorithms;
    for (int i = 0; i < in.algorithms_size(); ++i) {
      std::string field = "algorithms[" + std::to_string(i) + "]";
      auto alg = from_proto(in.algorithms(i));
      if (!alg) {
        bad(field, "unknown digest algorithm " + std::to_string(in.algorithms(i)) +
                       " (MD5, SHA_256, SHA_512_256 or their _SESS variants)");
        continue;
      }
      if (!registrar::digest_algorithm_available(*alg)) {
        bad(field, std::string(registrar::digest_algorithm_name(*alg)) +
                       " is not available in this server's OpenSSL");
        continue;
      }
      if (std::find(algorithms.begin(), algorithms.end(), *alg) != algorithms.end()) {
        bad(field, std::string(registrar::digest_algorithm_name(*alg)) + " listed twice");
        continue;
      }
      algorithms.push_back(*alg);
    }
    realm.algorithms =
        algorithms.empty() && in.algorithms_size() == 0 ? defaults.algorithms : algorithms;
  }
  if (fields.has("allow_qop_less")) realm.allow_qop_less = in.allow_qop_less();

  auto number = [&](std::string_view field, uint32_t value, uint32_t fallback, uint32_t min,
                    uint32_t max, uint32_t& target) {
    if (!fields.has(field)) return;
    if (value == 0 && !fields.explicit_mask) {
      target = fallback;
      return;
    }
    if (value < min || value > max) {
      bad(field, "must lie between " + std::to_string(min) + " and " + std::to_string(max) +
                     ", got " + std::to_string(value));
      return;
    }
    target = value;
  };
  number("default_expires_seconds", in.default_expires_seconds(), defaults.default_expires, 1,
         UINT32_MAX, realm.default_expires);
  number("min_expires_seconds", in.min_expires_seconds(), defaults.min_expires, 1, UINT32_MAX,
         realm.min_expires);
  number("max_expires_seconds", in.max_expires_seconds(), defaults.max_expires, 1, UINT32_MAX,
         realm.max_expires);
  number("max_contacts", in.max_contacts(), defaults.max_contacts, 1, kMaxContactsLimit,
         realm.max_contacts);

  if (fields.has("contact_overflow")) {
    switch (in.contact_overflow()) {
      case v1::CONTACT_OVERFLOW_POLICY_UNSPECIFIED:
      case v1::REJECT:
        realm.overflow = registrar::ContactOverflowPolicy::kReject;
        break;
      case v1::EVICT_OLDEST:
        realm.overflow = registrar::ContactOverflowPolicy::kEvictOldest;
        break;
      default:
        bad("contact_overflow",
            "unknown value " + std::to_string(in.contact_overflow()) + " (REJECT or EVICT_OLDEST)");
    }
  }
  if (fields.has("source_auth")) {
    switch (in.source_auth()) {
      case v1::SOURCE_AUTH_MODE_UNSPECIFIED:
      case v1::DIGEST:
        realm.source_auth = registrar::SourceAuthMode::kDigest;
        break;
      case v1::TRUSTED_OR_DIGEST:
        realm.source_auth = registrar::SourceAuthMode::kTrustedOrDigest;
        break;
      case v1::TRUSTED_AND_DIGEST:
        realm.source_auth = registrar::SourceAuthMode::kTrustedAndDigest;
        break;
      default:
        bad("source_auth", "unknown value " + std::to_string(in.source_auth()) +
                               " (DIGEST, TRUSTED_OR_DIGEST or TRUSTED_AND_DIGEST)");
    }
  }
  if (fields.has("aliases")) {
    std::map<std::string, std::vector<std::string>> aliases;
    for (const auto& [user, list] : in.aliases()) {
      std::string field = "aliases[\"" + user + "\"]";
      if (!is_username(user)) {
        bad("aliases", "key \"" + user + "\" is not a valid username");
        continue;
      }
      if (list.users_size() == 0) bad(field, "needs at least one user part");
      for (const std::string& alias : list.users()) {
        if (!is_username(alias))
          bad(field, "\"" + alias +
                         "\" is not a valid AOR user part (1-255 printable "
                         "characters, no spaces, quotes or backslashes)");
        else
          aliases[user].push_back(alias);
      }
    }
    realm.aliases = std::move(aliases);
  }

  // The ordering of the result (fields not in the mask included).
  if (realm.min_expires > realm.max_expires) {
    bad("min_expires_seconds", "must not exceed max_expires_seconds (" +
                                   std::to_string(realm.max_expires) + "), got " +
                                   std::to_string(realm.min_expires));
  } else if (realm.default_expires < realm.min_expires ||
             realm.default_expires > realm.max_expires) {
    bad("default_expires_seconds",
        "must lie between min_expires_seconds (" + std::to_string(realm.min_expires) +
            ") and max_expires_seconds (" + std::to_string(realm.max_expires) + "), got " +
            std::to_string(realm.default_expires));
  }
}

std::optional<registrar::Credential> credential_from_secret(
    const v1::Credential& in, std::string_view prefix, const registrar::Realm& realm,
    std::string_view username, std::vector<FieldViolation>& violations) {
  const size_t before = violations.size();
  auto bad = [&](std::string_view field, std::string description) {
    violations.push_back({join(prefix, field), std::move(description)});
  };
  const bool password = !in.password().empty();
  const bool ha1 =
      !in.ha1_md5().empty() || !in.ha1_sha256().empty() || !in.ha1_sha512_256().empty();
  const bool bandwidth = !in.hash1().empty() || !in.hash1b().empty();
  const int forms = int(password) + int(ha1) + int(bandwidth);
  if (forms == 0) {
    bad("password",
        "must not be empty (or give the HA1 hashes ha1_md5/ha1_sha256/ha1_sha512_256, or "
        "hash1 and hash1b)");
    return std::nullopt;
  }
  if (forms > 1) {
    std::string given;
    auto add = [&](bool on, std::string_view what) {
      if (!on) return;
      if (!given.empty()) given += " and ";
      given += what;
    };
    add(password, "password");
    add(ha1, "ha1_* hashes");
    add(bandwidth, "hash1/hash1b");
    violations.push_back(
        {std::string(prefix),
         "give exactly one form of the secret: password, ha1_* hashes, or hash1 + hash1b (got " +
             given + ")"});
    return std::nullopt;
  }
  const std::string& domain = in.domain().empty() ? realm.name : in.domain();
  if (!in.domain().empty() && (in.domain().size() > 253 ||
                               in.domain().find_first_of(":@ \t\r\n\"") != std::string::npos))
    bad("domain", "must be a domain name (no ':', '@', quotes or spaces), at most 253 bytes");
  if (password) {
    if (in.password().size() > 1024) bad("password", "must be at most 1024 bytes");
    if (violations.size() != before) return std::nullopt;
    return registrar::Credential::from_password(realm.name, username, in.password(), domain);
  }

  registrar::StoredHashes h;
  h.realm = realm.name;
  h.username = username;
  h.domain = domain;
  auto hash = [&](std::string_view field, const std::string& value,
                  size_t length) -> std::optional<std::string_view> {
    if (value.empty()) return std::nullopt;
    if (!is_hex(value, length)) bad(field, "must be " + std::to_string(length) + " hex digits");
    return std::string_view(value);
  };
  if (ha1) {
    h.ha1_md5 = hash("ha1_md5", in.ha1_md5(), 32);
    h.ha1_sha256 = hash("ha1_sha256", in.ha1_sha256(), 64);
    h.ha1_sha512_256 = hash("ha1_sha512_256", in.ha1_sha512_256(), 64);
  } else {
    if (in.hash1().empty()) bad("hash1", "required together with hash1b");
    if (in.hash1b().empty()) bad("hash1b", "required together with hash1");
    h.ha1_md5 = hash("hash1", in.hash1(), 32);
    h.hash1b = hash("hash1b", in.hash1b(), 32);
  }
  if (violations.size() != before) return std::nullopt;
  registrar::CredentialOrError c = registrar::Credential::from_hashes(h);
  if (!c.ok()) {
    violations.push_back({std::string(prefix), c.error});
    return std::nullopt;
  }
  return std::move(c.credential);
}

void check_credential_mask(const google::protobuf::FieldMask& mask,
                           std::vector<FieldViolation>& violations) {
  static constexpr std::string_view kSecret[] = {"password", "ha1_md5", "ha1_sha256",
                                                 "ha1_sha512_256", "hash1", "hash1b", "domain"};
  for (const std::string& path : mask.paths()) {
    if (path == "*") continue;
    if (std::find(std::begin(kSecret), std::end(kSecret), path) == std::end(kSecret))
      violations.push_back(
          {"update_mask", "\"" + path +
                              "\" cannot be updated (only the secret: password, ha1_md5, "
                              "ha1_sha256, ha1_sha512_256, hash1, hash1b, domain)"});
  }
}

}  // namespace switchboard::api
