// Token roles enforced on every RPC of both services: no token or an unknown
// one → UNAUTHENTICATED (saying how to pass one), a read or calls token on a
// write → PERMISSION_DENIED (naming the role needed), admin → allowed.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>

#include "api_fixture.h"

namespace apitest {
namespace {

using testing::HasSubstr;

struct Rpc {
  std::string name;
  bool write;  // needs admin
  std::function<grpc::Status(grpc::ClientContext*, v1::AdminService::Stub&,
                             v1::RegistrationService::Stub&)>
      call;
};

std::vector<Rpc> every_rpc() {
  using A = v1::AdminService::Stub;
  using R = v1::RegistrationService::Stub;
  google::protobuf::Empty empty;
  std::vector<Rpc> rpcs;
  auto add = [&](std::string name, bool write, auto fn) {
    rpcs.push_back({std::move(name), write, fn});
  };
  add("CreateRealm", true, [](grpc::ClientContext* c, A& a, R&) {
    v1::CreateRealmRequest r;
    r.set_realm_id("new.example");
    v1::Realm out;
    return a.CreateRealm(c, r, &out);
  });
  add("GetRealm", false, [](grpc::ClientContext* c, A& a, R&) {
    v1::GetRealmRequest r;
    r.set_name("realms/acme.example");
    v1::Realm out;
    return a.GetRealm(c, r, &out);
  });
  add("ListRealms", false, [](grpc::ClientContext* c, A& a, R&) {
    v1::ListRealmsResponse out;
    return a.ListRealms(c, {}, &out);
  });
  add("UpdateRealm", true, [](grpc::ClientContext* c, A& a, R&) {
    v1::UpdateRealmRequest r;
    r.mutable_realm()->set_name("realms/acme.example");
    v1::Realm out;
    return a.UpdateRealm(c, r, &out);
  });
  add("DeleteRealm", true, [](grpc::ClientContext* c, A& a, R&) {
    v1::DeleteRealmRequest r;
    r.set_name("realms/gone.example");
    google::protobuf::Empty out;
    return a.DeleteRealm(c, r, &out);
  });
  add("CreateCredential", true, [](grpc::ClientContext* c, A& a, R&) {
    v1::CreateCredentialRequest r;
    r.set_parent("realms/acme.example");
    r.set_credential_id("carol");
    r.mutable_credential()->set_password("pw");
    v1::Credential out;
    return a.CreateCredential(c, r, &out);
  });
  add("GetCredential", false, [](grpc::ClientContext* c, A& a, R&) {
    v1::GetCredentialRequest r;
    r.set_name("realms/acme.example/credentials/alice");
    v1::Credential out;
    return a.GetCredential(c, r, &out);
  });
  add("ListCredentials", false, [](grpc::ClientContext* c, A& a, R&) {
    v1::ListCredentialsRequest r;
    r.set_parent("realms/acme.example");
    v1::ListCredentialsResponse out;
    return a.ListCredentials(c, r, &out);
  });
  add("UpdateCredential", true, [](grpc::ClientContext* c, A& a, R&) {
    v1::UpdateCredentialRequest r;
    r.mutable_credential()->set_name("realms/acme.example/credentials/alice");
    r.mutable_credential()->set_password("pw2");
    v1::Credential out;
    return a.UpdateCredential(c, r, &out);
  });
  add("DeleteCredential", true, [](grpc::ClientContext* c, A& a, R&) {
    v1::DeleteCredentialRequest r;
    r.set_name("realms/acme.example/credentials/nobody");
    google::protobuf::Empty out;
    return a.DeleteCredential(c, r, &out);
  });
  add("CreateAclEntry", true, [](grpc::ClientContext* c, A& a, R&) {
    v1::CreateAclEntryRequest r;
    r.set_parent("realms/acme.example");
    r.mutable_acl_entry()->set_cidr("10.0.0.0/8");
    v1::AclEntry out;
    return a.CreateAclEntry(c, r, &out);
  });
  add("ListAclEntries", false, [](grpc::ClientContext* c, A& a, R&) {
    v1::ListAclEntriesRequest r;
    r.set_parent("realms/acme.example");
    v1::ListAclEntriesResponse out;
    return a.ListAclEntries(c, r, &out);
  });
  add("DeleteAclEntry", true, [](grpc::ClientContext* c, A& a, R&) {
    v1::DeleteAclEntryRequest r;
    r.set_name("realms/acme.example/aclEntries/172.16.0.0-12");
    google::protobuf::Empty out;
    return a.DeleteAclEntry(c, r, &out);
  });
  add("ListBindings", false, [](grpc::ClientContext* c, A&, R& r) {
    v1::ListBindingsRequest req;
    req.set_parent("realms/-");
    v1::ListBindingsResponse out;
    return r.ListBindings(c, req, &out);
  });
  add("GetBinding", false, [](grpc::ClientContext* c, A&, R& r) {
    v1::GetBindingRequest req;
    req.set_name("realms/acme.example/aors/alice/bindings/0123456789abcdef");
    v1::Binding out;
    return r.GetBinding(c, req, &out);
  });
  add("DeleteBinding", true, [](grpc::ClientContext* c, A&, R& r) {
    v1::DeleteBindingRequest req;
    req.set_name("realms/acme.example/aors/alice/bindings/0123456789abcdef");
    google::protobuf::Empty out;
    return r.DeleteBinding(c, req, &out);
  });
  add("WatchRegistrations", false, [](grpc::ClientContext* c, A&, R& r) {
    v1::WatchRegistrationsRequest req;
    req.set_since_sequence(0);
    auto reader = r.WatchRegistrations(c, req);
    v1::RegistrationEvent e;
    // The fixture stored one event: an allowed watcher gets it at once.
    if (!reader->Read(&e)) return reader->Finish();
    c->TryCancel();
    reader->Finish();
    return grpc::Status::OK;
  });
  return rpcs;
}

class AuthApi : public ApiTest {
 protected:
  void SetUp() override {
    ApiTest::SetUp();
    put_realm("acme.example");
    ASSERT_TRUE(
        credentials
            ->put_credential(registrar::Credential::from_password("acme.example", "alice", "pw"))
            .ok);
    put_binding(binding("alice@acme.example", "sip:alice@192.0.2.4:5062"));
  }
  grpc::Status call(const Rpc& rpc, const std::string& token, std::string header_override = "") {
    auto c = ctx(token);
    if (!header_override.empty()) {
      c = std::make_unique<grpc::ClientContext>();
      c->AddMetadata("authorization", header_override);
    }
    return rpc.call(c.get(), admin(), registrations());
  }
  static bool auth_error(const grpc::Status& s) {
    return s.error_code() == grpc::StatusCode::UNAUTHENTICATED ||
           s.error_code() == grpc::StatusCode::PERMISSION_DENIED;
  }
};

// Verifies every RPC refuses a call without a token, saying how to pass one.
TEST_F(AuthApi, NoTokenIsUnauthenticated) {
  for (const Rpc& rpc : every_rpc()) {
    SCOPED_TRACE(rpc.name);
    grpc::Status s = call(rpc, kNoToken);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << describe(s);
    EXPECT_THAT(s.error_message(), HasSubstr("authorization: Bearer <token>"));
    ASSERT_TRUE(error_info(s));
    EXPECT_EQ(error_info(s)->reason(), "TOKEN_MISSING");
  }
  EXPECT_GE(server->auth_stats().unauthenticated, every_rpc().size());
}

// Verifies an unknown or malformed token is UNAUTHENTICATED on every RPC.
TEST_F(AuthApi, UnknownTokenIsUnauthenticated) {
  for (const Rpc& rpc : every_rpc()) {
    SCOPED_TRACE(rpc.name);
    grpc::Status s = call(rpc, "sbt_not-a-configured-token");
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << describe(s);
    EXPECT_THAT(s.error_message(), HasSubstr("unknown API token"));
    s = call(rpc, "", std::string("Basic ") + kAdminToken);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << describe(s);
  }
}

// Verifies a read token may call every Get/List/Watch and no write (PERMISSION_DENIED naming
// admin).
TEST_F(AuthApi, ReadTokenReadsButCannotWrite) {
  for (const Rpc& rpc : every_rpc()) {
    SCOPED_TRACE(rpc.name);
    grpc::Status s = call(rpc, kReadToken);
    if (rpc.write) {
      EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << describe(s);
      EXPECT_THAT(s.error_message(), HasSubstr("needs a token with role admin"));
      EXPECT_THAT(s.error_message(), HasSubstr("token \"viewer\" has role read"));
      ASSERT_TRUE(error_info(s));
      EXPECT_EQ(error_info(s)->metadata().at("needed_role"), "admin");
    } else {
      EXPECT_FALSE(auth_error(s)) << describe(s);
    }
  }
  EXPECT_FALSE(credentials->find_realm("new.example"));  // nothing was written
}

// Verifies a calls token has read access and no admin access.
TEST_F(AuthApi, CallsTokenIsReadPlusCalls) {
  for (const Rpc& rpc : every_rpc()) {
    SCOPED_TRACE(rpc.name);
    grpc::Status s = call(rpc, kCallsToken);
    if (rpc.write) {
      EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << describe(s);
    } else {
      EXPECT_FALSE(auth_error(s)) << describe(s);
    }
  }
}

// Verifies an admin token may call every RPC.
TEST_F(AuthApi, AdminTokenMayDoEverything) {
  for (const Rpc& rpc : every_rpc()) {
    SCOPED_TRACE(rpc.name);
    grpc::Status s = call(rpc, kAdminToken);
    EXPECT_FALSE(auth_error(s)) << describe(s);
  }
  EXPECT_TRUE(credentials->find_realm("new.example"));
  EXPECT_TRUE(credentials->find_credential("acme.example", "carol"));
}

}  // namespace
}  // namespace apitest
