// sbctl credential create|update|get|list|delete — AdminService credentials.
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

const std::vector<std::string_view> kSecretOptions = {
    "--password-stdin", "--password", "--ha1-md5", "--ha1-sha256",
    "--ha1-sha512-256", "--hash1",    "--hash1b", "--domain"};

constexpr std::string_view kSecretSynopsis =
    "(--password-stdin | --password P | --ha1-md5 H [--ha1-sha256 H] [--ha1-sha512-256 H] | "
    "--hash1 H --hash1b H) [--domain D]";

// Reads one line (the password) from standard input, without its line end.
bool read_password_line(std::string& password) {
  if (!std::getline(std::cin, password)) return false;
  if (!password.empty() && password.back() == '\r') password.pop_back();
  return !password.empty();
}

// Puts exactly one way of giving the secret into `credential`; returns the
// field names given (for update_mask). Errors are recorded in `args`.
std::vector<std::string> apply_secret_options(Args& args, v1::Credential& credential) {
  const bool from_stdin = args.flag("--password-stdin");
  const bool password = args.has("--password");
  const bool ha1 =
      args.has("--ha1-md5") || args.has("--ha1-sha256") || args.has("--ha1-sha512-256");
  const bool hash1 = args.has("--hash1") || args.has("--hash1b");
  if (int(from_stdin) + int(password) + int(ha1) + int(hash1) != 1) {
    args.fail("give the secret exactly one way: " + std::string(kSecretSynopsis));
    return {};
  }
  std::vector<std::string> paths;
  if (from_stdin) {
    std::string secret;
    if (!read_password_line(secret)) {
      args.fail("--password-stdin: no password on standard input");
      return {};
    }
    credential.set_password(secret);
    paths.push_back("password");
  } else if (password) {
    std::cerr << "sbctl: warning: --password is visible to other users in the process list; "
                 "prefer --password-stdin\n";
    credential.set_password(*args.value("--password"));
    paths.push_back("password");
  } else if (ha1) {
    if (auto v = args.value("--ha1-md5")) {
      credential.set_ha1_md5(*v);
      paths.push_back("ha1_md5");
    }
    if (auto v = args.value("--ha1-sha256")) {
      credential.set_ha1_sha256(*v);
      paths.push_back("ha1_sha256");
    }
    if (auto v = args.value("--ha1-sha512-256")) {
      credential.set_ha1_sha512_256(*v);
      paths.push_back("ha1_sha512_256");
    }
  } else {
    if (!args.has("--hash1") || !args.has("--hash1b")) {
      args.fail("--hash1 and --hash1b go together");
      return {};
    }
    credential.set_hash1(*args.value("--hash1"));
    credential.set_hash1b(*args.value("--hash1b"));
    paths = {"hash1", "hash1b"};
  }
  if (auto v = args.value("--domain")) {  // hash1b's user@domain (default: the realm)
    credential.set_domain(*v);
    paths.push_back("domain");
  }
  return paths;
}

std::string credential_resource(std::string_view realm, std::string_view username) {
  return realm_resource(realm) + "/credentials/" + std::string(username);
}

void print_credential(const Session& session, const v1::Credential& credential) {
  if (session.json()) return print_json(credential);
  print_fields(std::cout, {{"name", credential.name()},
                           {"username", credential.username()},
                           {"algorithms", algorithm_list(credential.algorithms())},
                           {"hash1b", credential.has_hash1b() ? "yes" : "no"}});
}

int credential_create(Session& session, Args& args) {
  args.expect_words(4, "credential create REALM USER " + std::string(kSecretSynopsis));
  args.allow_only(kSecretOptions);
  v1::CreateCredentialRequest request;
  request.set_parent(realm_resource(args.word(2)));
  request.set_credential_id(args.word(3));
  if (!args.failed()) apply_secret_options(args, *request.mutable_credential());
  if (args.failed()) return usage_error(args.error());

  auto stub = v1::AdminService::NewStub(session.channel());
  v1::Credential credential;
  grpc::Status status = stub->CreateCredential(session.context().get(), request, &credential);
  if (!status.ok()) return report_rpc_error(status);
  print_credential(session, credential);
  return kExitOk;
}

