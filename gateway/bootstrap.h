// gateway/bootstrap.h — writes the realms and users of the configuration
// into the CredentialStore at start-up (until the admin API provisions them).
//
// Semantics (docs/configuration.md, "Bootstrap"): applied on every start as
// an upsert. Each configured realm replaces the stored realm of that name
// (settings included); each configured user replaces the stored credential of
// that realm and username. Realms and users that exist only in the store are
// left alone: removing a user from the file does not delete it.
//
// A user given by password gets every HA1 computed (MD5, SHA-256,
// SHA-512-256, and hash1b for "user@domain"); the password is wiped from the
// Config afterwards (Config::drop_passwords()). Only hashes reach the store;
// nothing secret reaches the log.
//
//   switchboard::BootstrapResult r = switchboard::bootstrap_credentials(config, store);
//   if (!r.ok()) die(r.error);
//
// API tokens (bootstrap_api_tokens): the configuration's api.tokens when
// there are any; else DATA_DIR/api_tokens.yaml; else, on the first start, a
// new admin token is generated and handed back; once the API listens,
// store_generated_token() writes only its SHA-256 to that file (mode 0600,
// atomically) and main() prints the token once. (A start that fails to
// listen leaves no file behind, so the next start prints a token again.)
//
//   auto t = switchboard::bootstrap_api_tokens(config, random);
//   if (!t.ok()) die(t.error);
//   … start the API with t.tokens …
//   if (!t.generated_token.empty()) { store_generated_token(t, &error); print_once(t.generated_token); }
//
// Threading: call once at start-up, before traffic.
#ifndef SWITCHBOARD_GATEWAY_BOOTSTRAP_H_
#define SWITCHBOARD_GATEWAY_BOOTSTRAP_H_

#include <cstddef>
#include <string>
#include <vector>

#include "gateway/api/api_token.h"
#include "gateway/config.h"
#include "registrar/random.h"
#include "registrar/store/credential_store.h"

namespace switchboard {

// A configured user who cannot answer some algorithm the realm offers (hashes
// given for fewer algorithms than the realm's list): a client that picks that
// algorithm fails to authenticate.
struct MissingAlgorithms {
  std::string realm;
  std::string username;
  std::string algorithms;  // "SHA-512-256, SHA-256"
};

struct BootstrapResult {
  size_t realms = 0;     // realms written
  size_t users = 0;      // credentials written
  size_t unchanged = 0;  // users already stored with the same hashes (not rewritten)
  std::vector<MissingAlgorithms> missing;  // see above; for warnings
  std::string error;  // set on the first failure (the store's message; no secrets)
  bool ok() const { return error.empty(); }
};

// Upserts config.realms and their users, then calls config.drop_passwords()
// (also on failure).
[[nodiscard]] BootstrapResult bootstrap_credentials(Config& config,
                                                    registrar::CredentialStore& store);

// DATA_DIR/api_tokens.yaml.
inline constexpr std::string_view kApiTokensFileName = "api_tokens.yaml";
std::string api_tokens_path(std::string_view data_dir);

struct ApiTokensBootstrap {
  enum class Source : uint8_t { kConfiguration, kFile, kGenerated };
  std::vector<api::ApiToken> tokens;
  Source source = Source::kConfiguration;
  std::string file;             // the token file, when it was read or written
  std::string generated_token;  // kGenerated only: show it once, keep it nowhere
  std::string error;            // set on failure
  bool bad_file = false;        // the error is the file's content (exit 2), not I/O (exit 1)
  bool ok() const { return error.empty(); }
};

// See the file comment. The data directory must exist. A generated token is
// not written yet: see store_generated_token().
[[nodiscard]] ApiTokensBootstrap bootstrap_api_tokens(const Config& config,
                                                      registrar::RandomSource& random);

// Writes the generated token's entry (name "admin", role admin, its SHA-256)
// to `tokens.file`. REQUIRES: tokens.source == kGenerated.
bool store_generated_token(const ApiTokensBootstrap& tokens, std::string* error);

// Writes `tokens` as an api_tokens.yaml: a temporary file (mode 0600) in the
// same directory, fsync, rename over `path`, fsync of the directory. False
// with `error` set when any step fails (the old file, if any, is untouched).
bool write_api_tokens_file(const std::string& path, const std::vector<ApiTokenConfig>& tokens,
                           std::string* error);

}  // namespace switchboard

#endif  // SWITCHBOARD_GATEWAY_BOOTSTRAP_H_
