// sbctl watch — RegistrationService.WatchRegistrations: one line per event
// until interrupted (SIGINT/SIGTERM → exit 0) or the server ends the stream.
#include <iostream>

#include "clients/sbctl/commands.h"
#include "clients/sbctl/exit_codes.h"
#include "clients/sbctl/interrupts.h"
#include "clients/sbctl/names.h"
#include "clients/sbctl/output.h"
#include "clients/sbctl/rpc_error.h"
#include "switchboard/v1/registration.grpc.pb.h"

namespace sbctl {
namespace {

namespace v1 = ::switchboard::v1;

constexpr std::string_view kEventTypes =
    "registered, refreshed, unregistered, expired, replaced, auth_failed";

// #42 2026-11-26T10:00:00Z REGISTERED sip:alice@acme.example sip:alice@192.0.2.4:5062 udp
// 192.0.2.4:5062 "Yealink…" (reason)   — on one line; "-" for empty fields.
std::string event_line(const v1::RegistrationEvent& e) {
  const v1::Binding& b = e.binding();
  const std::string& source = e.source_address().empty() ? b.source_address() : e.source_address();
  const std::string& agent = e.user_agent().empty() ? b.user_agent() : e.user_agent();
  std::string line = "#" + std::to_string(e.sequence()) + " " + format_time(e.event_time()) + " " +
                     event_type_name(e.type()) + " " + or_dash(b.aor()) + " " +
                     or_dash(b.contact()) + " " + or_dash(b.transport()) + " " + or_dash(source) +
                     " " + (agent.empty() ? "-" : quoted(agent));
  if (!e.reason().empty()) line += " (" + e.reason() + ")";
  return line;
}

}  // namespace

int run_watch_command(Session& session, Args& args) {
  args.expect_words(1, "watch [--since N] [--realm R] [--type registered,refreshed,…]");
  args.allow_only({"--since", "--realm", "--type"});
  v1::WatchRegistrationsRequest request;
  if (auto since = args.number("--since", 0, UINT64_MAX)) request.set_since_sequence(*since);
  if (auto realm = args.value("--realm")) request.set_realm(realm_resource(*realm));
  if (auto types = args.value("--type")) {
    for (const auto& item : split_list(*types)) {
      if (auto type = parse_event_type(item)) {
        request.add_types(*type);
      } else {
        args.fail("--type: expected a list of " + std::string(kEventTypes) + ", got \"" + item +
                  "\"");
      }
    }
  }
  if (args.failed()) return usage_error(args.error());

  Interrupts interrupts;  // before the channel: gRPC's threads inherit the signal mask
  auto stub = v1::RegistrationService::NewStub(session.channel());
  auto context = session.context(/*with_deadline=*/false);
  interrupts.cancel_on_signal(context.get());

  bool received = false;
  bool output_closed = false;
  uint64_t last_sequence = request.has_since_sequence() ? request.since_sequence() : 0;
  v1::RegistrationEvent event;
  auto reader = stub->WatchRegistrations(context.get(), request);
  while (reader->Read(&event)) {
    if (session.json()) {
      print_json(event);
    } else {
      std::cout << event_line(event) << std::endl;
    }
    received = true;
    if (event.type() != v1::RegistrationEvent::AUTH_FAILED) last_sequence = event.sequence();
    // stdout closed (`sbctl watch | head -3` when SIGPIPE is ignored): nobody reads any more.
    if (!std::cout) {
      context->TryCancel();
      output_closed = true;
    }
  }
  grpc::Status status = reader->Finish();
  if (interrupts.stop() || output_closed) return kExitOk;

  std::string resume = received || request.has_since_sequence()
                           ? "resume with: sbctl watch --since " + std::to_string(last_sequence)
                           : std::string();
  if (status.ok()) {
    std::cerr << "sbctl: the server ended the stream" << (resume.empty() ? "" : "; ") << resume
              << std::endl;
    return kExitUnreachable;
  }
  return report_rpc_error(status, status.error_code() == grpc::StatusCode::OUT_OF_RANGE
                                      ? std::string_view()
                                      : std::string_view(resume));
}

}  // namespace sbctl
