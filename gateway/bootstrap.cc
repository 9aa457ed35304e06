// gateway/bootstrap.cc — see bootstrap.h.
#include "gateway/bootstrap.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

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

std::string api_tokens_path(std::string_view data_dir) {
  return (std::filesystem::path(std::string(data_dir)) / std::string(kApiTokensFileName)).string();
}

namespace {

std::vector<api::ApiToken> to_api_tokens(const std::vector<ApiTokenConfig>& tokens) {
  std::vector<api::ApiToken> out;
  for (const ApiTokenConfig& t : tokens)
    out.push_back(api::ApiToken{t.name, t.role, *api::parse_sha256_hex(t.sha256)});
  return out;
}

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(size_t(n));
  }
  return true;
}

}  // namespace

bool write_api_tokens_file(const std::string& path, const std::vector<ApiTokenConfig>& tokens,
                           std::string* error) {
  std::string text =
      "# Switchboard API tokens: only their SHA-256 is kept. Written by switchboard on its\n"
      "# first start without api.tokens in the configuration. Add tokens here (same shape as\n"
      "# api.tokens; sha256 = printf %s TOKEN | sha256sum), or configure api.tokens, which is\n"
      "# then used instead of this file. See docs/api.md.\n"
      "api:\n"
      "  tokens:\n";
  for (const ApiTokenConfig& t : tokens)
    text += "    - name: \"" + t.name + "\"\n      role: " + std::string(api::role_name(t.role)) +
            "\n      sha256: \"" + t.sha256 + "\"\n";

  const std::filesystem::path target(path);
  std::string temp = (target.parent_path() / (target.filename().string() + ".XXXXXX")).string();
  auto fail = [&](const std::string& what) {
    if (error) *error = what + ": " + std::strerror(errno);
    return false;
  };
  int fd = ::mkstemp(temp.data());  // O_EXCL, mode 0600
  if (fd < 0) return fail("cannot create " + temp);
  bool ok = ::fchmod(fd, 0600) == 0 && write_all(fd, text) && ::fsync(fd) == 0;
  int saved = errno;
  ::close(fd);
  if (!ok) {
    ::unlink(temp.c_str());
    errno = saved;
    return fail("cannot write " + temp);
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    saved = errno;
    ::unlink(temp.c_str());
    errno = saved;
    return fail("cannot rename " + temp + " to " + path);
  }
  // The rename itself is durable once the directory is.
  std::string dir = target.parent_path().empty() ? "." : target.parent_path().string();
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return true;
}

ApiTokensBootstrap bootstrap_api_tokens(const Config& config, registrar::RandomSource& random) {
  ApiTokensBootstrap result;
  if (!config.api_tokens.empty()) {
    result.source = ApiTokensBootstrap::Source::kConfiguration;
    result.tokens = to_api_tokens(config.api_tokens);
    return result;
  }
  result.file = api_tokens_path(config.data_dir);
  std::error_code ec;
  if (std::filesystem::exists(result.file, ec)) {
    result.source = ApiTokensBootstrap::Source::kFile;
    std::ifstream in(result.file, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    if (!in || in.bad()) {
      result.error = "cannot read " + result.file + ": " + std::strerror(errno);
      return result;
    }
    ApiTokensOrError parsed = parse_api_tokens_text(text.str(), result.file);
    if (!parsed.ok()) {
      result.error = parsed.error;
      result.bad_file = true;
      return result;
    }
    if (parsed.tokens.empty()) {
      result.error = result.file +
                     ": api.tokens: no token (add one, configure api.tokens, or delete the file "
                     "to have a new admin token generated)";
      result.bad_file = true;
      return result;
    }
    result.tokens = to_api_tokens(parsed.tokens);
    return result;
  }
  if (ec) {
    result.error = "cannot check " + result.file + ": " + ec.message();
    return result;
  }

  result.source = ApiTokensBootstrap::Source::kGenerated;
  result.generated_token = api::generate_api_token(random);
  result.tokens.push_back(api::ApiToken{"admin", api::Role::kAdmin,
                                        api::sha256(result.generated_token)});
  return result;
}

bool store_generated_token(const ApiTokensBootstrap& tokens, std::string* error) {
  ApiTokenConfig entry;
  entry.name = tokens.tokens.at(0).name;
  entry.role = tokens.tokens.at(0).role;
  entry.sha256 = api::to_hex(tokens.tokens.at(0).sha256);
  return write_api_tokens_file(tokens.file, {entry}, error);
}

}  // namespace switchboard
