// Request validation without a server: domain names, usernames, CIDRs and
// the realm update mask.
#include "gateway/api/validation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "gateway/api/cidr.h"

namespace {

using namespace switchboard::api;
using testing::HasSubstr;

// Verifies which realm ids count as domain names.
TEST(Validation, DomainNames) {
  for (const char* ok : {"acme.example", "a", "x-1.example", "192.0.2.1", "A.B"})
    EXPECT_TRUE(is_domain_name(ok)) << ok;
  for (const char* bad : {"", "-a.example", "a-.example", "a..b", "a.", ".a", "a b", "a_b", "a/b"})
    EXPECT_FALSE(is_domain_name(bad)) << bad;
  EXPECT_FALSE(is_domain_name(std::string(64, 'a') + ".example"));
}

// Verifies usernames: printable, no whitespace, quotes or backslashes.
TEST(Validation, Usernames) {
  EXPECT_TRUE(is_username("alice"));
  EXPECT_TRUE(is_username("+15551234"));
  EXPECT_FALSE(is_username(""));
  EXPECT_FALSE(is_username("a b"));
  EXPECT_FALSE(is_username("a\"b"));
  EXPECT_FALSE(is_username("a\\b"));
  EXPECT_FALSE(is_username(std::string(256, 'a')));
}

// Verifies canonical CIDRs: host addresses get /32 or /128, case and zeros
// normalised, host bits and bad prefixes refused with a hint.
TEST(Validation, Cidrs) {
  EXPECT_EQ(canonical_cidr("192.0.2.0/24").cidr, "192.0.2.0/24");
  EXPECT_EQ(canonical_cidr("192.0.2.9").cidr, "192.0.2.9/32");
  EXPECT_EQ(canonical_cidr("2001:DB8:0::/32").cidr, "2001:db8::/32");
  EXPECT_EQ(canonical_cidr("::1").cidr, "::1/128");
  EXPECT_EQ(canonical_cidr("0.0.0.0/0").cidr, "0.0.0.0/0");
  EXPECT_THAT(canonical_cidr("192.0.2.9/24").error, HasSubstr("did you mean 192.0.2.0/24?"));
  EXPECT_THAT(canonical_cidr("192.0.2.0/33").error, HasSubstr("at most 32"));
  EXPECT_FALSE(canonical_cidr("192.0.2.0/").ok());
  EXPECT_FALSE(canonical_cidr("192.0.2.0/x").ok());
  EXPECT_FALSE(canonical_cidr("host.example").ok());
  EXPECT_FALSE(canonical_cidr("").ok());
}

// Verifies the update mask: empty and "*" mean all; unknown paths are named.
TEST(Validation, RealmMask) {
  std::vector<FieldViolation> v;
  google::protobuf::FieldMask mask;
  EXPECT_FALSE(realm_fields_from_mask(mask, v).explicit_mask);
  mask.add_paths("max_contacts");
  mask.add_paths("aliases");
  RealmFields f = realm_fields_from_mask(mask, v);
  EXPECT_TRUE(f.explicit_mask);
  EXPECT_TRUE(f.has("max_contacts"));
  EXPECT_FALSE(f.has("challenge"));
  EXPECT_TRUE(v.empty());
  mask.add_paths("*");
  EXPECT_TRUE(realm_fields_from_mask(mask, v).has("challenge"));
  google::protobuf::FieldMask bad;
  bad.add_paths("maxContacts");
  realm_fields_from_mask(bad, v);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].field, "update_mask");
  EXPECT_THAT(v[0].description, HasSubstr("unknown field \"maxContacts\""));
}

}  // namespace
