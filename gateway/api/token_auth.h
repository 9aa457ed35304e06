// gateway/api/token_auth.h — bearer-token authentication and role checks for
// every RPC.
//
// A caller sends the metadata `authorization: Bearer <token>`. The token's
// SHA-256 is compared in constant time against EVERY configured hash (no
// early exit, so timing reveals neither whether nor which token matched).
//
//   TokenAuthenticator auth(tokens, &logger);
//   if (grpc::Status s = auth.authorize(*ctx, Role::kAdmin, "AdminService/CreateRealm"); !s.ok())
//     return finish(s);
//
//   UNAUTHENTICATED    no token, or an unknown one (the message says how to pass one)
//   PERMISSION_DENIED  the token's role is too weak (the message names the role needed)
//
// Logs name the token (its configured name), never the token itself.
//
// Replicas (docs/scale-out.md) present one more credential to each other:
// the internal token (replica.token). It is compared in the same constant-time
// pass and authorizes as the internal principal "replica" with role calls
// (which includes read), Caller::internal set; it is not a configured API
// token and a reload does not replace it.
//
// Threading: authorize() from any thread at once; the token list is fixed at
// construction.
#ifndef SWITCHBOARD_GATEWAY_API_TOKEN_AUTH_H_
#define SWITCHBOARD_GATEWAY_API_TOKEN_AUTH_H_

#include <grpcpp/server_context.h>
#include <grpcpp/support/status.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/api/api_token.h"
#include "gateway/json_log.h"

namespace switchboard::api {

// Who called, once authorized.
struct Caller {
  std::string token_name;
  Role role = Role::kRead;
  bool internal = false;  // another replica, with the internal token
};

// The token name of the internal principal, in logs.
inline constexpr std::string_view kInternalPrincipal = "replica";

// Refusals since construction (each logged at warn).
struct AuthStats {
  uint64_t unauthenticated = 0;    // no token or an unknown one
  uint64_t permission_denied = 0;  // a known token with too weak a role
};

class TokenAuthenticator {
 public:
  // `logger` may be null (no logs); it must outlive the authenticator.
  // `internal_token`: the replicas' shared token ("" = none accepted).
  TokenAuthenticator(std::vector<ApiToken> tokens, Logger* logger,
                     std::string_view internal_token = {});

  // OK when the call carries a known token whose role allows `needed`;
  // `method` ("AdminService/CreateRealm") is for messages and logs. On OK,
  // `caller` (when given) names the token.
  grpc::Status authorize(const grpc::ServerContextBase& context, Role needed,
                         std::string_view method, Caller* caller = nullptr) const;

  // The same decision on a raw `authorization` value (absent: nullptr), for tests.
  grpc::Status authorize_header(const std::string_view* authorization, Role needed,
                                std::string_view method, Caller* caller = nullptr) const;

  size_t token_count() const;
  AuthStats stats() const;

  // Replaces the token list (configuration reload). Calls already authorized
  // keep going; the next call is checked against the new list. Thread-safe.
  void replace_tokens(std::vector<ApiToken> tokens);

 private:
  std::shared_ptr<const std::vector<ApiToken>> current() const;

  mutable std::mutex mu_;  // guards the pointer only, for a copy per call
  std::shared_ptr<const std::vector<ApiToken>> tokens_;
  Logger* logger_;
  bool has_internal_ = false;
  Sha256 internal_sha256_{};  // of the internal token; only its hash is kept
  mutable std::atomic<uint64_t> unauthenticated_{0};
  mutable std::atomic<uint64_t> permission_denied_{0};
};

}  // namespace switchboard::api

#endif  // SWITCHBOARD_GATEWAY_API_TOKEN_AUTH_H_
