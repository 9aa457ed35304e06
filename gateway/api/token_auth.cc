// gateway/api/token_auth.cc — see token_auth.h.
#include "gateway/api/token_auth.h"

#include <openssl/crypto.h>

#include <cctype>
#include <optional>
#include <utility>

#include "gateway/api/status.h"

namespace switchboard::api {
namespace {

constexpr std::string_view kHowTo =
    "send the metadata \"authorization: Bearer <token>\" (sbctl: --token or "
    "SWITCHBOARD_TOKEN); the server prints an admin token on its first start";

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

// The token of "Bearer <token>" (scheme case-insensitive, RFC 6750 §2.1);
// nullopt when the value is not of that form.
std::optional<std::string_view> bearer_token(std::string_view value) {
  constexpr std::string_view kScheme = "bearer";
  if (value.size() <= kScheme.size() || !iequals(value.substr(0, kScheme.size()), kScheme) ||
      value[kScheme.size()] != ' ')
    return std::nullopt;
  std::string_view token = value.substr(kScheme.size() + 1);
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  if (token.empty()) return std::nullopt;
  return token;
}

}  // namespace

TokenAuthenticator::TokenAuthenticator(std::vector<ApiToken> tokens, Logger* logger,
                                       std::string_view internal_token)
    : tokens_(std::make_shared<const std::vector<ApiToken>>(std::move(tokens))),
      logger_(logger),
      has_internal_(!internal_token.empty()),
      internal_sha256_(internal_token.empty() ? Sha256{} : sha256(internal_token)) {}

void TokenAuthenticator::replace_tokens(std::vector<ApiToken> tokens) {
  auto next = std::make_shared<const std::vector<ApiToken>>(std::move(tokens));
  std::lock_guard lock(mu_);
  tokens_ = std::move(next);
}

size_t TokenAuthenticator::token_count() const { return current()->size(); }

std::shared_ptr<const std::vector<ApiToken>> TokenAuthenticator::current() const {
  std::lock_guard lock(mu_);
  return tokens_;
}

AuthStats TokenAuthenticator::stats() const {
  return AuthStats{unauthenticated_.load(), permission_denied_.load()};
}

grpc::Status TokenAuthenticator::authorize(const grpc::ServerContextBase& context, Role needed,
                                           std::string_view method, Caller* caller) const {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("authorization");
  if (it == metadata.end()) return authorize_header(nullptr, needed, method, caller);
  std::string_view value(it->second.data(), it->second.size());
  return authorize_header(&value, needed, method, caller);
}

grpc::Status TokenAuthenticator::authorize_header(const std::string_view* authorization,
                                                  Role needed, std::string_view method,
                                                  Caller* caller) const {
  std::optional<std::string_view> token;
  if (authorization != nullptr) token = bearer_token(*authorization);
  if (!token) {
    ++unauthenticated_;
    if (logger_ != nullptr)
      logger_->warn("api call unauthenticated", {{"method", method}, {"reason", "no token"}});
    std::string message = authorization == nullptr
                              ? "missing API token: "
                              : "malformed authorization metadata (expected \"Bearer <token>\"): ";
    return error_info(grpc::StatusCode::UNAUTHENTICATED, message + std::string(kHowTo),
                      authorization == nullptr ? "TOKEN_MISSING" : "TOKEN_MALFORMED");
  }

  // Constant time over the whole list: every hash is compared, the match is
  // selected with masks, and nothing depends on which entry matched until the
  // loop is over.
  const Sha256 presented = sha256(*token);
  // A reload (SIGHUP) swaps the whole list; this call keeps the one it started with.
  const std::shared_ptr<const std::vector<ApiToken>> tokens = current();
  size_t found = 0;
  size_t any = 0;
  for (size_t i = 0; i < tokens->size(); ++i) {
    const size_t equal =
        size_t(CRYPTO_memcmp(presented.data(), (*tokens)[i].sha256.data(), presented.size()) == 0);
    const size_t mask = size_t(0) - equal;
    found = (found & ~mask) | (i & mask);
    any |= equal;
  }
  // The internal token in the same pass, compared whether or not one is
  // configured (its absence must not show in the timing either).
  const size_t internal =
      size_t(CRYPTO_memcmp(presented.data(), internal_sha256_.data(), presented.size()) == 0) &
      size_t(has_internal_);
  if (any == 0 && internal == 0) {
    ++unauthenticated_;
    if (logger_ != nullptr)
      logger_->warn("api call unauthenticated", {{"method", method}, {"reason", "unknown token"}});
    return error_info(grpc::StatusCode::UNAUTHENTICATED,
                      "unknown API token: " + std::string(kHowTo), "TOKEN_UNKNOWN");
  }
  static const ApiToken kInternal{std::string(kInternalPrincipal), Role::kCalls, {}};
  const ApiToken& t = internal != 0 ? kInternal : (*tokens)[found];
  if (!role_allows(t.role, needed)) {
    ++permission_denied_;
    if (logger_ != nullptr)
      logger_->warn("api call denied", {{"method", method},
                                        {"token", t.name},
                                        {"role", role_name(t.role)},
                                        {"needed", role_name(needed)}});
    return error_info(grpc::StatusCode::PERMISSION_DENIED,
                      std::string(method) + " needs a token with role " +
                          std::string(role_name(needed)) + "; token \"" + t.name + "\" has role " +
                          std::string(role_name(t.role)),
                      "ROLE_TOO_WEAK",
                      {{"needed_role", std::string(role_name(needed))},
                       {"token_role", std::string(role_name(t.role))}});
  }
  if (logger_ != nullptr && logger_->enabled(LogLevel::kDebug))
    logger_->debug("api call", {{"method", method}, {"token", t.name}});
  if (caller != nullptr) *caller = Caller{t.name, t.role, internal != 0};
  return grpc::Status::OK;
}

}  // namespace switchboard::api