int credential_update(Session& session, Args& args) {
  args.expect_words(4, "credential update REALM USER " + std::string(kSecretSynopsis));
  args.allow_only(kSecretOptions);
  v1::UpdateCredentialRequest request;
  request.mutable_credential()->set_name(credential_resource(args.word(2), args.word(3)));
  std::vector<std::string> paths;
  if (!args.failed()) paths = apply_secret_options(args, *request.mutable_credential());
  if (args.failed()) return usage_error(args.error());
  for (auto& path : paths) request.mutable_update_mask()->add_paths(path);

  auto stub = v1::AdminService::NewStub(session.channel());
  v1::Credential credential;
  grpc::Status status = stub->UpdateCredential(session.context().get(), request, &credential);
  if (!status.ok()) return report_rpc_error(status);
  print_credential(session, credential);
  return kExitOk;
}

int credential_get(Session& session, Args& args) {
  args.expect_words(4, "credential get REALM USER");
  args.allow_only({});
  if (args.failed()) return usage_error(args.error());

  auto stub = v1::AdminService::NewStub(session.channel());
  v1::GetCredentialRequest request;
  request.set_name(credential_resource(args.word(2), args.word(3)));
  v1::Credential credential;
  grpc::Status status = stub->GetCredential(session.context().get(), request, &credential);
  if (!status.ok()) return report_rpc_error(status);
  print_credential(session, credential);
  return kExitOk;
}

int credential_list(Session& session, Args& args) {
  args.expect_words(3, "credential list REALM");
  args.allow_only({});
  if (args.failed()) return usage_error(args.error());

  auto stub = v1::AdminService::NewStub(session.channel());
  v1::ListCredentialsResponse all;
  v1::ListCredentialsRequest request;
  request.set_parent(realm_resource(args.word(2)));
  do {
    v1::ListCredentialsResponse page;
    grpc::Status status = stub->ListCredentials(session.context().get(), request, &page);
    if (!status.ok()) return report_rpc_error(status);
    for (auto& c : *page.mutable_credentials()) *all.add_credentials() = std::move(c);
    request.set_page_token(page.next_page_token());
  } while (!request.page_token().empty());

  if (session.json()) {
    print_json(all);
    return kExitOk;
  }
  Table table({"USERNAME", "ALGORITHMS", "HASH1B"});
  for (const auto& c : all.credentials()) {
    table.add({c.username().empty() ? last_segment(c.name()) : c.username(),
               algorithm_list(c.algorithms()), c.has_hash1b() ? "yes" : "no"});
  }
  table.print(std::cout);
  return kExitOk;
}

int credential_delete(Session& session, Args& args) {
  args.expect_words(4, "credential delete REALM USER");
  args.allow_only({});
  if (args.failed()) return usage_error(args.error());

  auto stub = v1::AdminService::NewStub(session.channel());
  v1::DeleteCredentialRequest request;
  request.set_name(credential_resource(args.word(2), args.word(3)));
  google::protobuf::Empty empty;
  grpc::Status status = stub->DeleteCredential(session.context().get(), request, &empty);
  if (!status.ok()) return report_rpc_error(status);
  print_deleted(session.json(), request.name());
  return kExitOk;
}

}  // namespace

int run_credential_command(Session& session, Args& args) {
  const std::string verb = args.word(1);
  if (verb == "create") return credential_create(session, args);
  if (verb == "update") return credential_update(session, args);
  if (verb == "get") return credential_get(session, args);
  if (verb == "list") return credential_list(session, args);
  if (verb == "delete") return credential_delete(session, args);
  return usage_error("credential: expected create, update, get, list or delete" +
                     (verb.empty() ? std::string() : ", got \"" + verb + "\""));
}

}  // namespace sbctl
