// Authorization / WWW-Authenticate values: Digest parameters, quoting, unknown schemes.
#include <gtest/gtest.h>

#include "sip/auth_params.h"

namespace sip {
namespace {

TEST(AuthParams, DigestCredentials) {
  AuthParams a;
  ASSERT_TRUE(parse_auth_params(
      "Digest username=\"alice\", realm=\"acme.test\", nonce=\"abc,def\",\r\n uri=\"sip:acme.test\", "
      "response=\"6629fae49393a05397450978507c4ef1\", algorithm=SHA-256, qop=auth, nc=00000001, "
      "cnonce=\"0a4f113b\"",
      a));
  EXPECT_EQ(a.scheme, "Digest");
  EXPECT_EQ(a.get("username"), "alice");
  EXPECT_EQ(a.get("nonce"), "abc,def");  // commas inside quotes do not split
  EXPECT_EQ(a.get("URI"), "sip:acme.test");
  EXPECT_EQ(a.get("algorithm"), "SHA-256");
  EXPECT_EQ(a.get("nc"), "00000001");
  EXPECT_EQ(a.get_raw("cnonce"), "\"0a4f113b\"");
  EXPECT_FALSE(a.get("opaque").has_value());
}

TEST(AuthParams, UnknownSchemeIsKeptOpaque) {
  AuthParams a;
  ASSERT_TRUE(parse_auth_params("NoOneKnowsThisScheme opaque-data=here", a));
  EXPECT_EQ(a.scheme, "NoOneKnowsThisScheme");
  EXPECT_TRUE(parse_auth_params("Basic dXNlcjpwYXNz==", a));
}

TEST(AuthParams, MalformedDigestIsRejected) {
  AuthParams a;
  EXPECT_FALSE(parse_auth_params("Digest username=\"alice", a));
  EXPECT_FALSE(parse_auth_params("Digest username", a));
  EXPECT_FALSE(parse_auth_params("", a));
}

}  // namespace
}  // namespace sip
