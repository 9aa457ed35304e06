// gateway/api/admin_service.cc — see admin_service.h.
#include "gateway/api/admin_service.h"

#include <algorithm>
#include <cctype>
#include <utility>

#include "gateway/api/cidr.h"
#include "gateway/api/convert.h"
#include "gateway/api/pagination.h"
#include "gateway/api/resource_names.h"
#include "gateway/api/status.h"
#include "gateway/api/unary.h"
#include "gateway/api/validation.h"

namespace switchboard::api {
namespace {

namespace v1 = ::switchboard::v1;

constexpr std::string_view kRealmType = "switchboard.v1.Realm";
constexpr std::string_view kCredentialType = "switchboard.v1.Credential";
constexpr std::string_view kAclEntryType = "switchboard.v1.AclEntry";

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = char(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

grpc::Status realm_not_found(std::string_view realm) {
  return not_found(kRealmType, realm_name(realm), "realm " + quoted(realm) + " not found");
}

grpc::Status credential_not_found(std::string_view realm, std::string_view username) {
  return not_found(kCredentialType, credential_name(realm, username),
                   "credential " + quoted(username) + " not found in realm " + quoted(realm));
}

grpc::Status store_failed(const registrar::CredentialStore& store, std::string_view what,
                          std::string_view error) {
  // A networked store that cannot be reached (Redis away) is a transient
  // condition the client retries; anything else is our failure.
  if (!store.available()) {
    return error_info(grpc::StatusCode::UNAVAILABLE,
                      std::string(what) + " failed: the store cannot be reached (" +
                          std::string(error) + "); retry later",
                      "STORE_UNAVAILABLE");
  }
  return error_info(grpc::StatusCode::INTERNAL,
                    std::string(what) + " failed in the store: " + std::string(error),
                    "STORE_WRITE_FAILED");
}

// A delete that found nothing while the store cannot be reached may have
// failed: say so rather than NOT_FOUND.
grpc::Status unavailable_or(const registrar::CredentialStore& store, grpc::Status not_found) {
  if (store.available()) return not_found;
  return error_info(grpc::StatusCode::UNAVAILABLE,
                    "the store cannot be reached; retry later", "STORE_UNAVAILABLE");
}

// The canonical text of a stored trusted source, for comparisons (stored
// entries from the YAML may be spelled differently).
std::string canonical_or_raw(std::string_view cidr) {
  CidrOrError c = canonical_cidr(cidr);
  return c.ok() ? c.cidr : std::string(cidr);
}

}  // namespace

AdminService::AdminService(registrar::CredentialStore& credentials,
                           registrar::LocationService& location, const TokenAuthenticator& auth,
                           Logger& logger)
    : credentials_(credentials), location_(location), auth_(auth), logger_(logger) {}

// --- handlers: authorize, then the work ---------------------------------------

AdminService::Reactor* AdminService::CreateRealm(Ctx* ctx, const v1::CreateRealmRequest* req,
                                                 v1::Realm* resp) {
  return run_unary(ctx, auth_, Role::kAdmin, "AdminService/CreateRealm",
                   [&](const Caller& c) { return create_realm(c, *req, *resp); });
}
AdminService::Reactor* AdminService::GetRealm(Ctx* ctx, const v1::GetRealmRequest* req,
                                              v1::Realm* resp) {
  return run_unary(ctx, auth_, Role::kRead, "AdminService/GetRealm",
                   [&](const Caller&) { return get_realm(*req, *resp); });
}
AdminService::Reactor* AdminService::ListRealms(Ctx* ctx, const v1::ListRealmsRequest* req,
                                                v1::ListRealmsResponse* resp) {
  return run_unary(ctx, auth_, Role::kRead, "AdminService/ListRealms",
                   [&](const Caller&) { return list_realms(*req, *resp); });
}
AdminService::Reactor* AdminService::UpdateRealm(Ctx* ctx, const v1::UpdateRealmRequest* req,
                                                 v1::Realm* resp) {
  return run_unary(ctx, auth_, Role::kAdmin, "AdminService/UpdateRealm",
                   [&](const Caller& c) { return update_realm(c, *req, *resp); });
}
AdminService::Reactor* AdminService::DeleteRealm(Ctx* ctx, const v1::DeleteRealmRequest* req,
                                                 google::protobuf::Empty*) {
  return run_unary(ctx, auth_, Role::kAdmin, "AdminService/DeleteRealm",
                   [&](const Caller& c) { return delete_realm(c, *req); });
}
AdminService::Reactor* AdminService::CreateCredential(Ctx* ctx,
                                                      const v1::CreateCredentialRequest* req,
                                                      v1::Credential* resp) {
  return run_unary(ctx, auth_, Role::kAdmin, "AdminService/CreateCredential",
                   [&](const Caller& c) { return create_credential(c, *req, *resp); });
}
AdminService::Reactor* AdminService::GetCredential(Ctx* ctx, const v1::GetCredentialRequest* req,
                                                   v1::Credential* resp) {
  return run_unary(ctx, auth_, Role::kRead, "AdminService/GetCredential",
                   [&](const Caller&) { return get_credential(*req, *resp); });
}
AdminService::Reactor* AdminService::ListCredentials(Ctx* ctx,
                                                     const v1::ListCredentialsRequest* req,
                                                     v1::ListCredentialsResponse* resp) {
  return run_unary(ctx, auth_, Role::kRead, "AdminService/ListCredentials",
                   [&](const Caller&) { return list_credentials(*req, *resp); });
}
AdminService::Reactor* AdminService::UpdateCredential(Ctx* ctx,
                                                      const v1::UpdateCredentialRequest* req,
                                                      v1::Credential* resp) {
  return run_unary(ctx, auth_, Role::kAdmin, "AdminService/UpdateCredential",
                   [&](const Caller& c) { return update_credential(c, *req, *resp); });
}
AdminService::Reactor* AdminService::DeleteCredential(Ctx* ctx,
                                                      const v1::DeleteCredentialRequest* req,
                                                      google::protobuf::Empty*) {
  return run_unary(ctx, auth_, Role::kAdmin, "AdminService/DeleteCredential",
                   [&](const Caller& c) { return delete_credential(c, *req); });
}
AdminService::Reactor* AdminService::CreateAclEntry(Ctx* ctx, const v1::CreateAclEntryRequest* req,
                                                    v1::AclEntry* resp) {
  return run_unary(ctx, auth_, Role::kAdmin, "AdminService/CreateAclEntry",
                   [&](const Caller& c) { return create_acl_entry(c, *req, *resp); });
}
AdminService::Reactor* AdminService::ListAclEntries(Ctx* ctx, const v1::ListAclEntriesRequest* req,
                                                    v1::ListAclEntriesResponse* resp) {
  return run_unary(ctx, auth_, Role::kRead, "AdminService/ListAclEntries",
                   [&](const Caller&) { return list_acl_entries(*req, *resp); });
}
AdminService::Reactor* AdminService::DeleteAclEntry(Ctx* ctx, const v1::DeleteAclEntryRequest* req,
                                                    google::protobuf::Empty*) {
  return run_unary(ctx, auth_, Role::kAdmin, "AdminService/DeleteAclEntry",
                   [&](const Caller& c) { return delete_acl_entry(c, *req); });
}

// --- realms ---------------------------------------------------------------------

grpc::Status AdminService::find_realm(std::string_view field, std::string_view name,
                                      registrar::Realm& out) {
  if (name.empty())
    return invalid_argument(std::string(field), "required, e.g. \"realms/acme.example\"");
  auto realm = parse_realm_name(name);
  if (!realm || *realm == "-")
    return invalid_argument(std::string(field), "expected \"realms/{realm}\", got " + quoted(name));
  auto found = credentials_.find_realm(*realm);
  if (!found) return realm_not_found(*realm);
  out = std::move(*found);
  return grpc::Status::OK;
}

v1::Realm AdminService::realm_to_proto(const registrar::Realm& realm) const {
  return to_proto(realm, int(credentials_.list_credentials(realm.name).size()),
                  int(realm.trusted_sources.size()));
}

grpc::Status AdminService::create_realm(const Caller& caller, const v1::CreateRealmRequest& req,
                                        v1::Realm& resp) {
  std::vector<FieldViolation> bad;
  const std::string id = lower(req.realm_id());
  if (id.empty()) {
    bad.push_back({"realm_id", "required: the domain, e.g. \"acme.example\""});
  } else if (!is_domain_name(id)) {
    bad.push_back({"realm_id", quoted(req.realm_id()) +
                                   " is not a domain name (letters, digits, '-' and '.')"});
  }
  registrar::Realm realm;
  realm.name = id;
  apply_realm(req.realm(), RealmFields::all(), "realm", realm, bad);
  if (!bad.empty()) return invalid_argument(bad);

  std::lock_guard lock(write_mu_);
  if (auto existing = credentials_.find_realm(id))
    return already_exists(kRealmType, realm_name(existing->name),
                          "realm " + quoted(existing->name) + " already exists");
  if (registrar::StoreResult r = credentials_.put_realm(realm); !r.ok)
    return store_failed(credentials_, "creating the realm", r.error);
  logger_.info("api realm created", {{"realm", id}, {"token", caller.token_name}});
  resp = to_proto(realm, 0, 0);
  return grpc::Status::OK;
}

grpc::Status AdminService::get_realm(const v1::GetRealmRequest& req, v1::Realm& resp) {
  registrar::Realm realm;
  if (grpc::Status s = find_realm("name", req.name(), realm); !s.ok()) return s;
  resp = realm_to_proto(realm);
  return grpc::Status::OK;
}

grpc::Status AdminService::list_realms(const v1::ListRealmsRequest& req,
                                       v1::ListRealmsResponse& resp) {
  Page page;
  if (grpc::Status s = read_page(req.page_size(), req.page_token(), "realms", page); !s.ok())
    return s;
  std::vector<registrar::Realm> realms = credentials_.list_realms();
  std::vector<std::pair<std::string, const registrar::Realm*>> keyed;
  keyed.reserve(realms.size());
  for (const registrar::Realm& r : realms) keyed.emplace_back(lower(r.name), &r);
  std::sort(keyed.begin(), keyed.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  auto it = keyed.begin();
  if (!page.after.empty())
    it = std::upper_bound(keyed.begin(), keyed.end(), page.after,
                          [](const std::string& key, const auto& e) { return key < e.first; });
  for (; it != keyed.end() && size_t(resp.realms_size()) < page.size; ++it)
    *resp.add_realms() = realm_to_proto(*it->second);
  if (it != keyed.end() && resp.realms_size() > 0)
    resp.set_next_page_token(encode_page_token("realms", std::prev(it)->first));
  return grpc::Status::OK;
}

grpc::Status AdminService::update_realm(const Caller& caller, const v1::UpdateRealmRequest& req,
                                        v1::Realm& resp) {
  std::vector<FieldViolation> bad;
  RealmFields fields = realm_fields_from_mask(req.update_mask(), bad);
  if (!req.has_realm()) bad.push_back({"realm", "required (realm.name selects the realm)"});
  if (!bad.empty()) return invalid_argument(bad);

  std::lock_guard lock(write_mu_);
  registrar::Realm realm;
  if (grpc::Status s = find_realm("realm.name", req.realm().name(), realm); !s.ok()) return s;
  apply_realm(req.realm(), fields, "realm", realm, bad);
  if (!bad.empty()) return invalid_argument(bad);
  if (registrar::StoreResult r = credentials_.put_realm(realm); !r.ok)
    return store_failed(credentials_, "updating the realm", r.error);
  std::string paths;
  for (const std::string& p : fields.paths) paths += (paths.empty() ? "" : ",") + p;
  logger_.info("api realm updated",
               {{"realm", realm.name}, {"fields", paths}, {"token", caller.token_name}});
  resp = realm_to_proto(realm);
  return grpc::Status::OK;
}

grpc::Status AdminService::delete_realm(const Caller& caller, const v1::DeleteRealmRequest& req) {
  std::lock_guard lock(write_mu_);
  registrar::Realm realm;
  if (grpc::Status s = find_realm("name", req.name(), realm); !s.ok()) return s;
  if (!credentials_.remove_realm(realm.name))
    return unavailable_or(credentials_, realm_not_found(realm.name));
  size_t removed = location_.remove_registered_by(realm.name, std::nullopt, "realm deleted");
  logger_.info(
      "api realm deleted",
      {{"realm", realm.name}, {"bindings_removed", removed}, {"token", caller.token_name}});
  return grpc::Status::OK;
}

// --- credentials ------------------------------------------------------------------

grpc::Status AdminService::create_credential(const Caller& caller,
                                             const v1::CreateCredentialRequest& req,
                                             v1::Credential& resp) {
  std::vector<FieldViolation> bad;
  const std::string& username = req.credential_id();
  if (username.empty()) {
    bad.push_back({"credential_id", "required: the digest username"});
  } else if (!is_username(username)) {
    bad.push_back({"credential_id",
                   "must be 1-255 printable characters without spaces, quotes or backslashes"});
  }
  if (!req.has_credential())
    bad.push_back(
        {"credential", "required: carries the secret (password, ha1_* or hash1 + hash1b)"});
  if (!bad.empty()) return invalid_argument(bad);

  std::lock_guard lock(write_mu_);
  registrar::Realm realm;
  if (grpc::Status s = find_realm("parent", req.parent(), realm); !s.ok()) return s;
  auto credential = credential_from_secret(req.credential(), "credential", realm, username, bad);
  if (!credential) return invalid_argument(bad);
  if (credentials_.find_credential(realm.name, username))
    return already_exists(
        kCredentialType, credential_name(realm.name, username),
        "credential " + quoted(username) + " already exists in realm " + quoted(realm.name));
  if (registrar::StoreResult r = credentials_.put_credential(*credential); !r.ok)
    return store_failed(credentials_, "creating the credential", r.error);
  logger_.info("api credential created",
               {{"realm", realm.name}, {"username", username}, {"token", caller.token_name}});
  resp = to_proto(*credential);
  return grpc::Status::OK;
}

grpc::Status AdminService::get_credential(const v1::GetCredentialRequest& req,
                                          v1::Credential& resp) {
  auto name = parse_credential_name(req.name());
  if (!name)
    return invalid_argument(
        "name", "expected \"realms/{realm}/credentials/{username}\", got " + quoted(req.name()));
  auto realm = credentials_.find_realm(name->realm);
  if (!realm) return realm_not_found(name->realm);
  auto credential = credentials_.find_credential(realm->name, name->username);
  if (!credential) return credential_not_found(realm->name, name->username);
  resp = to_proto(*credential);
  return grpc::Status::OK;
}

grpc::Status AdminService::list_credentials(const v1::ListCredentialsRequest& req,
                                            v1::ListCredentialsResponse& resp) {
  Page page;
  if (grpc::Status s = read_page(req.page_size(), req.page_token(), "credentials", page); !s.ok())
    return s;
  registrar::Realm realm;
  if (grpc::Status s = find_realm("parent", req.parent(), realm); !s.ok()) return s;
  std::vector<registrar::Credential> all = credentials_.list_credentials(realm.name);
  std::sort(all.begin(), all.end(),
            [](const auto& a, const auto& b) { return a.username() < b.username(); });
  auto it = all.begin();
  if (!page.after.empty())
    it = std::upper_bound(
        all.begin(), all.end(), page.after,
        [](const std::string& key, const registrar::Credential& c) { return key < c.username(); });
  for (; it != all.end() && size_t(resp.credentials_size()) < page.size; ++it)
    *resp.add_credentials() = to_proto(*it);
  if (it != all.end() && resp.credentials_size() > 0)
    resp.set_next_page_token(encode_page_token("credentials", std::prev(it)->username()));
  return grpc::Status::OK;
}

grpc::Status AdminService::update_credential(const Caller& caller,
                                             const v1::UpdateCredentialRequest& req,
                                             v1::Credential& resp) {
  std::vector<FieldViolation> bad;
  check_credential_mask(req.update_mask(), bad);
  if (!req.has_credential()) bad.push_back({"credential", "required: name and the new secret"});
  if (!bad.empty()) return invalid_argument(bad);
  auto name = parse_credential_name(req.credential().name());
  if (!name)
    return invalid_argument("credential.name",
                            "expected \"realms/{realm}/credentials/{username}\", got " +
                                quoted(req.credential().name()));

  std::lock_guard lock(write_mu_);
  auto realm = credentials_.find_realm(name->realm);
  if (!realm) return realm_not_found(name->realm);
  if (!credentials_.find_credential(realm->name, name->username))
    return credential_not_found(realm->name, name->username);
  auto credential =
      credential_from_secret(req.credential(), "credential", *realm, name->username, bad);
  if (!credential) return invalid_argument(bad);
  if (registrar::StoreResult r = credentials_.put_credential(*credential); !r.ok)
    return store_failed(credentials_, "updating the credential", r.error);
  logger_.info(
      "api credential updated",
      {{"realm", realm->name}, {"username", name->username}, {"token", caller.token_name}});
  resp = to_proto(*credential);
  return grpc::Status::OK;
}

grpc::Status AdminService::delete_credential(const Caller& caller,
                                             const v1::DeleteCredentialRequest& req) {
  auto name = parse_credential_name(req.name());
  if (!name)
    return invalid_argument(
        "name", "expected \"realms/{realm}/credentials/{username}\", got " + quoted(req.name()));
  std::lock_guard lock(write_mu_);
  auto realm = credentials_.find_realm(name->realm);
  if (!realm) return realm_not_found(name->realm);
  if (!credentials_.remove_credential(realm->name, name->username))
    return unavailable_or(credentials_, credential_not_found(realm->name, name->username));
  size_t removed =
      location_.remove_registered_by(realm->name, name->username, "credential deleted");
  logger_.info("api credential deleted", {{"realm", realm->name},
                                          {"username", name->username},
                                          {"bindings_removed", removed},
                                          {"token", caller.token_name}});
  return grpc::Status::OK;
}

// --- ACL entries -------------------------------------------------------------------

grpc::Status AdminService::create_acl_entry(const Caller& caller,
                                            const v1::CreateAclEntryRequest& req,
                                            v1::AclEntry& resp) {
  CidrOrError cidr = canonical_cidr(req.acl_entry().cidr());
  if (!cidr.ok()) return invalid_argument("acl_entry.cidr", cidr.error);

  std::lock_guard lock(write_mu_);
  registrar::Realm realm;
  if (grpc::Status s = find_realm("parent", req.parent(), realm); !s.ok()) return s;
  for (const registrar::Cidr& existing : realm.trusted_sources)
    if (canonical_or_raw(existing.text) == cidr.cidr)
      return already_exists(
          kAclEntryType, acl_entry_name(realm.name, cidr.cidr),
          "ACL entry " + quoted(cidr.cidr) + " already exists in realm " + quoted(realm.name));
  realm.trusted_sources.push_back(registrar::Cidr{cidr.cidr});
  if (registrar::StoreResult r = credentials_.put_realm(realm); !r.ok)
    return store_failed(credentials_, "adding the ACL entry", r.error);
  logger_.info("api acl entry created",
               {{"realm", realm.name}, {"cidr", cidr.cidr}, {"token", caller.token_name}});
  resp.set_name(acl_entry_name(realm.name, cidr.cidr));
  resp.set_cidr(cidr.cidr);
  return grpc::Status::OK;
}

grpc::Status AdminService::list_acl_entries(const v1::ListAclEntriesRequest& req,
                                            v1::ListAclEntriesResponse& resp) {
  Page page;
  if (grpc::Status s = read_page(req.page_size(), req.page_token(), "aclEntries", page); !s.ok())
    return s;
  registrar::Realm realm;
  if (grpc::Status s = find_realm("parent", req.parent(), realm); !s.ok()) return s;
  std::vector<std::string> cidrs;
  for (const registrar::Cidr& c : realm.trusted_sources) cidrs.push_back(c.text);
  std::sort(cidrs.begin(), cidrs.end());
  auto it =
      page.after.empty() ? cidrs.begin() : std::upper_bound(cidrs.begin(), cidrs.end(), page.after);
  for (; it != cidrs.end() && size_t(resp.acl_entries_size()) < page.size; ++it) {
    v1::AclEntry* e = resp.add_acl_entries();
    e->set_name(acl_entry_name(realm.name, *it));
    e->set_cidr(*it);
  }
  if (it != cidrs.end() && resp.acl_entries_size() > 0)
    resp.set_next_page_token(encode_page_token("aclEntries", *std::prev(it)));
  return grpc::Status::OK;
}

grpc::Status AdminService::delete_acl_entry(const Caller& caller,
                                            const v1::DeleteAclEntryRequest& req) {
  auto name = parse_acl_entry_name(req.name());
  if (!name)
    return invalid_argument("name",
                            "expected \"realms/{realm}/aclEntries/{cidr with '-' for "
                            "'/'}\", got " +
                                quoted(req.name()));
  std::lock_guard lock(write_mu_);
  auto realm = credentials_.find_realm(name->realm);
  if (!realm) return realm_not_found(name->realm);
  const std::string wanted = canonical_or_raw(name->cidr);
  auto& sources = realm->trusted_sources;
  auto it = std::find_if(sources.begin(), sources.end(), [&](const registrar::Cidr& c) {
    return c.text == name->cidr || canonical_or_raw(c.text) == wanted;
  });
  if (it == sources.end())
    return not_found(
        kAclEntryType, req.name(),
        "ACL entry " + quoted(name->cidr) + " not found in realm " + quoted(realm->name));
  sources.erase(it);
  if (registrar::StoreResult r = credentials_.put_realm(*realm); !r.ok)
    return store_failed(credentials_, "removing the ACL entry", r.error);
  logger_.info("api acl entry deleted",
               {{"realm", realm->name}, {"cidr", name->cidr}, {"token", caller.token_name}});
  return grpc::Status::OK;
}

}  // namespace switchboard::api
