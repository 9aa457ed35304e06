// gateway/api/api_token.cc — see api_token.h.
#include "gateway/api/api_token.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cstdlib>
#include <memory>

#include "gateway/api/base64url.h"

namespace switchboard::api {

std::string_view role_name(Role role) {
  switch (role) {
    case Role::kRead:
      return "read";
    case Role::kCalls:
      return "calls";
    case Role::kAdmin:
      return "admin";
  }
  return "?";
}

std::optional<Role> parse_role(std::string_view name) {
  if (name == "read") return Role::kRead;
  if (name == "calls") return Role::kCalls;
  if (name == "admin") return Role::kAdmin;
  return std::nullopt;
}

bool role_allows(Role have, Role need) {
  switch (need) {
    case Role::kRead:
      return true;  // every role reads
    case Role::kCalls:
      return have == Role::kCalls || have == Role::kAdmin;
    case Role::kAdmin:
      return have == Role::kAdmin;
  }
  return false;
}

Sha256 sha256(std::string_view data) {
  Sha256 out{};
  unsigned int length = 0;
  // EVP_Digest is one-shot; a failure here means OpenSSL is unusable, and
  // an all-zero digest could match a configured one: abort instead.
  if (EVP_Digest(data.data(), data.size(), out.data(), &length, EVP_sha256(), nullptr) != 1 ||
      length != out.size())
    std::abort();
  return out;
}

std::string to_hex(const Sha256& digest) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(64);
  for (uint8_t b : digest) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

std::optional<Sha256> parse_sha256_hex(std::string_view hex) {
  if (hex.size() != 64) return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  Sha256 out{};
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = uint8_t(hi << 4 | lo);
  }
  return out;
}

std::string generate_api_token(registrar::RandomSource& random) {
  std::array<uint8_t, 32> bytes{};
  random.fill(bytes);
  std::string token(kApiTokenPrefix);
  token +=
      base64url_encode(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  OPENSSL_cleanse(bytes.data(), bytes.size());
  return token;
}

}  // namespace switchboard::api
