// sbctl binding list|get|delete — RegistrationService bindings.
#include <google/protobuf/empty.pb.h>

#include <cstdio>
#include <iostream>

#include "clients/sbctl/commands.h"
#include "clients/sbctl/exit_codes.h"
#include "clients/sbctl/output.h"
#include "clients/sbctl/rpc_error.h"
#include "switchboard/v1/registration.grpc.pb.h"

namespace sbctl {
namespace {

namespace v1 = ::switchboard::v1;

void print_binding(const Session& session, const v1::Binding& b) {
  if (session.json()) return print_json(b);
  char q[16] = "-";
  if (b.has_q()) std::snprintf(q, sizeof q, "%.3g", b.q());
  print_fields(
      std::cout,
      {{"name", b.name()},
       {"aor", b.aor()},
       {"contact", b.contact()},
       {"realm", b.realm()},
       {"username", or_dash(b.username())},
       {"transport", b.transport()},
       {"source", b.source_address()},
       {"local", or_dash(b.local_address())},
       {"path", b.path().empty() ? "-" : join({b.path().begin(), b.path().end()}, ", ")},
       {"instance", or_dash(b.instance_id())},
       {"reg-id", std::to_string(b.reg_id())},
       {"call-id", b.call_id()},
       {"cseq", std::to_string(b.cseq())},
       {"q", q},
       {"user-agent", b.user_agent().empty() ? "-" : quoted(b.user_agent())},
       {"expires", format_time(b.expire_time()) + " (" + format_relative(b.expire_time()) + ")"},
       {"created", format_time(b.create_time())},
       {"updated", format_time(b.update_time())}});
}

int binding_list(Session& session, Args& args) {
  args.expect_words(2, "binding list [--realm R] [--aor sip:USER@DOMAIN]");
  args.allow_only({"--realm", "--aor"});
  if (args.failed()) return usage_error(args.error());

  auto stub = v1::RegistrationService::NewStub(session.channel());
  v1::ListBindingsRequest request;
  auto realm = args.value("--realm");
  request.set_parent(realm ? realm_resource(*realm) : "realms/-");
  request.set_aor(args.value("--aor").value_or(""));
  v1::ListBindingsResponse all;
  do {
    v1::ListBindingsResponse page;
    grpc::Status status = stub->ListBindings(session.context().get(), request, &page);
    if (!status.ok()) return report_rpc_error(status);
    for (auto& b : *page.mutable_bindings()) *all.add_bindings() = std::move(b);
    request.set_page_token(page.next_page_token());
  } while (!request.page_token().empty());

  if (session.json()) {
    print_json(all);
    return kExitOk;
  }
  Table table({"AOR", "CONTACT", "TRANSPORT", "SOURCE", "EXPIRES", "USER-AGENT", "NAME"});
  for (const auto& b : all.bindings()) {
    table.add({b.aor(), b.contact(), b.transport(), b.source_address(),
               format_relative(b.expire_time()),
               b.user_agent().empty() ? "-" : quoted(b.user_agent()), b.name()});
  }
  table.print(std::cout);
  return kExitOk;
}

int binding_get(Session& session, Args& args) {
  args.expect_words(3, "binding get NAME");
  args.allow_only({});
  if (args.failed()) return usage_error(args.error());

  auto stub = v1::RegistrationService::NewStub(session.channel());
  v1::GetBindingRequest request;
  request.set_name(args.word(2));
  v1::Binding binding;
  grpc::Status status = stub->GetBinding(session.context().get(), request, &binding);
  if (!status.ok()) return report_rpc_error(status);
  print_binding(session, binding);
  return kExitOk;
}

int binding_delete(Session& session, Args& args) {
  args.expect_words(3, "binding delete NAME");
  args.allow_only({});
  if (args.failed()) return usage_error(args.error());

  auto stub = v1::RegistrationService::NewStub(session.channel());
  v1::DeleteBindingRequest request;
  request.set_name(args.word(2));
  google::protobuf::Empty empty;
  grpc::Status status = stub->DeleteBinding(session.context().get(), request, &empty);
  if (!status.ok()) return report_rpc_error(status);
  print_deleted(session.json(), request.name());
  return kExitOk;
}

}  // namespace

int run_binding_command(Session& session, Args& args) {
  const std::string verb = args.word(1);
  if (verb == "list") return binding_list(session, args);
  if (verb == "get") return binding_get(session, args);
  if (verb == "delete") return binding_delete(session, args);
  return usage_error("binding: expected list, get or delete" +
                     (verb.empty() ? std::string() : ", got \"" + verb + "\""));
}

}  // namespace sbctl
