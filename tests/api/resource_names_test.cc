// Resource names and page tokens: every form parses back to what produced
// it, and malformed names and foreign or garbled tokens are refused.
#include "gateway/api/resource_names.h"

#include <gtest/gtest.h>

#include "gateway/api/api_token.h"
#include "gateway/api/convert.h"

namespace {

using namespace switchboard::api;

// Verifies realm names: exactly two segments, "realms/-" kept as the wildcard.
TEST(ResourceNames, Realm) {
  EXPECT_EQ(realm_name("acme.example"), "realms/acme.example");
  EXPECT_EQ(parse_realm_name("realms/acme.example"), "acme.example");
  EXPECT_EQ(parse_realm_name("realms/-"), "-");
  EXPECT_FALSE(parse_realm_name("realms/"));
  EXPECT_FALSE(parse_realm_name("realms/a/b"));
  EXPECT_FALSE(parse_realm_name("realm/a"));
  EXPECT_FALSE(parse_realm_name("acme.example"));
}

// Verifies credential names percent-encode and decode the username.
TEST(ResourceNames, Credential) {
  EXPECT_EQ(credential_name("acme.example", "alice"), "realms/acme.example/credentials/alice");
  EXPECT_EQ(credential_name("acme.example", "a/b%c d"),
            "realms/acme.example/credentials/a%2Fb%25c%20d");
  auto n = parse_credential_name("realms/acme.example/credentials/a%2Fb%25c%20d");
  ASSERT_TRUE(n);
  EXPECT_EQ(n->realm, "acme.example");
  EXPECT_EQ(n->username, "a/b%c d");
  EXPECT_FALSE(parse_credential_name("realms/acme.example/credentials/"));
  EXPECT_FALSE(parse_credential_name("realms/-/credentials/alice"));
  EXPECT_FALSE(parse_credential_name("realms/acme.example/credentials/bad%2"));
  EXPECT_FALSE(parse_credential_name("realms/acme.example/credentials/bad%zz"));
  EXPECT_FALSE(parse_credential_name("realms/acme.example/aclEntries/alice"));
}

// Verifies ACL entry names swap '/' and the last '-' (IPv6 keeps its colons).
TEST(ResourceNames, AclEntry) {
  EXPECT_EQ(acl_entry_name("a.example", "10.0.0.0/8"), "realms/a.example/aclEntries/10.0.0.0-8");
  auto n = parse_acl_entry_name("realms/a.example/aclEntries/2001:db8::-32");
  ASSERT_TRUE(n);
  EXPECT_EQ(n->cidr, "2001:db8::/32");
  EXPECT_FALSE(parse_acl_entry_name("realms/a.example/aclEntries/10.0.0.0"));
  EXPECT_FALSE(parse_acl_entry_name("realms/a.example/aclEntries/-8"));
}

// Verifies binding names: id = first 16 hex of SHA-256(aor "\n" contact), user
// encoded, and the name parses back to the AOR.
TEST(ResourceNames, Binding) {
  registrar::Binding b;
  b.aor = "+1 555@acme.example";
  b.realm = "acme.example";
  b.contact = "sip:x@192.0.2.4";
  const std::string id = to_hex(sha256("+1 555@acme.example\nsip:x@192.0.2.4")).substr(0, 16);
  EXPECT_EQ(binding_id(b.aor, b.contact), id);
  EXPECT_EQ(binding_name(b), "realms/acme.example/aors/+1%20555/bindings/" + id);
  auto n = parse_binding_name(binding_name(b));
  ASSERT_TRUE(n);
  EXPECT_EQ(n->aor(), b.aor);
  EXPECT_EQ(n->id, id);
  EXPECT_EQ(parse_binding_name("realms/ACME.example/aors/u/bindings/" + id)->aor(),
            "u@acme.example");
  EXPECT_FALSE(parse_binding_name("realms/acme.example/aors/u/bindings/" + id.substr(1)));
  EXPECT_FALSE(parse_binding_name("realms/acme.example/aors/u/bindings/" + id + "0"));
  EXPECT_FALSE(parse_binding_name("realms/acme.example/aors/u/contacts/" + id));
}

// Verifies page tokens round-trip, are bound to their list, and refuse garbage.
TEST(ResourceNames, PageTokens) {
  std::string t = encode_page_token("realms", "b.example");
  EXPECT_EQ(decode_page_token("realms", t), "b.example");
  EXPECT_FALSE(decode_page_token("credentials", t));
  EXPECT_FALSE(decode_page_token("realms", "!!"));
  EXPECT_FALSE(decode_page_token("realms", ""));
  EXPECT_FALSE(decode_page_token("realms", encode_page_token("realms", "")));
  EXPECT_FALSE(decode_page_token("realms", t + "A"));
}

// Verifies conversions: IPv6 sources in brackets, q as a fraction or absent,
// unset times absent, AOR as a sip: URI.
TEST(Convert, Binding) {
  EXPECT_EQ(source_address("2001:db8::1", 5060), "[2001:db8::1]:5060");
  EXPECT_EQ(source_address("192.0.2.1", 5062), "192.0.2.1:5062");
  EXPECT_EQ(source_address("", 0), "");
  registrar::Binding b;
  b.aor = "alice@acme.example";
  b.realm = "acme.example";
  b.contact = "sip:alice@h";
  b.q = 0;
  auto p = to_proto(b);
  EXPECT_EQ(p.aor(), "sip:alice@acme.example");
  ASSERT_TRUE(p.has_q());
  EXPECT_EQ(p.q(), 0.0f);
  EXPECT_FALSE(p.has_expire_time());
  b.q = -1;
  EXPECT_FALSE(to_proto(b).has_q());
}

}  // namespace
