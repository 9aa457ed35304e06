// The server around the services: grpc.health.v1 (SERVING while up, per
// service too), server reflection listing our services (what generic tools
// such as `buf curl` use), a taken port is an error, and TLS / mutual TLS
// from certificate files. Debian ships no generated health or reflection
// stubs, so both are called through grpc::GenericStub with hand-encoded
// messages (a few bytes of protobuf wire format).
#include <gmock/gmock.h>
#include <google/protobuf/unknown_field_set.h>
#include <grpcpp/generic/generic_stub.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <future>

#include "api_fixture.h"

namespace apitest {
namespace {

using namespace std::chrono_literals;
using testing::Contains;
using testing::HasSubstr;

grpc::ByteBuffer to_buffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

std::string to_string(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string out;
  if (!buffer.Dump(&slices).ok()) return out;
  for (const grpc::Slice& s : slices)
    out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return out;
}

// A length-delimited field (wire type 2) with a one-byte length.
std::string string_field(int number, const std::string& value) {
  std::string out;
  out += char(number << 3 | 2);
  out += char(value.size());
  out += value;
  return out;
}

// grpc.health.v1.Health/Check: the status (1 SERVING, 2 NOT_SERVING) or the RPC's error.
struct HealthAnswer {
  grpc::Status status;
  int serving = 0;
};
HealthAnswer health_check(const std::shared_ptr<grpc::Channel>& channel,
                          const std::string& service) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + 5s);
  grpc::ByteBuffer request = to_buffer(service.empty() ? "" : string_field(1, service));
  grpc::ByteBuffer response;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request, &response,
                 [&](grpc::Status s) { done.set_value(std::move(s)); });
  HealthAnswer a;
  a.status = done.get_future().get();
  if (!a.status.ok()) return a;
  google::protobuf::UnknownFieldSet fields;
  if (fields.ParseFromString(to_string(response)))
    for (int i = 0; i < fields.field_count(); ++i)
      if (fields.field(i).number() == 1) a.serving = int(fields.field(i).varint());
  return a;
}

// grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo with
// list_services: the service names.
std::vector<std::string> reflected_services(const std::shared_ptr<grpc::Channel>& channel) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + 5s);
  grpc::CompletionQueue cq;
  auto call = stub.PrepareCall(
      &context, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
  auto wait = [&cq](intptr_t want) {
    void* tag;
    bool ok = false;
    if (!cq.Next(&tag, &ok)) return false;
    return ok && reinterpret_cast<intptr_t>(tag) == want;
  };
  std::vector<std::string> names;
  call->StartCall(reinterpret_cast<void*>(1));
  if (!wait(1)) return names;
  grpc::ByteBuffer request = to_buffer(string_field(7, ""));  // list_services = ""
  call->Write(request, reinterpret_cast<void*>(2));
  if (!wait(2)) return names;
  grpc::ByteBuffer response;
  call->Read(&response, reinterpret_cast<void*>(3));
  if (!wait(3)) return names;
  call->WritesDone(reinterpret_cast<void*>(4));
  wait(4);
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(5));
  wait(5);
  cq.Shutdown();
  void* tag;
  bool ok;
  while (cq.Next(&tag, &ok)) {
  }
  google::protobuf::UnknownFieldSet top;
  if (!top.ParseFromString(to_string(response))) return names;
  for (int i = 0; i < top.field_count(); ++i) {
    if (top.field(i).number() != 6) continue;  // list_services_response
    google::protobuf::UnknownFieldSet list;
    list.ParseFromString(top.field(i).length_delimited());
    for (int j = 0; j < list.field_count(); ++j) {
      google::protobuf::UnknownFieldSet service;
      service.ParseFromString(list.field(j).length_delimited());
      for (int k = 0; k < service.field_count(); ++k)
        if (service.field(k).number() == 1) names.push_back(service.field(k).length_delimited());
    }
  }
  return names;
}

class ServerApi : public ApiTest {};

// Verifies grpc.health.v1 answers SERVING for the server and each service,
// NOT_FOUND for an unknown one, and NOT_SERVING-or-gone after shutdown.
TEST_F(ServerApi, HealthCheckServing) {
  for (const char* service :
       {"", "switchboard.v1.AdminService", "switchboard.v1.RegistrationService"}) {
    SCOPED_TRACE(service);
    HealthAnswer a = health_check(channel, service);
    ASSERT_TRUE(a.status.ok()) << describe(a.status);
    EXPECT_EQ(a.serving, 1);
  }
  EXPECT_EQ(health_check(channel, "no.such.Service").status.error_code(),
            grpc::StatusCode::NOT_FOUND);
  server->shutdown();
  HealthAnswer after = health_check(channel, "");
  EXPECT_TRUE(!after.status.ok() || after.serving == 2) << describe(after.status);
}

