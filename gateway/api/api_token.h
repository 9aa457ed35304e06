// gateway/api/api_token.h — API bearer tokens: roles, the stored form (a
// SHA-256, never the token), and generating a new one. No gRPC here, so the
// configuration can validate tokens without linking the server.
//
//   std::string token = switchboard::api::generate_api_token(random);   // "sbt_…", 47 chars
//   switchboard::api::ApiToken t{.name = "ops", .role = Role::kAdmin,
//                                .sha256 = switchboard::api::sha256(token)};
//   role_allows(Role::kRead, Role::kAdmin);  // false: a read token cannot write
//
// Threading: pure functions and values.
#ifndef SWITCHBOARD_GATEWAY_API_API_TOKEN_H_
#define SWITCHBOARD_GATEWAY_API_API_TOKEN_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "registrar/random.h"

namespace switchboard::api {

// What a token may do. admin: everything. read: Get/List/Watch of every
// service. calls: read, plus the CallService (a later issue).
enum class Role : uint8_t { kRead, kCalls, kAdmin };

std::string_view role_name(Role role);                  // "read", "calls", "admin"
std::optional<Role> parse_role(std::string_view name);  // exactly those names

// True when a token of role `have` may call a method that needs `need`.
bool role_allows(Role have, Role need);

using Sha256 = std::array<uint8_t, 32>;

// SHA-256 (OpenSSL EVP) of `data`.
Sha256 sha256(std::string_view data);
std::string to_hex(const Sha256& digest);  // 64 lower-case hex digits
// 64 hex digits in either case; nullopt otherwise.
std::optional<Sha256> parse_sha256_hex(std::string_view hex);

struct ApiToken {
  std::string name;  // for logs; never the token
  Role role = Role::kRead;
  Sha256 sha256{};  // of the whole token text, "sbt_" included
};

// "sbt_" + base64url (no padding) of 32 bytes from `random`: 256 bits, so a
// plain (unsalted) SHA-256 is a sufficient stored form.
inline constexpr std::string_view kApiTokenPrefix = "sbt_";
std::string generate_api_token(registrar::RandomSource& random);

}  // namespace switchboard::api

#endif  // SWITCHBOARD_GATEWAY_API_API_TOKEN_H_
