// gateway/bootstrap.cc — see bootstrap.h.
#include "gateway/bootstrap.h"

#include <optional>

#include "registrar/credentials.h"
#include "registrar/digest.h"

namespace switchboard {
namespace {

// The credential a configured user stands for; the hashes were validated when
// the configuration was read, so from_hashes() fails only on a broken invariant.
registrar::CredentialOrError credential_of(const registrar::Realm& realm, const UserConfig& u) {
  if (u.password) {
    registrar::CredentialOrError r;
    r.credential =
        registrar::Credential::from_password(realm.name, u.username, *u.password, u.domain);
    return r;
  }
  registrar::StoredHashes h;
  h.realm = realm.name;
  h.username = u.username;
  h.domain = u.domain;
  if (u.ha1_md5) h.ha1_md5 = *u.ha1_md5;
  if (u.ha1_sha256) h.ha1_sha256 = *u.ha1_sha256;
  if (u.ha1_sha512_256) h.ha1_sha512_256 = *u.ha1_sha512_256;
  if (u.hash1b) h.hash1b = *u.hash1b;
  return registrar::Credential::from_hashes(h);
}

}  // namespace

BootstrapResult bootstrap_credentials(Config& config, registrar::CredentialStore& store) {
  BootstrapResult result;
  for (const RealmConfig& rc : config.realms) {
    if (registrar::StoreResult s = store.put_realm(rc.realm); !s.ok) {
      result.error = "cannot store realm \"" + rc.realm.name + "\": " + s.error;
      break;
    }
    ++result.realms;
    for (const UserConfig& u : rc.users) {
      registrar::CredentialOrError c = credential_of(rc.realm, u);
      if (!c.ok()) {
        result.error = c.error;
        break;
      }
      std::string missing;
      for (registrar::DigestAlgorithm alg : rc.realm.algorithms)
        if (!c.credential->supports(alg)) {
          if (!missing.empty()) missing += ", ";
          missing += registrar::digest_algorithm_name(alg);
        }
      if (!missing.empty()) result.missing.push_back({rc.realm.name, u.username, missing});
      // Unchanged since the last start: skip the durable write.
      if (auto stored = store.find_credential(rc.realm.name, u.username);
          stored && *stored == *c.credential) {
        ++result.unchanged;
        continue;
      }
      if (registrar::StoreResult s = store.put_credential(*c.credential); !s.ok) {
        result.error = "cannot store user \"" + u.username + "\" of realm \"" + rc.realm.name +
                       "\": " + s.error;
        break;
      }
      ++result.users;
    }
    if (!result.ok()) break;
  }
  config.drop_passwords();
  return result;
}

}  // namespace switchboard
