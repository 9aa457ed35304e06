// AdminService against the real server: realms, credentials and ACL entries,
// each RPC's success and error paths, with the error details decoded from the
// trailer, and proof through the real Registrar that what the API provisions
// is used by the very next REGISTER.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

#include "api_fixture.h"
#include "registrar/digest.h"

namespace apitest {
namespace {

using testing::ElementsAre;
using testing::HasSubstr;
using testing::UnorderedElementsAre;

class AdminApi : public ApiTest {
 protected:
  grpc::Status create_realm(const std::string& id, const v1::Realm& settings = {},
                            v1::Realm* out = nullptr) {
    v1::CreateRealmRequest req;
    req.set_realm_id(id);
    *req.mutable_realm() = settings;
    v1::Realm ignored;
    return admin().CreateRealm(ctx().get(), req, out ? out : &ignored);
  }
  grpc::Status get_realm(const std::string& name, v1::Realm* out) {
    v1::GetRealmRequest req;
    req.set_name(name);
    return admin().GetRealm(ctx(kReadToken).get(), req, out);
  }
  grpc::Status create_credential(const std::string& realm, const std::string& user,
                                 const v1::Credential& secret, v1::Credential* out = nullptr) {
    v1::CreateCredentialRequest req;
    req.set_parent("realms/" + realm);
    req.set_credential_id(user);
    *req.mutable_credential() = secret;
    v1::Credential ignored;
    return admin().CreateCredential(ctx().get(), req, out ? out : &ignored);
  }
  static v1::Credential password(const std::string& pw) {
    v1::Credential c;
    c.set_password(pw);
    return c;
  }
};

// --- realms --------------------------------------------------------------------

// Verifies CreateRealm stores the realm with the documented defaults and returns it.
TEST_F(AdminApi, CreateRealmAppliesDefaults) {
  v1::Realm created;
  ASSERT_TRUE(create_realm("Acme.Example", {}, &created).ok());
  EXPECT_EQ(created.name(), "realms/acme.example");
  EXPECT_EQ(created.challenge(), v1::CHALLENGE_MODE_401);
  EXPECT_THAT(created.algorithms(), ElementsAre(v1::MD5));
  EXPECT_EQ(created.default_expires_seconds(), 3600u);
  EXPECT_EQ(created.min_expires_seconds(), 60u);
  EXPECT_EQ(created.max_expires_seconds(), 7200u);
  EXPECT_EQ(created.max_contacts(), 10u);
  EXPECT_EQ(created.contact_overflow(), v1::REJECT);
  EXPECT_EQ(created.source_auth(), v1::DIGEST);
  auto stored = credentials->find_realm("acme.example");
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->name, "acme.example");
}

// Verifies every realm setting given on create is stored and returned by GetRealm.
TEST_F(AdminApi, CreateRealmWithSettingsRoundTrips) {
  v1::Realm r;
  r.set_challenge(v1::CHALLENGE_MODE_407);
  r.add_algorithms(v1::SHA_256);
  r.add_algorithms(v1::MD5);
  r.set_allow_qop_less(true);
  r.set_default_expires_seconds(600);
  r.set_min_expires_seconds(30);
  r.set_max_expires_seconds(900);
  r.set_max_contacts(3);
  r.set_contact_overflow(v1::EVICT_OLDEST);
  r.set_source_auth(v1::TRUSTED_OR_DIGEST);
  (*r.mutable_aliases())["alice"].add_users("sales");
  ASSERT_TRUE(create_realm("acme.example", r).ok());
  v1::Realm got;
  ASSERT_TRUE(get_realm("realms/acme.example", &got).ok());
  EXPECT_EQ(got.challenge(), v1::CHALLENGE_MODE_407);
  EXPECT_THAT(got.algorithms(), ElementsAre(v1::SHA_256, v1::MD5));
  EXPECT_TRUE(got.allow_qop_less());
  EXPECT_EQ(got.default_expires_seconds(), 600u);
  EXPECT_EQ(got.min_expires_seconds(), 30u);
  EXPECT_EQ(got.max_expires_seconds(), 900u);
  EXPECT_EQ(got.max_contacts(), 3u);
  EXPECT_EQ(got.contact_overflow(), v1::EVICT_OLDEST);
  EXPECT_EQ(got.source_auth(), v1::TRUSTED_OR_DIGEST);
  ASSERT_EQ(got.aliases().count("alice"), 1u);
  EXPECT_THAT(got.aliases().at("alice").users(), ElementsAre("sales"));
  EXPECT_EQ(credentials->find_realm("acme.example")->challenge, registrar::ChallengeMode::k407);
}

// Verifies a second create of the same realm (any case) is ALREADY_EXISTS with ResourceInfo.
TEST_F(AdminApi, CreateRealmTwiceIsAlreadyExists) {
  ASSERT_TRUE(create_realm("acme.example").ok());
  grpc::Status s = create_realm("ACME.example");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS) << describe(s);
  EXPECT_EQ(s.error_message(), "realm \"acme.example\" already exists");
  auto info = resource_info(s);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->resource_type(), "switchboard.v1.Realm");
  EXPECT_EQ(info->resource_name(), "realms/acme.example");
}

