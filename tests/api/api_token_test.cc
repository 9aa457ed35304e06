// API tokens without a server: roles, SHA-256 hex, base64url, generated
// tokens, and the authenticator's decision on raw authorization values.
#include "gateway/api/api_token.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

#include "gateway/api/base64url.h"
#include "gateway/api/status.h"
#include "gateway/api/token_auth.h"

namespace {

using namespace switchboard::api;
using testing::HasSubstr;

// Verifies the role matrix: admin does everything, calls reads, read only reads.
TEST(ApiToken, RoleMatrix) {
  EXPECT_TRUE(role_allows(Role::kAdmin, Role::kAdmin));
  EXPECT_TRUE(role_allows(Role::kAdmin, Role::kCalls));
  EXPECT_TRUE(role_allows(Role::kAdmin, Role::kRead));
  EXPECT_FALSE(role_allows(Role::kCalls, Role::kAdmin));
  EXPECT_TRUE(role_allows(Role::kCalls, Role::kCalls));
  EXPECT_TRUE(role_allows(Role::kCalls, Role::kRead));
  EXPECT_FALSE(role_allows(Role::kRead, Role::kAdmin));
  EXPECT_FALSE(role_allows(Role::kRead, Role::kCalls));
  EXPECT_TRUE(role_allows(Role::kRead, Role::kRead));
  EXPECT_EQ(parse_role("admin"), Role::kAdmin);
  EXPECT_EQ(parse_role("calls"), Role::kCalls);
  EXPECT_EQ(parse_role("read"), Role::kRead);
  EXPECT_FALSE(parse_role("Admin"));
  EXPECT_FALSE(parse_role("root"));
  EXPECT_EQ(role_name(Role::kCalls), "calls");
}

// Verifies SHA-256 against the FIPS 180-2 "abc" vector, and hex parsing both ways.
TEST(ApiToken, Sha256Hex) {
  const std::string abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
  EXPECT_EQ(to_hex(sha256("abc")), abc);
  auto parsed =
      parse_sha256_hex("BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(*parsed, sha256("abc"));
  EXPECT_FALSE(parse_sha256_hex(abc.substr(1)));
  EXPECT_FALSE(parse_sha256_hex(abc.substr(1) + "g"));
}

// Verifies base64url against RFC 4648 §10 vectors (no padding, URL alphabet) and rejects garbage.
TEST(ApiToken, Base64Url) {
  EXPECT_EQ(base64url_encode(""), "");
  EXPECT_EQ(base64url_encode("f"), "Zg");
  EXPECT_EQ(base64url_encode("fo"), "Zm8");
  EXPECT_EQ(base64url_encode("foo"), "Zm9v");
  EXPECT_EQ(base64url_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
  EXPECT_EQ(base64url_decode("-_8"), "\xfb\xff");
  EXPECT_EQ(base64url_decode("Zm9vYmFy"), "foobar");
  EXPECT_FALSE(base64url_decode("Zm9v="));
  EXPECT_FALSE(base64url_decode("Zm+v"));
  EXPECT_FALSE(base64url_decode("Z"));
  EXPECT_FALSE(base64url_decode("Zh"));  // non-zero leftover bits: not canonical
}

// Verifies generated tokens: "sbt_" + 43 base64url characters (256 bits), all different.
TEST(ApiToken, GeneratedTokens) {
  registrar::SeededRandom random(1);
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) {
    std::string t = generate_api_token(random);
    ASSERT_EQ(t.size(), 4u + 43u);
    EXPECT_EQ(t.substr(0, 4), "sbt_");
    auto raw = base64url_decode(t.substr(4));
    ASSERT_TRUE(raw);
    EXPECT_EQ(raw->size(), 32u);
    seen.insert(t);
  }
  EXPECT_EQ(seen.size(), 50u);
}

// Verifies the authenticator on raw header values: scheme case, spaces, unknown
// and matching tokens, each configured token found (none shadows another).
TEST(TokenAuthenticator, Decisions) {
  std::vector<ApiToken> tokens;
  for (int i = 0; i < 5; ++i)
    tokens.push_back({"t" + std::to_string(i), i == 3 ? Role::kAdmin : Role::kRead,
                      sha256("secret-" + std::to_string(i))});
  TokenAuthenticator auth(tokens, nullptr);
  Caller caller;
  for (int i = 0; i < 5; ++i) {
    std::string header = "Bearer secret-" + std::to_string(i);
    std::string_view h = header;
    EXPECT_TRUE(auth.authorize_header(&h, Role::kRead, "X/Y", &caller).ok());
    EXPECT_EQ(caller.token_name, "t" + std::to_string(i));
  }
  std::string_view lower = "bearer   secret-3  ";
  EXPECT_TRUE(auth.authorize_header(&lower, Role::kAdmin, "X/Y").ok());
  std::string_view weak = "Bearer secret-1";
  grpc::Status s = auth.authorize_header(&weak, Role::kAdmin, "AdminService/CreateRealm");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(s.error_message(),
            "AdminService/CreateRealm needs a token with role admin; token \"t1\" has role read");
  std::string_view unknown = "Bearer secret-9";
  s = auth.authorize_header(&unknown, Role::kRead, "X/Y");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(s.error_message().find("secret-9"), std::string::npos);  // never echo a token
  std::string_view empty = "Bearer ";
  EXPECT_EQ(auth.authorize_header(&empty, Role::kRead, "X/Y").error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  s = auth.authorize_header(nullptr, Role::kRead, "X/Y");
  EXPECT_THAT(s.error_message(), HasSubstr("missing API token"));
  EXPECT_EQ(auth.stats().unauthenticated, 3u);
  EXPECT_EQ(auth.stats().permission_denied, 1u);
}

// Verifies error statuses carry google.rpc.Status details that decode back.
TEST(Status, DetailsRoundTrip) {
  grpc::Status s = invalid_argument({{"a.b", "must be x"}, {"c", "must be y"}});
  EXPECT_EQ(s.error_message(), "a.b: must be x; c: must be y");
  auto d = status_details(s);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->code(), int(grpc::StatusCode::INVALID_ARGUMENT));
  google::rpc::BadRequest bad;
  ASSERT_TRUE(d->details(0).UnpackTo(&bad));
  ASSERT_EQ(bad.field_violations_size(), 2);
  EXPECT_EQ(bad.field_violations(1).field(), "c");
  s = error_info(grpc::StatusCode::OUT_OF_RANGE, "m", "R", {{"k", "v"}});
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(status_details(s)->details(0).UnpackTo(&info));
  EXPECT_EQ(info.domain(), "switchboard.dev");
  EXPECT_EQ(info.metadata().at("k"), "v");
  EXPECT_FALSE(status_details(grpc::Status::OK));
}

}  // namespace
