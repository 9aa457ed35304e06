// gateway/api/admin_service.h — switchboard.v1.AdminService over the
// registrar's CredentialStore: realms, credentials and IP ACL entries.
//
// Every change is durable when the RPC returns (the store writes through to
// SQLite) and is seen by the very next REGISTER: the registrar reads realms
// and credentials from the same store on every request (no cache to
// invalidate). Deleting a realm or a credential also deregisters the
// bindings it authenticated (UNREGISTERED events, reason "realm deleted" /
// "credential deleted"). Secrets are input only: a password is turned into
// HA1 hashes at once and never stored, logged or returned.
//
//   AdminService admin(credentials, location, auth, logger);
//   builder.RegisterService(&admin);
//
// Writes are serialised by one mutex (they are rare), so create-if-absent and
// read-modify-write (UpdateRealm, ACL entries) are atomic among API callers.
//
// Threading: handlers run on gRPC callback threads, several at once.
#ifndef SWITCHBOARD_GATEWAY_API_ADMIN_SERVICE_H_
#define SWITCHBOARD_GATEWAY_API_ADMIN_SERVICE_H_

#include <mutex>

#include "gateway/api/token_auth.h"
#include "gateway/json_log.h"
#include "registrar/location_service.h"
#include "registrar/store/credential_store.h"
#include "switchboard/v1/admin.grpc.pb.h"

namespace switchboard::api {

class AdminService final : public ::switchboard::v1::AdminService::CallbackService {
 public:
  // Every dependency must outlive the service.
  AdminService(registrar::CredentialStore& credentials, registrar::LocationService& location,
               const TokenAuthenticator& auth, Logger& logger);

  using Ctx = grpc::CallbackServerContext;
  using Reactor = grpc::ServerUnaryReactor;

  Reactor* CreateRealm(Ctx*, const ::switchboard::v1::CreateRealmRequest*,
                       ::switchboard::v1::Realm*) override;
  Reactor* GetRealm(Ctx*, const ::switchboard::v1::GetRealmRequest*,
                    ::switchboard::v1::Realm*) override;
  Reactor* ListRealms(Ctx*, const ::switchboard::v1::ListRealmsRequest*,
                      ::switchboard::v1::ListRealmsResponse*) override;
  Reactor* UpdateRealm(Ctx*, const ::switchboard::v1::UpdateRealmRequest*,
                       ::switchboard::v1::Realm*) override;
  Reactor* DeleteRealm(Ctx*, const ::switchboard::v1::DeleteRealmRequest*,
                       google::protobuf::Empty*) override;

  Reactor* CreateCredential(Ctx*, const ::switchboard::v1::CreateCredentialRequest*,
                            ::switchboard::v1::Credential*) override;
  Reactor* GetCredential(Ctx*, const ::switchboard::v1::GetCredentialRequest*,
                         ::switchboard::v1::Credential*) override;
  Reactor* ListCredentials(Ctx*, const ::switchboard::v1::ListCredentialsRequest*,
                           ::switchboard::v1::ListCredentialsResponse*) override;
  Reactor* UpdateCredential(Ctx*, const ::switchboard::v1::UpdateCredentialRequest*,
                            ::switchboard::v1::Credential*) override;
  Reactor* DeleteCredential(Ctx*, const ::switchboard::v1::DeleteCredentialRequest*,
                            google::protobuf::Empty*) override;

  Reactor* CreateAclEntry(Ctx*, const ::switchboard::v1::CreateAclEntryRequest*,
                          ::switchboard::v1::AclEntry*) override;
  Reactor* ListAclEntries(Ctx*, const ::switchboard::v1::ListAclEntriesRequest*,
                          ::switchboard::v1::ListAclEntriesResponse*) override;
  Reactor* DeleteAclEntry(Ctx*, const ::switchboard::v1::DeleteAclEntryRequest*,
                          google::protobuf::Empty*) override;

 private:
  grpc::Status create_realm(const Caller&, const ::switchboard::v1::CreateRealmRequest&,
                            ::switchboard::v1::Realm&);
  grpc::Status get_realm(const ::switchboard::v1::GetRealmRequest&, ::switchboard::v1::Realm&);
  grpc::Status list_realms(const ::switchboard::v1::ListRealmsRequest&,
                           ::switchboard::v1::ListRealmsResponse&);
  grpc::Status update_realm(const Caller&, const ::switchboard::v1::UpdateRealmRequest&,
                            ::switchboard::v1::Realm&);
  grpc::Status delete_realm(const Caller&, const ::switchboard::v1::DeleteRealmRequest&);
  grpc::Status create_credential(const Caller&, const ::switchboard::v1::CreateCredentialRequest&,
                                 ::switchboard::v1::Credential&);
  grpc::Status get_credential(const ::switchboard::v1::GetCredentialRequest&,
                              ::switchboard::v1::Credential&);
  grpc::Status list_credentials(const ::switchboard::v1::ListCredentialsRequest&,
                                ::switchboard::v1::ListCredentialsResponse&);
  grpc::Status update_credential(const Caller&, const ::switchboard::v1::UpdateCredentialRequest&,
                                 ::switchboard::v1::Credential&);
  grpc::Status delete_credential(const Caller&, const ::switchboard::v1::DeleteCredentialRequest&);
  grpc::Status create_acl_entry(const Caller&, const ::switchboard::v1::CreateAclEntryRequest&,
                                ::switchboard::v1::AclEntry&);
  grpc::Status list_acl_entries(const ::switchboard::v1::ListAclEntriesRequest&,
                                ::switchboard::v1::ListAclEntriesResponse&);
  grpc::Status delete_acl_entry(const Caller&, const ::switchboard::v1::DeleteAclEntryRequest&);

  // The realm named by `name` ("realms/{realm}") in `field`, or the status to
  // return (INVALID_ARGUMENT / NOT_FOUND).
  grpc::Status find_realm(std::string_view field, std::string_view name, registrar::Realm& out);
  ::switchboard::v1::Realm realm_to_proto(const registrar::Realm& realm) const;

  registrar::CredentialStore& credentials_;
  registrar::LocationService& location_;
  const TokenAuthenticator& auth_;
  Logger& logger_;
  std::mutex write_mu_;  // serialises every write
};

}  // namespace switchboard::api

#endif  // SWITCHBOARD_GATEWAY_API_ADMIN_SERVICE_H_