// Verifies invalid realms are refused with one field violation per problem.
TEST_F(AdminApi, CreateRealmValidatesEveryField) {
  struct Case {
    std::string id;
    std::function<void(v1::Realm&)> edit;
    std::string violation;
  };
  std::vector<Case> cases = {
      {"", [](v1::Realm&) {}, "realm_id: required"},
      {"not a domain", [](v1::Realm&) {}, "realm_id: \"not a domain\" is not a domain name"},
      {"a.example",
       [](v1::Realm& r) {
         r.set_min_expires_seconds(100);
         r.set_max_expires_seconds(50);
       },
       "realm.min_expires_seconds: must not exceed max_expires_seconds (50)"},
      {"a.example", [](v1::Realm& r) { r.set_default_expires_seconds(9000); },
       "realm.default_expires_seconds: must lie between min_expires_seconds (60) and "
       "max_expires_seconds (7200)"},
      {"a.example", [](v1::Realm& r) { r.set_max_contacts(20000); },
       "realm.max_contacts: must lie between 1 and 10000"},
      {"a.example", [](v1::Realm& r) { r.add_algorithms(v1::DigestAlgorithm(9)); },
       "realm.algorithms[0]: unknown digest algorithm 9"},
      {"a.example",
       [](v1::Realm& r) {
         r.add_algorithms(v1::MD5);
         r.add_algorithms(v1::MD5);
       },
       "realm.algorithms[1]: MD5 listed twice"},
      {"a.example", [](v1::Realm& r) { r.set_challenge(v1::ChallengeMode(5)); },
       "realm.challenge: unknown value 5"},
      {"a.example", [](v1::Realm& r) { (*r.mutable_aliases())["bob"].add_users("has space"); },
       "realm.aliases[\"bob\"]: \"has space\" is not a valid AOR user part"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.violation);
    v1::Realm r;
    c.edit(r);
    grpc::Status s = create_realm(c.id, r);
    ASSERT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << describe(s);
    std::vector<std::string> v = violations(s);
    ASSERT_EQ(v.size(), 1u) << s.error_message();
    EXPECT_THAT(v[0], HasSubstr(c.violation));
    EXPECT_THAT(s.error_message(), HasSubstr(c.violation));
  }
  EXPECT_TRUE(credentials->list_realms().empty());
}

