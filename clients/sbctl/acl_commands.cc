// sbctl acl add|list|delete — AdminService IP ACL entries (trusted networks).
#include <google/protobuf/empty.pb.h>

#include <algorithm>
#include <iostream>

#include "clients/sbctl/commands.h"
#include "clients/sbctl/exit_codes.h"
#include "clients/sbctl/output.h"
#include "clients/sbctl/rpc_error.h"
#include "switchboard/v1/admin.grpc.pb.h"

namespace sbctl {
namespace {

namespace v1 = ::switchboard::v1;

// "192.0.2.0/24" or "192.0.2.0-24" → "realms/R/aclEntries/192.0.2.0-24".
std::string acl_resource(std::string_view realm, std::string cidr) {
  std::replace(cidr.begin(), cidr.end(), '/', '-');
  return realm_resource(realm) + "/aclEntries/" + cidr;
}

int acl_add(Session& session, Args& args) {
  args.expect_words(4, "acl add REALM CIDR");
  args.allow_only({});
  if (args.failed()) return usage_error(args.error());

  auto stub = v1::AdminService::NewStub(session.channel());
  v1::CreateAclEntryRequest request;
  request.set_parent(realm_resource(args.word(2)));
  request.mutable_acl_entry()->set_cidr(args.word(3));
  v1::AclEntry entry;
  grpc::Status status = stub->CreateAclEntry(session.context().get(), request, &entry);
  if (!status.ok()) return report_rpc_error(status);
  if (session.json())
    print_json(entry);
  else
    print_fields(std::cout, {{"name", entry.name()}, {"cidr", entry.cidr()}});
  return kExitOk;
}

int acl_list(Session& session, Args& args) {
  args.expect_words(3, "acl list REALM");
  args.allow_only({});
  if (args.failed()) return usage_error(args.error());

  auto stub = v1::AdminService::NewStub(session.channel());
  v1::ListAclEntriesResponse all;
  v1::ListAclEntriesRequest request;
  request.set_parent(realm_resource(args.word(2)));
  do {
    v1::ListAclEntriesResponse page;
    grpc::Status status = stub->ListAclEntries(session.context().get(), request, &page);
    if (!status.ok()) return report_rpc_error(status);
    for (auto& e : *page.mutable_acl_entries()) *all.add_acl_entries() = std::move(e);
    request.set_page_token(page.next_page_token());
  } while (!request.page_token().empty());

  if (session.json()) {
    print_json(all);
    return kExitOk;
  }
  Table table({"CIDR", "NAME"});
  for (const auto& e : all.acl_entries()) table.add({e.cidr(), e.name()});
  table.print(std::cout);
  return kExitOk;
}

int acl_delete(Session& session, Args& args) {
  args.expect_words(4, "acl delete REALM CIDR");
  args.allow_only({});
  if (args.failed()) return usage_error(args.error());

  auto stub = v1::AdminService::NewStub(session.channel());
  v1::DeleteAclEntryRequest request;
  request.set_name(acl_resource(args.word(2), args.word(3)));
  google::protobuf::Empty empty;
  grpc::Status status = stub->DeleteAclEntry(session.context().get(), request, &empty);
  if (!status.ok()) return report_rpc_error(status);
  print_deleted(session.json(), request.name());
  return kExitOk;
}

}  // namespace

int run_acl_command(Session& session, Args& args) {
  const std::string verb = args.word(1);
  if (verb == "add") return acl_add(session, args);
  if (verb == "list") return acl_list(session, args);
  if (verb == "delete") return acl_delete(session, args);
  return usage_error("acl: expected add, list or delete" +
                     (verb.empty() ? std::string() : ", got \"" + verb + "\""));
}

}  // namespace sbctl
