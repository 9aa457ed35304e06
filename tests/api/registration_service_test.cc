// RegistrationService's unary RPCs against the real server: ListBindings by
// realm, by AOR and across realms with pagination over whole AORs;
// GetBinding; DeleteBinding (which deregisters and publishes UNREGISTERED).
#include "gateway/api/registration_service.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

#include "api_fixture.h"
#include "gateway/api/resource_names.h"

namespace apitest {
namespace {

using testing::ElementsAre;
using testing::HasSubstr;
using testing::UnorderedElementsAre;

class BindingsApi : public ApiTest {
 protected:
  void SetUp() override {
    ApiTest::SetUp();
    put_realm("acme.example");
    put_realm("other.example");
  }
  grpc::Status list(const std::string& parent, const std::string& aor,
                    v1::ListBindingsResponse* out, int page_size = 0,
                    const std::string& token = "") {
    v1::ListBindingsRequest req;
    req.set_parent(parent);
    req.set_aor(aor);
    req.set_page_size(page_size);
    req.set_page_token(token);
    return registrations().ListBindings(ctx(kReadToken).get(), req, out);
  }
  static std::vector<std::string> contacts(const v1::ListBindingsResponse& r) {
    std::vector<std::string> out;
    for (const auto& b : r.bindings()) out.push_back(b.contact());
    return out;
  }
};

// Verifies ListBindings filters by realm and returns each binding's fields.
TEST_F(BindingsApi, ListByRealm) {
  registrar::Binding a = binding("alice@acme.example", "sip:alice@192.0.2.4:5062");
  a.q = 500;
  a.path = "<sip:p1.example;lr>,<sip:p2.example;lr>";
  a.replica = "switchboard-1";
  put_binding(a);
  put_binding(binding("bob@other.example", "sip:bob@192.0.2.5:5062"));
  v1::ListBindingsResponse r;
  grpc::Status s = list("realms/acme.example", "", &r);
  ASSERT_TRUE(s.ok()) << describe(s);
  ASSERT_EQ(r.bindings_size(), 1);
  const v1::Binding& b = r.bindings(0);
  EXPECT_EQ(b.aor(), "sip:alice@acme.example");
  EXPECT_EQ(b.realm(), "realms/acme.example");
  EXPECT_EQ(b.username(), "alice");
  EXPECT_EQ(b.transport(), "udp");
  EXPECT_EQ(b.source_address(), "192.0.2.4:5062");
  EXPECT_EQ(b.local_address(), "udp:127.0.0.1:5060");
  EXPECT_EQ(b.replica(), "switchboard-1");
  EXPECT_THAT(b.path(), ElementsAre("<sip:p1.example;lr>", "<sip:p2.example;lr>"));
  ASSERT_TRUE(b.has_q());
  EXPECT_FLOAT_EQ(b.q(), 0.5f);
  EXPECT_EQ(b.expire_time().seconds(), std::chrono::system_clock::to_time_t(a.expires_at));
  EXPECT_EQ(b.name(), switchboard::api::binding_name(a));
  EXPECT_TRUE(r.next_page_token().empty());

  ASSERT_TRUE(list("realms/-", "", &r).ok());
  EXPECT_EQ(r.bindings_size(), 2);
}

// Verifies the aor filter accepts "sip:user@domain" and "user@domain".
TEST_F(BindingsApi, ListByAor) {
  put_binding(binding("alice@acme.example", "sip:alice@192.0.2.4:5062"));
  put_binding(binding("alice@acme.example", "sip:alice@192.0.2.9:5062"));
  put_binding(binding("bob@acme.example", "sip:bob@192.0.2.5:5062"));
  for (const char* aor :
       {"sip:alice@acme.example", "alice@ACME.example", "sips:alice@acme.example"}) {
    SCOPED_TRACE(aor);
    v1::ListBindingsResponse r;
    ASSERT_TRUE(list("realms/acme.example", aor, &r).ok());
    EXPECT_THAT(contacts(r),
                UnorderedElementsAre("sip:alice@192.0.2.4:5062", "sip:alice@192.0.2.9:5062"));
  }
  v1::ListBindingsResponse r;
  grpc::Status s = list("realms/other.example", "alice@acme.example", &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  s = list("realms/acme.example", "alice", &r);
  EXPECT_THAT(violations(s), ElementsAre(HasSubstr("aor: expected \"sip:user@domain\"")));
}

// Verifies pagination over 25 AORs with page_size 10: every binding once, AOR order.
TEST_F(BindingsApi, ListPaginates) {
  for (int i = 0; i < 25; ++i) {
    char user[16];
    std::snprintf(user, sizeof(user), "u%02d", i);
    put_binding(
        binding(std::string(user) + "@acme.example", "sip:" + std::string(user) + "@192.0.2.4"));
  }
  std::vector<std::string> aors;
  std::string token;
  int pages = 0;
  do {
    v1::ListBindingsResponse r;
    grpc::Status s = list("realms/acme.example", "", &r, 10, token);
    ASSERT_TRUE(s.ok()) << describe(s);
    for (const auto& b : r.bindings()) aors.push_back(b.aor());
    token = r.next_page_token();
    ASSERT_LT(++pages, 10);
  } while (!token.empty());
  EXPECT_GE(pages, 3);
  ASSERT_EQ(aors.size(), 25u);
  EXPECT_TRUE(std::is_sorted(aors.begin(), aors.end()));
  EXPECT_EQ(std::set<std::string>(aors.begin(), aors.end()).size(), 25u);
}

// Verifies ListBindings errors: missing or malformed parent, unknown realm, bad token.
TEST_F(BindingsApi, ListErrors) {
  v1::ListBindingsResponse r;
  EXPECT_EQ(list("", "", &r).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(list("acme.example", "", &r).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  grpc::Status s = list("realms/nope.example", "", &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(s.error_message(), "realm \"nope.example\" not found");
  EXPECT_EQ(list("realms/-", "", &r, 0, "garbage").error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(list("realms/-", "", &r, -5).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

// Verifies GetBinding finds a binding by its name, also for a user part that needs escaping.
TEST_F(BindingsApi, GetBinding) {
  registrar::Binding b = binding("+1 555/0100@acme.example", "sip:x@192.0.2.4:5062", "pbx");
  put_binding(b);
  const std::string name = switchboard::api::binding_name(b);
  EXPECT_THAT(name, testing::StartsWith("realms/acme.example/aors/+1%20555%2F0100/bindings/"));
  v1::GetBindingRequest req;
  req.set_name(name);
  v1::Binding got;
  grpc::Status s = registrations().GetBinding(ctx(kReadToken).get(), req, &got);
  ASSERT_TRUE(s.ok()) << describe(s);
  EXPECT_EQ(got.contact(), "sip:x@192.0.2.4:5062");
  EXPECT_EQ(got.name(), name);

  req.set_name("realms/acme.example/aors/alice/bindings/0123456789abcdef");
  s = registrations().GetBinding(ctx(kReadToken).get(), req, &got);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  ASSERT_TRUE(resource_info(s));
  EXPECT_EQ(resource_info(s)->resource_type(), "switchboard.v1.Binding");
  req.set_name("realms/acme.example/aors/alice/bindings/xyz");
  s = registrations().GetBinding(ctx(kReadToken).get(), req, &got);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

// Verifies DeleteBinding deregisters the contact and an UNREGISTERED event
// with reason "api" follows.
TEST_F(BindingsApi, DeleteBindingDeregisters) {
  registrar::Binding b = binding("alice@acme.example", "sip:alice@192.0.2.4:5062");
  put_binding(b);
  put_binding(binding("alice@acme.example", "sip:alice@192.0.2.9:5062"));
  v1::WatchRegistrationsRequest wreq;
  auto wctx = ctx(kReadToken);
  auto watch = registrations().WatchRegistrations(wctx.get(), wreq);
  watch->WaitForInitialMetadata();

  v1::DeleteBindingRequest req;
  req.set_name(switchboard::api::binding_name(b));
  google::protobuf::Empty empty;
  grpc::Status s = registrations().DeleteBinding(ctx().get(), req, &empty);
  ASSERT_TRUE(s.ok()) << describe(s);
  std::vector<registrar::Binding> left = location->lookup("alice@acme.example");
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].contact, "sip:alice@192.0.2.9:5062");
  v1::RegistrationEvent e;
  ASSERT_TRUE(watch->Read(&e));
  EXPECT_EQ(e.type(), v1::RegistrationEvent::UNREGISTERED);
  EXPECT_EQ(e.binding().contact(), b.contact);
  EXPECT_EQ(e.reason(), "api");
  wctx->TryCancel();

  s = registrations().DeleteBinding(ctx().get(), req, &empty);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
}

// Verifies the AOR filter parser's accepted and refused forms.
TEST(AorFilter, Forms) {
  using switchboard::api::parse_aor_filter;
  EXPECT_EQ(parse_aor_filter("sip:alice@Acme.Example"), "alice@acme.example");
  EXPECT_EQ(parse_aor_filter("SIP:alice@acme.example;transport=tcp"), "alice@acme.example");
  EXPECT_EQ(parse_aor_filter("alice@acme.example:5060"), "alice@acme.example");
  EXPECT_EQ(parse_aor_filter("sip:%2B1555@acme.example"), "+1555@acme.example");
  EXPECT_FALSE(parse_aor_filter("acme.example"));
  EXPECT_FALSE(parse_aor_filter("@acme.example"));
  EXPECT_FALSE(parse_aor_filter("alice@"));
  EXPECT_FALSE(parse_aor_filter("sip:al%zzice@acme.example"));
}

}  // namespace
}  // namespace apitest