// Verifies GetRealm of an unknown realm is NOT_FOUND with a readable message and ResourceInfo.
TEST_F(AdminApi, GetUnknownRealmIsNotFound) {
  v1::Realm r;
  grpc::Status s = get_realm("realms/nope.example", &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(s.error_message(), "realm \"nope.example\" not found");
  ASSERT_TRUE(resource_info(s));
  EXPECT_EQ(resource_info(s)->resource_name(), "realms/nope.example");
  s = get_realm("realm/nope.example", &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(violations(s), ElementsAre(HasSubstr("name: expected \"realms/{realm}\"")));
}

// Verifies GetRealm reports how many credentials and ACL entries a realm has.
TEST_F(AdminApi, GetRealmCountsCredentialsAndAclEntries) {
  ASSERT_TRUE(create_realm("acme.example").ok());
  ASSERT_TRUE(create_credential("acme.example", "alice", password("pw-a")).ok());
  ASSERT_TRUE(create_credential("acme.example", "bob", password("pw-b")).ok());
  v1::CreateAclEntryRequest acl;
  acl.set_parent("realms/acme.example");
  acl.mutable_acl_entry()->set_cidr("192.0.2.0/24");
  v1::AclEntry entry;
  ASSERT_TRUE(admin().CreateAclEntry(ctx().get(), acl, &entry).ok());
  v1::Realm r;
  ASSERT_TRUE(get_realm("realms/acme.example", &r).ok());
  EXPECT_EQ(r.credential_count(), 2);
  EXPECT_EQ(r.acl_entry_count(), 1);
}

// Verifies ListRealms pages in name order and the token is refused elsewhere or when garbled.
TEST_F(AdminApi, ListRealmsPaginates) {
  for (const char* name : {"e.example", "a.example", "c.example", "b.example", "d.example"})
    ASSERT_TRUE(create_realm(name).ok());
  std::vector<std::string> seen;
  std::string token;
  int pages = 0;
  do {
    v1::ListRealmsRequest req;
    req.set_page_size(2);
    req.set_page_token(token);
    v1::ListRealmsResponse resp;
    grpc::Status s = admin().ListRealms(ctx(kReadToken).get(), req, &resp);
    ASSERT_TRUE(s.ok()) << describe(s);
    EXPECT_LE(resp.realms_size(), 2);
    for (const auto& r : resp.realms()) seen.push_back(r.name());
    token = resp.next_page_token();
    ASSERT_LT(++pages, 10);
  } while (!token.empty());
  EXPECT_EQ(pages, 3);
  EXPECT_THAT(seen, ElementsAre("realms/a.example", "realms/b.example", "realms/c.example",
                                "realms/d.example", "realms/e.example"));

  v1::ListRealmsRequest bad;
  bad.set_page_token("not-a-token!");
  v1::ListRealmsResponse resp;
  grpc::Status s = admin().ListRealms(ctx(kReadToken).get(), bad, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(violations(s), ElementsAre(HasSubstr("page_token: not a page token")));

  bad.set_page_token("");
  bad.set_page_size(-1);
  s = admin().ListRealms(ctx(kReadToken).get(), bad, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(violations(s), ElementsAre(HasSubstr("page_size: must not be negative")));
}

// Verifies UpdateRealm changes exactly the fields named in update_mask.
TEST_F(AdminApi, UpdateRealmHonoursUpdateMask) {
  v1::Realm settings;
  settings.set_default_expires_seconds(1800);
  ASSERT_TRUE(create_realm("acme.example", settings).ok());
  v1::UpdateRealmRequest req;
  req.mutable_realm()->set_name("realms/acme.example");
  req.mutable_realm()->set_max_contacts(2);
  req.mutable_realm()->set_challenge(v1::CHALLENGE_MODE_407);  // not in the mask: ignored
  req.mutable_update_mask()->add_paths("max_contacts");
  v1::Realm updated;
  grpc::Status s = admin().UpdateRealm(ctx().get(), req, &updated);
  ASSERT_TRUE(s.ok()) << describe(s);
  EXPECT_EQ(updated.max_contacts(), 2u);
  EXPECT_EQ(updated.challenge(), v1::CHALLENGE_MODE_401);
  EXPECT_EQ(updated.default_expires_seconds(), 1800u);
  auto stored = credentials->find_realm("acme.example");
  EXPECT_EQ(stored->max_contacts, 2u);
  EXPECT_EQ(stored->default_expires, 1800u);
  EXPECT_EQ(stored->challenge, registrar::ChallengeMode::k401);
}

// Verifies UpdateRealm refuses unknown and output-only mask paths, zero values
// named in the mask, a broken expiry ordering, and unknown realms.
TEST_F(AdminApi, UpdateRealmErrors) {
  ASSERT_TRUE(create_realm("acme.example").ok());
  auto update = [&](const std::string& name, std::vector<std::string> paths,
                    std::function<void(v1::Realm&)> edit) {
    v1::UpdateRealmRequest req;
    req.mutable_realm()->set_name(name);
    edit(*req.mutable_realm());
    for (const auto& p : paths) req.mutable_update_mask()->add_paths(p);
    v1::Realm out;
    return admin().UpdateRealm(ctx().get(), req, &out);
  };
  grpc::Status s = update("realms/acme.example", {"max_contact"}, [](v1::Realm&) {});
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(violations(s), ElementsAre(HasSubstr("update_mask: unknown field \"max_contact\"")));
  s = update("realms/acme.example", {"name"}, [](v1::Realm&) {});
  EXPECT_THAT(violations(s), ElementsAre(HasSubstr("\"name\" cannot be changed")));
  s = update("realms/acme.example", {"credential_count"}, [](v1::Realm&) {});
  EXPECT_THAT(violations(s), ElementsAre(HasSubstr("output only")));
  s = update("realms/acme.example", {"max_contacts"}, [](v1::Realm&) {});
  EXPECT_THAT(violations(s), ElementsAre(HasSubstr("realm.max_contacts: must lie between 1")));
  s = update("realms/acme.example", {"max_expires_seconds"},
             [](v1::Realm& r) { r.set_max_expires_seconds(100); });
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(violations(s), ElementsAre(HasSubstr("realm.default_expires_seconds: must lie")));
  EXPECT_EQ(credentials->find_realm("acme.example")->max_expires, 7200u);
  s = update("realms/other.example", {"max_contacts"}, [](v1::Realm& r) { r.set_max_contacts(4); });
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
}

// Verifies an empty update mask replaces every settable field (unset ones take defaults).
TEST_F(AdminApi, UpdateRealmWithoutMaskReplacesAll) {
  v1::Realm settings;
  settings.set_max_contacts(5);
  settings.set_challenge(v1::CHALLENGE_MODE_407);
  ASSERT_TRUE(create_realm("acme.example", settings).ok());
  v1::UpdateRealmRequest req;
  req.mutable_realm()->set_name("realms/acme.example");
  req.mutable_realm()->set_min_expires_seconds(120);
  v1::Realm out;
  ASSERT_TRUE(admin().UpdateRealm(ctx().get(), req, &out).ok());
  EXPECT_EQ(out.max_contacts(), 10u);
  EXPECT_EQ(out.challenge(), v1::CHALLENGE_MODE_401);
  EXPECT_EQ(out.min_expires_seconds(), 120u);
}

// Verifies DeleteRealm removes the realm, its credentials and every binding in it.
TEST_F(AdminApi, DeleteRealmRemovesCredentialsAndBindings) {
  ASSERT_TRUE(create_realm("acme.example").ok());
  ASSERT_TRUE(create_realm("other.example").ok());
  ASSERT_TRUE(create_credential("acme.example", "alice", password("pw")).ok());
  put_binding(binding("alice@acme.example", "sip:alice@192.0.2.4:5062"));
  put_binding(binding("bob@other.example", "sip:bob@192.0.2.5:5062"));
  v1::DeleteRealmRequest req;
  req.set_name("realms/acme.example");
  google::protobuf::Empty empty;
  grpc::Status s = admin().DeleteRealm(ctx().get(), req, &empty);
  ASSERT_TRUE(s.ok()) << describe(s);
  EXPECT_FALSE(credentials->find_realm("acme.example"));
  EXPECT_FALSE(credentials->find_credential("acme.example", "alice"));
  EXPECT_TRUE(location->lookup("alice@acme.example").empty());
  EXPECT_EQ(location->lookup("bob@other.example").size(), 1u);
  s = admin().DeleteRealm(ctx().get(), req, &empty);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
}

// Verifies a realm created over the API serves the very next REGISTER (no restart).
TEST_F(AdminApi, RealmAndCredentialApplyAtOnce) {
  EXPECT_EQ(register_with_password("acme.example", "alice", "s3cret"), 404);
  ASSERT_TRUE(create_realm("acme.example").ok());
  EXPECT_EQ(register_with_password("acme.example", "alice", "s3cret"), 401);  // unknown user
  ASSERT_TRUE(create_credential("acme.example", "alice", password("s3cret")).ok());
  EXPECT_EQ(register_with_password("acme.example", "alice", "s3cret"), 200);
  EXPECT_EQ(location->lookup("alice@acme.example").size(), 1u);
}

// --- credentials ---------------------------------------------------------------

// Verifies a password credential gets every HA1 and hash1b, and no secret comes back.
TEST_F(AdminApi, CreateCredentialWithPassword) {
  ASSERT_TRUE(create_realm("acme.example").ok());
  v1::Credential out;
  grpc::Status s = create_credential("acme.example", "alice", password("s3cret"), &out);
  ASSERT_TRUE(s.ok()) << describe(s);
  EXPECT_EQ(out.name(), "realms/acme.example/credentials/alice");
  EXPECT_EQ(out.username(), "alice");
  EXPECT_THAT(out.algorithms(), ElementsAre(v1::SHA_512_256, v1::SHA_256, v1::MD5));
  EXPECT_TRUE(out.has_hash1b());
  EXPECT_EQ(out.password(), "");
  EXPECT_EQ(out.ha1_md5(), "");
  auto stored = credentials->find_credential("acme.example", "alice");
  ASSERT_TRUE(stored);
  EXPECT_EQ(
      *stored->ha1(registrar::DigestAlgorithm::kMd5),
      registrar::compute_ha1(registrar::DigestAlgorithm::kMd5, "alice", "acme.example", "s3cret"));
}

// Verifies Get and List never return a secret field, only which algorithms exist.
TEST_F(AdminApi, SecretsAreNeverReturned) {
  ASSERT_TRUE(create_realm("acme.example").ok());
  v1::Credential ha1;
  ha1.set_ha1_md5(
      registrar::compute_ha1(registrar::DigestAlgorithm::kMd5, "bob", "acme.example", "pw"));
  ASSERT_TRUE(create_credential("acme.example", "alice", password("s3cret")).ok());
  ASSERT_TRUE(create_credential("acme.example", "bob", ha1).ok());
  auto no_secret = [](const v1::Credential& c) {
    EXPECT_EQ(c.password(), "");
    EXPECT_EQ(c.ha1_md5(), "");
    EXPECT_EQ(c.ha1_sha256(), "");
    EXPECT_EQ(c.ha1_sha512_256(), "");
    EXPECT_EQ(c.hash1(), "");
    EXPECT_EQ(c.hash1b(), "");
  };
  v1::GetCredentialRequest get;
  get.set_name("realms/acme.example/credentials/bob");
  v1::Credential bob;
  ASSERT_TRUE(admin().GetCredential(ctx(kReadToken).get(), get, &bob).ok());
  no_secret(bob);
  EXPECT_THAT(bob.algorithms(), ElementsAre(v1::MD5));
  EXPECT_FALSE(bob.has_hash1b());
  v1::ListCredentialsRequest list;
  list.set_parent("realms/acme.example");
  v1::ListCredentialsResponse resp;
  ASSERT_TRUE(admin().ListCredentials(ctx(kReadToken).get(), list, &resp).ok());
  ASSERT_EQ(resp.credentials_size(), 2);
  for (const auto& c : resp.credentials()) no_secret(c);
  // Nor does the serialized response carry any byte of a stored hash.
  std::string wire = resp.SerializeAsString() + bob.SerializeAsString();
  EXPECT_EQ(wire.find(ha1.ha1_md5()), std::string::npos);
}

// Verifies Bandwidth-style hash1 + hash1b: the registrar accepts a digest
// computed with hash1b for the composite username user@domain.
TEST_F(AdminApi, CreateCredentialWithHash1AndHash1b) {
  ASSERT_TRUE(create_realm("acme.example").ok());
  v1::Credential c;
  c.set_hash1(registrar::compute_hash1("alice", "acme.example", "pw-1"));
  c.set_hash1b(registrar::compute_hash1b("alice", "acme.example", "acme.example", "pw-1"));
  v1::Credential out;
  grpc::Status s = create_credential("acme.example", "alice", c, &out);
  ASSERT_TRUE(s.ok()) << describe(s);
  EXPECT_THAT(out.algorithms(), ElementsAre(v1::MD5));
  EXPECT_TRUE(out.has_hash1b());
  EXPECT_EQ(register_with_ha1("acme.example", "alice", "alice@acme.example", c.hash1b()), 200);
  EXPECT_EQ(register_with_ha1("acme.example", "alice", "alice", c.hash1()), 200);
  EXPECT_EQ(register_with_password("acme.example", "alice", "wrong"), 401);
}

// Verifies hash1b's domain can differ from the realm (Bandwidth's user@domain).
TEST_F(AdminApi, CreateCredentialWithHash1bForAnotherDomain) {
  ASSERT_TRUE(create_realm("acme.example").ok());
  v1::Credential c;
  c.set_hash1(registrar::compute_hash1("alice", "acme.example", "pw-1"));
  c.set_hash1b(registrar::compute_hash1b("alice", "voice.acme.example", "acme.example", "pw-1"));
  c.set_domain("voice.acme.example");
  ASSERT_TRUE(create_credential("acme.example", "alice", c).ok());
  EXPECT_EQ(register_with_ha1("acme.example", "alice", "alice@voice.acme.example", c.hash1b()), 200);
  EXPECT_EQ(register_with_ha1("acme.example", "alice", "alice@acme.example", c.hash1b()), 401);
}

// Verifies the -sess algorithms round-trip through a realm's settings.
TEST_F(AdminApi, RealmAlgorithmsIncludeSessVariants) {
  v1::Realm r;
  r.add_algorithms(v1::SHA_256_SESS);
  r.add_algorithms(v1::MD5_SESS);
  r.add_algorithms(v1::MD5);
  ASSERT_TRUE(create_realm("acme.example", r).ok());
  v1::Realm got;
  ASSERT_TRUE(get_realm("realms/acme.example", &got).ok());
  EXPECT_THAT(got.algorithms(), ElementsAre(v1::SHA_256_SESS, v1::MD5_SESS, v1::MD5));
}

// Verifies the secret must be given in exactly one form, with precise field violations.
TEST_F(AdminApi, CreateCredentialSecretForms) {
  ASSERT_TRUE(create_realm("acme.example").ok());
  const std::string md5 =
      registrar::compute_ha1(registrar::DigestAlgorithm::kMd5, "u", "acme.example", "p");
  struct Case {
    std::function<void(v1::Credential&)> edit;
    std::string violation;
  };
  std::vector<Case> cases = {
      {[](v1::Credential&) {}, "credential.password: must not be empty"},
      {[&](v1::Credential& c) {
         c.set_password("x");
         c.set_ha1_md5(md5);
       },
       "credential: give exactly one form of the secret"},
      {[&](v1::Credential& c) { c.set_ha1_sha256(md5); },
       "credential.ha1_sha256: must be 64 hex digits"},
      {[&](v1::Credential& c) { c.set_hash1(md5); },
       "credential.hash1b: required together with hash1"},
      {[&](v1::Credential& c) {
         c.set_hash1b("zz");
         c.set_hash1(md5);
       },
       "credential.hash1b: must be 32 hex digits"},
      {[&](v1::Credential& c) {
         c.set_hash1(md5);
         c.set_ha1_md5(md5);
         c.set_hash1b(md5);
       },
       "credential: give exactly one form"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.violation);
    v1::Credential secret;
    c.edit(secret);
    grpc::Status s = create_credential("acme.example", "u", secret);
    ASSERT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << describe(s);
    EXPECT_THAT(violations(s), ElementsAre(HasSubstr(c.violation)));
    EXPECT_EQ(s.error_message().find(md5), std::string::npos);  // never echo a hash
  }
  grpc::Status s = create_credential("acme.example", "has space", password("x"));
  EXPECT_THAT(violations(s), ElementsAre(HasSubstr("credential_id: must be 1-255 printable")));
  s = create_credential("nope.example", "u", password("x"));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(s.error_message(), "realm \"nope.example\" not found");
  EXPECT_TRUE(credentials->list_credentials("acme.example").empty());
}

// Verifies a duplicate credential is ALREADY_EXISTS and keeps the first secret.
TEST_F(AdminApi, CreateCredentialTwiceIsAlreadyExists) {
  ASSERT_TRUE(create_realm("acme.example").ok());
  ASSERT_TRUE(create_credential("acme.example", "alice", password("first")).ok());
  grpc::Status s = create_credential("acme.example", "alice", password("second"));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(s.error_message(), "credential \"alice\" already exists in realm \"acme.example\"");
  ASSERT_TRUE(resource_info(s));
  EXPECT_EQ(resource_info(s)->resource_name(), "realms/acme.example/credentials/alice");
  EXPECT_EQ(register_with_password("acme.example", "alice", "first"), 200);
}

// Verifies 250 credentials list as pages of 100, 100 and 50, in order, without repeats.
TEST_F(AdminApi, ListCredentialsPaginatesOver250) {
  ASSERT_TRUE(create_realm("acme.example").ok());
  const registrar::Realm realm = *credentials->find_realm("acme.example");
  for (int i = 0; i < 250; ++i) {
    char user[16];
    std::snprintf(user, sizeof(user), "user%03d", i);
    ASSERT_TRUE(
        credentials
            ->put_credential(
                registrar::Credential::from_hashes(
                    {.realm = realm.name, .username = user, .ha1_md5 = std::string(32, 'a')})
                    .credential.value())
            .ok);
  }
  std::vector<int> sizes;
  std::vector<std::string> names;
  std::string token;
  do {
    v1::ListCredentialsRequest req;
    req.set_parent("realms/acme.example");
    req.set_page_size(100);
    req.set_page_token(token);
    v1::ListCredentialsResponse resp;
    grpc::Status s = admin().ListCredentials(ctx(kReadToken).get(), req, &resp);
    ASSERT_TRUE(s.ok()) << describe(s);
    sizes.push_back(resp.credentials_size());
    for (const auto& c : resp.credentials()) names.push_back(c.username());
    token = resp.next_page_token();
    ASSERT_LT(sizes.size(), 10u);
  } while (!token.empty());
  EXPECT_THAT(sizes, ElementsAre(100, 100, 50));
  ASSERT_EQ(names.size(), 250u);
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  EXPECT_EQ(std::set<std::string>(names.begin(), names.end()).size(), 250u);

  // A realms token is not a credentials token.
  v1::ListRealmsRequest realms;
  realms.set_page_size(1);
  put_realm("zz.example");
  v1::ListRealmsResponse realms_page;
  ASSERT_TRUE(admin().ListRealms(ctx(kReadToken).get(), realms, &realms_page).ok());
  ASSERT_FALSE(realms_page.next_page_token().empty());
  v1::ListCredentialsRequest req;
  req.set_parent("realms/acme.example");
  req.set_page_token(realms_page.next_page_token());
  v1::ListCredentialsResponse resp;
  EXPECT_EQ(admin().ListCredentials(ctx(kReadToken).get(), req, &resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

// Verifies GetCredential tells an unknown realm from an unknown user, and refuses bad names.
TEST_F(AdminApi, GetCredentialErrors) {
  ASSERT_TRUE(create_realm("acme.example").ok());
  v1::GetCredentialRequest req;
  v1::Credential out;
  req.set_name("realms/acme.example/credentials/nobody");
  grpc::Status s = admin().GetCredential(ctx(kReadToken).get(), req, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(s.error_message(), "credential \"nobody\" not found in realm \"acme.example\"");
  req.set_name("realms/nope.example/credentials/alice");
  s = admin().GetCredential(ctx(kReadToken).get(), req, &out);
  EXPECT_EQ(s.error_message(), "realm \"nope.example\" not found");
  req.set_name("realms/acme.example/users/alice");
  s = admin().GetCredential(ctx(kReadToken).get(), req, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

// Verifies a username with '/' or '%' round-trips through its percent-encoded name.
TEST_F(AdminApi, CredentialNamesArePercentEncoded) {
  ASSERT_TRUE(create_realm("acme.example").ok());
  v1::Credential out;
  ASSERT_TRUE(create_credential("acme.example", "ext/1%", password("pw"), &out).ok());
  EXPECT_EQ(out.name(), "realms/acme.example/credentials/ext%2F1%25");
  v1::GetCredentialRequest req;
  req.set_name(out.name());
  v1::Credential got;
  ASSERT_TRUE(admin().GetCredential(ctx(kReadToken).get(), req, &got).ok());
  EXPECT_EQ(got.username(), "ext/1%");
}

// Verifies UpdateCredential replaces the secret at once (the old password stops
// working) and refuses non-secret mask paths.
TEST_F(AdminApi, UpdateCredentialReplacesSecret) {
  ASSERT_TRUE(create_realm("acme.example").ok());
  ASSERT_TRUE(create_credential("acme.example", "alice", password("old-pw")).ok());
  EXPECT_EQ(register_with_password("acme.example", "alice", "old-pw"), 200);
  v1::UpdateCredentialRequest req;
  req.mutable_credential()->set_name("realms/acme.example/credentials/alice");
  req.mutable_credential()->set_password("new-pw");
  req.mutable_update_mask()->add_paths("password");
  v1::Credential out;
  grpc::Status s = admin().UpdateCredential(ctx().get(), req, &out);
  ASSERT_TRUE(s.ok()) << describe(s);
  EXPECT_EQ(out.password(), "");
  EXPECT_EQ(register_with_password("acme.example", "alice", "old-pw"), 401);
  EXPECT_EQ(register_with_password("acme.example", "alice", "new-pw"), 200);

  req.mutable_update_mask()->add_paths("username");
  s = admin().UpdateCredential(ctx().get(), req, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(violations(s), ElementsAre(HasSubstr("update_mask: \"username\" cannot be updated")));
  req.mutable_update_mask()->clear_paths();
  req.mutable_credential()->set_name("realms/acme.example/credentials/bob");
  s = admin().UpdateCredential(ctx().get(), req, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  req.mutable_credential()->set_name("realms/acme.example/credentials/alice");
  req.mutable_credential()->clear_password();
  s = admin().UpdateCredential(ctx().get(), req, &out);
  EXPECT_THAT(violations(s), ElementsAre(HasSubstr("credential.password: must not be empty")));
}

// Verifies DeleteCredential removes that user's bindings (and only theirs) and
// the credential stops authenticating.
TEST_F(AdminApi, DeleteCredentialRemovesTheUsersBindings) {
  ASSERT_TRUE(create_realm("acme.example").ok());
  ASSERT_TRUE(create_credential("acme.example", "alice", password("pw-a")).ok());
  ASSERT_TRUE(create_credential("acme.example", "bob", password("pw-b")).ok());
  put_binding(binding("alice@acme.example", "sip:alice@192.0.2.4:5062"));
  put_binding(binding("alice@acme.example", "sip:alice@192.0.2.9:5062"));
  put_binding(binding("sales@acme.example", "sip:sales@192.0.2.4:5062", "alice"));  // an alias
  put_binding(binding("bob@acme.example", "sip:bob@192.0.2.5:5062"));
  v1::DeleteCredentialRequest req;
  req.set_name("realms/acme.example/credentials/alice");
  google::protobuf::Empty empty;
  grpc::Status s = admin().DeleteCredential(ctx().get(), req, &empty);
  ASSERT_TRUE(s.ok()) << describe(s);
  EXPECT_TRUE(location->lookup("alice@acme.example").empty());
  EXPECT_TRUE(location->lookup("sales@acme.example").empty());
  EXPECT_EQ(location->lookup("bob@acme.example").size(), 1u);
  EXPECT_FALSE(credentials->find_credential("acme.example", "alice"));
  EXPECT_EQ(register_with_password("acme.example", "alice", "pw-a"), 401);
  s = admin().DeleteCredential(ctx().get(), req, &empty);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
}

// --- ACL entries -----------------------------------------------------------------

// Verifies ACL entries are created (canonical CIDR, '/' as '-' in the name),
// listed, refused when duplicate or malformed, and deleted.
TEST_F(AdminApi, AclEntriesLifecycle) {
  ASSERT_TRUE(create_realm("acme.example").ok());
  auto create = [&](const std::string& cidr, v1::AclEntry* out) {
    v1::CreateAclEntryRequest req;
    req.set_parent("realms/acme.example");
    req.mutable_acl_entry()->set_cidr(cidr);
    return admin().CreateAclEntry(ctx().get(), req, out);
  };
  v1::AclEntry e;
  ASSERT_TRUE(create("192.0.2.0/24", &e).ok());
  EXPECT_EQ(e.name(), "realms/acme.example/aclEntries/192.0.2.0-24");
  EXPECT_EQ(e.cidr(), "192.0.2.0/24");
  ASSERT_TRUE(create("2001:DB8::/32", &e).ok());
  EXPECT_EQ(e.name(), "realms/acme.example/aclEntries/2001:db8::-32");
  ASSERT_TRUE(create("198.51.100.7", &e).ok());
  EXPECT_EQ(e.cidr(), "198.51.100.7/32");

  grpc::Status s = create("192.0.2.0/24", &e);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  s = create("192.0.2.7/24", &e);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(violations(s),
              ElementsAre(HasSubstr("acl_entry.cidr: host bits set: did you mean 192.0.2.0/24?")));
  s = create("banana", &e);
  EXPECT_THAT(violations(s), ElementsAre(HasSubstr("is not an IPv4 or IPv6 address")));

  v1::ListAclEntriesRequest list;
  list.set_parent("realms/acme.example");
  v1::ListAclEntriesResponse resp;
  ASSERT_TRUE(admin().ListAclEntries(ctx(kReadToken).get(), list, &resp).ok());
  std::vector<std::string> cidrs;
  for (const auto& a : resp.acl_entries()) cidrs.push_back(a.cidr());
  EXPECT_THAT(cidrs, UnorderedElementsAre("192.0.2.0/24", "2001:db8::/32", "198.51.100.7/32"));
  EXPECT_EQ(credentials->find_realm("acme.example")->trusted_sources.size(), 3u);

  v1::DeleteAclEntryRequest del;
  del.set_name("realms/acme.example/aclEntries/2001:db8::-32");
  google::protobuf::Empty empty;
  ASSERT_TRUE(admin().DeleteAclEntry(ctx().get(), del, &empty).ok());
  EXPECT_EQ(credentials->find_realm("acme.example")->trusted_sources.size(), 2u);
  s = admin().DeleteAclEntry(ctx().get(), del, &empty);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  del.set_name("realms/acme.example/aclEntries/nodash");
  s = admin().DeleteAclEntry(ctx().get(), del, &empty);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

// Verifies a trusted source added over the API lets a device register without
// digest at once (TRUSTED_OR_DIGEST).
TEST_F(AdminApi, AclEntryAppliesAtOnce) {
  v1::Realm settings;
  settings.set_source_auth(v1::TRUSTED_OR_DIGEST);
  ASSERT_TRUE(create_realm("trunk.example", settings).ok());
  ASSERT_TRUE(create_credential("trunk.example", "pbx", password("pw")).ok());
  EXPECT_EQ(register_with_password("trunk.example", "pbx", "wrong"), 401);
  v1::CreateAclEntryRequest req;
  req.set_parent("realms/trunk.example");
  req.mutable_acl_entry()->set_cidr(
      "192.0.2.0/24");  // the fixture's REGISTERs come from 192.0.2.50
  v1::AclEntry e;
  ASSERT_TRUE(admin().CreateAclEntry(ctx().get(), req, &e).ok());
  // A trusted source is answered without a challenge.
  EXPECT_EQ(register_with_password("trunk.example", "pbx", "wrong"), 200);
}

}  // namespace
}  // namespace apitest
