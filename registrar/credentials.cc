// registrar/credentials.cc — stored Digest credentials (HA1s), validated and
// redacted.
#include "registrar/credentials.h"

#include <ostream>

namespace registrar {
namespace {

// Lower-cases `hex` into `out`, or explains why it is not `digits` hex digits.
bool normalise_hex(std::string_view field, std::string_view hex, size_t digits, std::string& out,
                   std::string& error) {
  if (hex.size() != digits) {
    error = std::string(field) + " must be " + std::to_string(digits) + " hex digits, got " +
            std::to_string(hex.size()) + " characters";
    return false;
  }
  out.resize(hex.size());
  for (size_t i = 0; i < hex.size(); ++i) {
    const char c = hex[i];
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) {
      out[i] = c;
    } else if (c >= 'A' && c <= 'F') {
      out[i] = static_cast<char>(c - 'A' + 'a');
    } else {
      error = std::string(field) + " must be hex digits only; character " + std::to_string(i + 1) +
              " is not";
      out.clear();
      return false;
    }
  }
  return true;
}

}  // namespace

Credential Credential::from_password(std::string_view realm, std::string_view username,
                                     std::string_view password, std::string_view domain) {
  Credential c;
  c.realm_ = realm;
  c.username_ = username;
  c.domain_ = domain;
  if (digest_algorithm_available(DigestAlgorithm::kMd5)) {
    c.ha1_md5_ = compute_ha1(DigestAlgorithm::kMd5, username, realm, password);
    if (!domain.empty()) c.hash1b_ = compute_hash1b(username, domain, realm, password);
  }
  if (digest_algorithm_available(DigestAlgorithm::kSha256)) {
    c.ha1_sha256_ = compute_ha1(DigestAlgorithm::kSha256, username, realm, password);
  }
  if (digest_algorithm_available(DigestAlgorithm::kSha512_256)) {
    c.ha1_sha512_256_ = compute_ha1(DigestAlgorithm::kSha512_256, username, realm, password);
  }
  return c;
}

CredentialOrError Credential::from_hashes(const StoredHashes& in) {
  CredentialOrError result;
  if (in.realm.empty()) {
    result.error = "credential: realm is empty";
    return result;
  }
  if (in.username.empty()) {
    result.error = "credential: username is empty";
    return result;
  }
  if (!in.ha1_md5 && !in.ha1_sha256 && !in.ha1_sha512_256 && !in.hash1b) {
    result.error = "credential for \"" + std::string(in.username) + "\" in realm \"" +
                   std::string(in.realm) + "\": no HA1 given";
    return result;
  }
  Credential c;
  c.realm_ = in.realm;
  c.username_ = in.username;
  c.domain_ = in.domain;
  struct Field {
    const std::optional<std::string_view>& value;
    std::optional<std::string>& slot;
    const char* name;
    size_t digits;
  };
  const Field fields[] = {
      {in.ha1_md5, c.ha1_md5_, "MD5 HA1", 32},
      {in.ha1_sha256, c.ha1_sha256_, "SHA-256 HA1", 64},
      {in.ha1_sha512_256, c.ha1_sha512_256_, "SHA-512-256 HA1", 64},
      {in.hash1b, c.hash1b_, "hash1b", 32},
  };
  for (const Field& f : fields) {
    if (!f.value) continue;
    std::string hex, why;
    if (!normalise_hex(f.name, *f.value, f.digits, hex, why)) {
      result.error = "credential for \"" + std::string(in.username) + "\" in realm \"" +
                     std::string(in.realm) + "\": " + why;
      return result;
    }
    f.slot = std::move(hex);
  }
  result.credential = std::move(c);
  return result;
}

std::optional<std::string_view> Credential::ha1(DigestAlgorithm alg) const {
  const std::optional<std::string>* slot = &ha1_md5_;
  switch (base_algorithm(alg)) {
    case DigestAlgorithm::kSha256:
      slot = &ha1_sha256_;
      break;
    case DigestAlgorithm::kSha512_256:
      slot = &ha1_sha512_256_;
      break;
    default:
      break;
  }
  if (!*slot) return std::nullopt;
  return std::string_view(**slot);
}

std::optional<std::string_view> Credential::ha1_for(DigestAlgorithm alg,
                                                    std::string_view presented) const {
  if (presented == username_) return ha1(alg);
  if (base_algorithm(alg) == DigestAlgorithm::kMd5 && hash1b_ && !domain_.empty() &&
      presented.size() == username_.size() + 1 + domain_.size() &&
      presented.starts_with(username_) && presented[username_.size()] == '@' &&
      presented.ends_with(domain_)) {
    return std::string_view(*hash1b_);
  }
  return std::nullopt;
}

std::optional<std::string_view> Credential::hash1b() const {
  if (!hash1b_) return std::nullopt;
  return std::string_view(*hash1b_);
}

std::vector<DigestAlgorithm> Credential::offerable_algorithms() const {
  std::vector<DigestAlgorithm> out;
  for (DigestAlgorithm alg : kOfferedDigestAlgorithms) {
    if (supports(alg)) out.push_back(alg);
  }
  return out;
}

std::string Credential::redacted() const {
  std::string out = "Credential{username=\"" + username_ + "\", realm=\"" + realm_ + "\"";
  if (!domain_.empty()) out += ", domain=\"" + domain_ + "\"";
  out += ", ha1=[";
  bool first = true;
  for (DigestAlgorithm alg : kOfferedDigestAlgorithms) {
    if (!supports(alg)) continue;
    if (!first) out += ",";
    first = false;
    out += digest_algorithm_name(alg);
  }
  out += "], hash1b=";
  out += hash1b_ ? "yes" : "no";
  out += "}";
  return out;
}

std::ostream& operator<<(std::ostream& os, const Credential& c) { return os << c.redacted(); }

}  // namespace registrar
