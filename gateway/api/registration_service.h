// gateway/api/registration_service.h — switchboard.v1.RegistrationService:
// who is registered (the LocationService) and the resumable event stream
// (the EventHub, through WatchReactor).
//
//   RegistrationService registrations(credentials, location, watch_deps, auth, logger);
//   builder.RegisterService(&registrations);
//
// ListBindings pages whole AORs in AOR order (LocationService::list), so a
// page may hold a few more bindings than page_size. DeleteBinding removes the
// contact at once; its UNREGISTERED event (reason "api") follows the
// store's commit.
//
// Threading: handlers run on gRPC callback threads, several at once.
#ifndef SWITCHBOARD_GATEWAY_API_REGISTRATION_SERVICE_H_
#define SWITCHBOARD_GATEWAY_API_REGISTRATION_SERVICE_H_

#include <optional>
#include <string>

#include "gateway/api/token_auth.h"
#include "gateway/api/watch_reactor.h"
#include "gateway/json_log.h"
#include "registrar/location_service.h"
#include "registrar/store/credential_store.h"
#include "switchboard/v1/registration.grpc.pb.h"

namespace switchboard::api {

// WatchRegistrations is a raw callback method (grpc::ByteBuffer in and out,
// the same messages on the wire): its streams write events serialized once
// for all of them (watch_reactor.h).
using RegistrationServiceGenerated = ::switchboard::v1::RegistrationService;
using RegistrationServiceBase = RegistrationServiceGenerated::WithCallbackMethod_ListBindings<
    RegistrationServiceGenerated::WithCallbackMethod_GetBinding<
        RegistrationServiceGenerated::WithCallbackMethod_DeleteBinding<
            RegistrationServiceGenerated::WithRawCallbackMethod_WatchRegistrations<
                RegistrationServiceGenerated::Service>>>>;

class RegistrationService final : public RegistrationServiceBase {
 public:
  // Every dependency (those in `watch` included) must outlive the service.
  RegistrationService(registrar::CredentialStore& credentials, registrar::LocationService& location,
                      WatchDeps watch, const TokenAuthenticator& auth, Logger& logger);

  using Ctx = grpc::CallbackServerContext;

  grpc::ServerUnaryReactor* ListBindings(Ctx*, const ::switchboard::v1::ListBindingsRequest*,
                                         ::switchboard::v1::ListBindingsResponse*) override;
  grpc::ServerUnaryReactor* GetBinding(Ctx*, const ::switchboard::v1::GetBindingRequest*,
                                       ::switchboard::v1::Binding*) override;
  grpc::ServerUnaryReactor* DeleteBinding(Ctx*, const ::switchboard::v1::DeleteBindingRequest*,
                                          google::protobuf::Empty*) override;
  grpc::ServerWriteReactor<grpc::ByteBuffer>* WatchRegistrations(
      Ctx*, const grpc::ByteBuffer* request) override;

 private:
  grpc::Status list_bindings(const ::switchboard::v1::ListBindingsRequest&,
                             ::switchboard::v1::ListBindingsResponse&);
  // The binding `name` designates, or NOT_FOUND / INVALID_ARGUMENT.
  grpc::Status find_binding(std::string_view name, registrar::Binding& out);

  registrar::CredentialStore& credentials_;
  registrar::LocationService& location_;
  WatchDeps watch_;
  const TokenAuthenticator& auth_;
  Logger& logger_;
};

// "sip:alice@acme.example", "sips:…", "alice@acme.example" → the registrar's
// AOR key "alice@acme.example" (user unescaped, domain lower-case); nullopt
// when it is not of that form.
std::optional<std::string> parse_aor_filter(std::string_view text);

}  // namespace switchboard::api

#endif  // SWITCHBOARD_GATEWAY_API_REGISTRATION_SERVICE_H_
