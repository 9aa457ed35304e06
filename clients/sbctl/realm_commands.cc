// sbctl realm create|get|list|update|delete — AdminService realms.
#include <google/protobuf/empty.pb.h>

#include <iostream>

#include "clients/sbctl/commands.h"
#include "clients/sbctl/exit_codes.h"
#include "clients/sbctl/names.h"
#include "clients/sbctl/output.h"
#include "clients/sbctl/rpc_error.h"
#include "switchboard/v1/admin.grpc.pb.h"

namespace sbctl {
namespace {

const std::vector<std::string_view> kRealmSettingOptions = {
    "--challenge",   "--algorithms",   "--allow-qop-less", "--default-expires", "--min-expires",
    "--max-expires", "--max-contacts", "--overflow",       "--source-auth"};

// Copies the realm options given on the command line into `realm`; returns
// the paths for update_mask (only the options given). Malformed values are
// recorded in `args`.
std::vector<std::string> apply_realm_options(Args& args, v1::Realm& realm) {
  std::vector<std::string> paths;
  auto bad = [&](std::string_view option, std::string_view expected, const std::string& got) {
    args.fail(std::string(option) + ": expected " + std::string(expected) + ", got \"" + got +
              "\"");
  };
  if (auto v = args.value("--challenge")) {
    if (auto mode = parse_challenge(*v))
      realm.set_challenge(*mode);
    else
      bad("--challenge", "401 or 407", *v);
    paths.push_back("challenge");
  }
  if (auto v = args.value("--algorithms")) {
    auto items = split_list(*v);
    if (items.empty()) bad("--algorithms", "a list such as MD5,SHA-256,SHA-512-256", *v);
    for (const auto& item : items) {
      if (auto algorithm = parse_algorithm(item))
        realm.add_algorithms(*algorithm);
      else
        bad("--algorithms", "MD5, SHA-256 or SHA-512-256 (comma-separated)", item);
    }
    paths.push_back("algorithms");
  }
  if (auto v = args.value("--allow-qop-less")) {
    if (auto b = parse_bool(*v))
      realm.set_allow_qop_less(*b);
    else
      bad("--allow-qop-less", "true or false", *v);
    paths.push_back("allow_qop_less");
  }
  struct NumberOption {
    std::string_view option;
    const char* path;
    void (v1::Realm::*set)(uint32_t);
  };
  const NumberOption numbers[] = {
      {"--default-expires", "default_expires_seconds", &v1::Realm::set_default_expires_seconds},
      {"--min-expires", "min_expires_seconds", &v1::Realm::set_min_expires_seconds},
      {"--max-expires", "max_expires_seconds", &v1::Realm::set_max_expires_seconds},
      {"--max-contacts", "max_contacts", &v1::Realm::set_max_contacts},
  };
  for (const auto& n : numbers) {
    if (!args.has(n.option)) continue;
    if (auto value = args.number(n.option, 0, UINT32_MAX)) (realm.*n.set)(uint32_t(*value));
    paths.push_back(n.path);
  }
  if (auto v = args.value("--overflow")) {
    if (auto policy = parse_overflow(*v))
      realm.set_contact_overflow(*policy);
    else
      bad("--overflow", "reject or evict-oldest", *v);
    paths.push_back("contact_overflow");
  }
  if (auto v = args.value("--source-auth")) {
    if (auto mode = parse_source_auth(*v))
      realm.set_source_auth(*mode);
    else
      bad("--source-auth", "digest, trusted-or-digest or trusted-and-digest", *v);
    paths.push_back("source_auth");
  }
  return paths;
}

void print_realm(const Session& session, const v1::Realm& realm) {
  if (session.json()) return print_json(realm);
  std::vector<std::string> aliases;
  for (const auto& [user, list] : realm.aliases()) {
    aliases.push_back(user + ": " + join({list.users().begin(), list.users().end()}, ","));
  }
  print_fields(std::cout, {{"name", realm.name()},
                           {"challenge", challenge_name(realm.challenge())},
                           {"algorithms", algorithm_list(realm.algorithms())},
                           {"allow-qop-less", realm.allow_qop_less() ? "true" : "false"},
                           {"default-expires", std::to_string(realm.default_expires_seconds())},
                           {"min-expires", std::to_string(realm.min_expires_seconds())},
                           {"max-expires", std::to_string(realm.max_expires_seconds())},
                           {"max-contacts", std::to_string(realm.max_contacts())},
                           {"overflow", overflow_name(realm.contact_overflow())},
                           {"source-auth", source_auth_name(realm.source_auth())},
                           {"aliases", aliases.empty() ? "-" : join(aliases, "; ")},
                           {"credentials", std::to_string(realm.credential_count())},
                           {"acl-entries", std::to_string(realm.acl_entry_count())}});
}

int realm_create(Session& session, Args& args) {
  args.expect_words(3, "realm create NAME [options]");
  args.allow_only(kRealmSettingOptions);
  v1::CreateRealmRequest request;
  request.set_realm_id(realm_id(args.word(2)));
  apply_realm_options(args, *request.mutable_realm());
  if (args.failed()) return usage_error(args.error());

  auto stub = v1::AdminService::NewStub(session.channel());
  v1::Realm realm;
  grpc::Status status = stub->CreateRealm(session.context().get(), request, &realm);
  if (!status.ok()) return report_rpc_error(status);
  print_realm(session, realm);
  return kExitOk;
}

int realm_get(Session& session, Args& args) {
  args.expect_words(3, "realm get NAME");
  args.allow_only({});
  if (args.failed()) return usage_error(args.error());

  auto stub = v1::AdminService::NewStub(session.channel());
  v1::GetRealmRequest request;
  request.set_name(realm_resource(args.word(2)));
  v1::Realm realm;
  grpc::Status status = stub->GetRealm(session.context().get(), request, &realm);
  if (!status.ok()) return report_rpc_error(status);
  print_realm(session, realm);
  return kExitOk;
}

int realm_list(Session& session, Args& args) {
  args.expect_words(2, "realm list");
  args.allow_only({});
  if (args.failed()) return usage_error(args.error());

  auto stub = v1::AdminService::NewStub(session.channel());
  v1::ListRealmsResponse all;  // every page
  v1::ListRealmsRequest request;
  do {
    v1::ListRealmsResponse page;
    grpc::Status status = stub->ListRealms(session.context().get(), request, &page);
    if (!status.ok()) return report_rpc_error(status);
    for (auto& realm : *page.mutable_realms()) *all.add_realms() = std::move(realm);
    request.set_page_token(page.next_page_token());
  } while (!request.page_token().empty());

  if (session.json()) {
    print_json(all);
    return kExitOk;
  }
  Table table({"REALM", "CHALLENGE", "ALGORITHMS", "EXPIRES(DEF/MIN/MAX)", "MAX-CONTACTS",
               "OVERFLOW", "SOURCE-AUTH", "CREDENTIALS", "ACL"});
  for (const auto& realm : all.realms()) {
    table.add({realm_id(realm.name()), challenge_name(realm.challenge()),
               algorithm_list(realm.algorithms()),
               std::to_string(realm.default_expires_seconds()) + "/" +
                   std::to_string(realm.min_expires_seconds()) + "/" +
                   std::to_string(realm.max_expires_seconds()),
               std::to_string(realm.max_contacts()), overflow_name(realm.contact_overflow()),
               source_auth_name(realm.source_auth()), std::to_string(realm.credential_count()),
               std::to_string(realm.acl_entry_count())});
  }
  table.print(std::cout);
  return kExitOk;
}

int realm_update(Session& session, Args& args) {
  args.expect_words(3, "realm update NAME [options]");
  args.allow_only(kRealmSettingOptions);
  v1::UpdateRealmRequest request;
  request.mutable_realm()->set_name(realm_resource(args.word(2)));
  auto paths = apply_realm_options(args, *request.mutable_realm());
  if (!args.failed() && paths.empty()) {
    args.fail("realm update: give at least one setting to change");
  }
  if (args.failed()) return usage_error(args.error());
  for (auto& path : paths) request.mutable_update_mask()->add_paths(path);

  auto stub = v1::AdminService::NewStub(session.channel());
  v1::Realm realm;
  grpc::Status status = stub->UpdateRealm(session.context().get(), request, &realm);
  if (!status.ok()) return report_rpc_error(status);
  print_realm(session, realm);
  return kExitOk;
}

int realm_delete(Session& session, Args& args) {
  args.expect_words(3, "realm delete NAME");
  args.allow_only({});
  if (args.failed()) return usage_error(args.error());

  auto stub = v1::AdminService::NewStub(session.channel());
  v1::DeleteRealmRequest request;
  request.set_name(realm_resource(args.word(2)));
  google::protobuf::Empty empty;
  grpc::Status status = stub->DeleteRealm(session.context().get(), request, &empty);
  if (!status.ok()) return report_rpc_error(status);
  print_deleted(session.json(), request.name());
  return kExitOk;
}

}  // namespace

std::string realm_resource(std::string_view realm) {
  if (realm.starts_with("realms/")) return std::string(realm);
  return "realms/" + std::string(realm);
}

std::string realm_id(std::string_view name) {
  if (name.starts_with("realms/")) name.remove_prefix(7);
  return std::string(name);
}

std::string last_segment(std::string_view name) {
  auto slash = name.rfind('/');
  return std::string(slash == std::string_view::npos ? name : name.substr(slash + 1));
}

int run_realm_command(Session& session, Args& args) {
  const std::string verb = args.word(1);
  if (verb == "create") return realm_create(session, args);
  if (verb == "get") return realm_get(session, args);
  if (verb == "list") return realm_list(session, args);
  if (verb == "update") return realm_update(session, args);
  if (verb == "delete") return realm_delete(session, args);
  return usage_error("realm: expected create, get, list, update or delete" +
                     (verb.empty() ? std::string() : ", got \"" + verb + "\""));
}

}  // namespace sbctl