// Verifies server reflection lists both services (what generic gRPC tools rely on).
TEST_F(ServerApi, ReflectionListsServices) {
  std::vector<std::string> services = reflected_services(channel);
  EXPECT_THAT(services, Contains("switchboard.v1.AdminService"));
  EXPECT_THAT(services, Contains("switchboard.v1.RegistrationService"));
  EXPECT_THAT(services, Contains("grpc.health.v1.Health"));
}

// Verifies a second server on a taken port fails with a clear error (no silent SO_REUSEPORT).
TEST_F(ServerApi, TakenPortIsAnError) {
  switchboard::api::ApiServerOptions o;
  o.listen = server->address();
  std::string error;
  auto second = switchboard::api::ApiServer::start({.credentials = *credentials,
                                                    .location = *location,
                                                    .hub = *hub,
                                                    .tokens = {},
                                                    .logger = logger},
                                                   o, &error);
  EXPECT_FALSE(second);
  EXPECT_THAT(error, HasSubstr("cannot listen on " + server->address()));
}

// Verifies a missing TLS file stops the start with the file named.
TEST_F(ServerApi, MissingTlsFileIsAnError) {
  switchboard::api::ApiServerOptions o;
  o.listen = "127.0.0.1:0";
  o.tls = switchboard::api::TlsFiles{dir.file("nope.pem"), dir.file("nope.key"), ""};
  std::string error;
  auto tls = switchboard::api::ApiServer::start({.credentials = *credentials,
                                                 .location = *location,
                                                 .hub = *hub,
                                                 .tokens = {},
                                                 .logger = logger},
                                                o, &error);
  EXPECT_FALSE(tls);
  EXPECT_THAT(error, HasSubstr("nope.pem"));
}

class TlsApi : public ApiTest {
 protected:
  void SetUp() override {
    ApiTest::SetUp();
    // A self-signed certificate for 127.0.0.1 that is also its own CA, so
    // the same pair serves the server and, for mutual TLS, the client.
    const std::string cmd =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 "
        "-subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout '" +
        dir.file("key.pem") + "' -out '" + dir.file("cert.pem") + "' >/dev/null 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0)
        << "openssl failed (Debian package openssl, pulled in by ca-certificates)";
    cert = *switchboard::api::read_file(dir.file("cert.pem"), nullptr);
    key = *switchboard::api::read_file(dir.file("key.pem"), nullptr);
  }
  std::unique_ptr<switchboard::api::ApiServer> start_tls(bool mutual) {
    switchboard::api::ApiServerOptions o;
    o.listen = "127.0.0.1:0";
    o.tls = switchboard::api::TlsFiles{dir.file("cert.pem"), dir.file("key.pem"),
                                       mutual ? dir.file("cert.pem") : ""};
    std::string error;
    auto s = switchboard::api::ApiServer::start(
        {.credentials = *credentials,
         .location = *location,
         .hub = *hub,
         .tokens = {{"ops", switchboard::api::Role::kAdmin, switchboard::api::sha256(kAdminToken)}},
         .logger = logger},
        o, &error);
    EXPECT_TRUE(s) << error;
    return s;
  }
  grpc::Status list_realms(const std::string& address, const grpc::SslCredentialsOptions& ssl) {
    auto ch = grpc::CreateChannel(address, grpc::SslCredentials(ssl));
    auto stub = v1::AdminService::NewStub(ch);
    v1::ListRealmsResponse out;
    auto c = ctx(kAdminToken);
    c->set_deadline(std::chrono::system_clock::now() + 5s);
    return stub->ListRealms(c.get(), {}, &out);
  }
  std::string cert, key;
};

// Verifies TLS from certificate files: a client trusting the certificate gets
// through; a plaintext client does not.
TEST_F(TlsApi, TlsServesTrustingClients) {
  auto tls = start_tls(false);
  ASSERT_TRUE(tls);
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = cert;
  grpc::Status s = list_realms(tls->address(), ssl);
  EXPECT_TRUE(s.ok()) << describe(s);
  auto plain = v1::AdminService::NewStub(
      grpc::CreateChannel(tls->address(), grpc::InsecureChannelCredentials()));
  v1::ListRealmsResponse out;
  auto c = ctx(kAdminToken);
  c->set_deadline(std::chrono::system_clock::now() + 2s);
  EXPECT_FALSE(plain->ListRealms(c.get(), {}, &out).ok());
}

// Verifies mutual TLS: without a client certificate the handshake fails; with
// one signed by the client CA the call succeeds.
TEST_F(TlsApi, MutualTlsRequiresClientCertificate) {
  auto tls = start_tls(true);
  ASSERT_TRUE(tls);
  grpc::SslCredentialsOptions no_cert;
  no_cert.pem_root_certs = cert;
  EXPECT_EQ(list_realms(tls->address(), no_cert).error_code(), grpc::StatusCode::UNAVAILABLE);
  grpc::SslCredentialsOptions with_cert = no_cert;
  with_cert.pem_cert_chain = cert;
  with_cert.pem_private_key = key;
  grpc::Status s = list_realms(tls->address(), with_cert);
  EXPECT_TRUE(s.ok()) << describe(s);
}

}  // namespace
}  // namespace apitest
