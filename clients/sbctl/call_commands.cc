// sbctl call create|get|list|hangup|dtmf|watch|answer|reject — CallService.
//
// Calls are named "calls/{id}"; every command also takes the bare id.
// Human output: one line per call
//   calls/c0123… OUTBOUND RINGING sip:alice@acme.example 180 Ringing (branches 2)
// (get: every field, one per line); --json: the message, one object per line.
#include <google/protobuf/duration.pb.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "clients/sbctl/commands.h"
#include "clients/sbctl/exit_codes.h"
#include "clients/sbctl/interrupts.h"
#include "clients/sbctl/names.h"
#include "clients/sbctl/output.h"
#include "clients/sbctl/rpc_error.h"
#include "switchboard/v1/call.grpc.pb.h"

namespace sbctl {
namespace {

namespace v1 = ::switchboard::v1;

constexpr std::string_view kStates = "trying, ringing, answered, ended";
constexpr std::string_view kEventTypes =
    "created, trying, ringing, answered, updated, dtmf, ended, incoming";

// "c0123…" or "calls/c0123…" → "calls/c0123…".
std::string call_resource(std::string_view id) {
  if (id.rfind("calls/", 0) == 0) return std::string(id);
  return "calls/" + std::string(id);
}

std::string end_reason_name(v1::Call::EndReason reason) {
  return v1::Call::EndReason_Name(reason);
}

std::string duration_text(const google::protobuf::Duration& d) {
  if (d.seconds() == 0 && d.nanos() == 0) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1fs", double(d.seconds()) + d.nanos() / 1e9);
  return buf;
}

// calls/c… OUTBOUND RINGING sip:alice@acme.example 180 Ringing [HANGUP_API 12.3s]
std::string call_line(const v1::Call& c) {
  std::string line = c.name() + " " + v1::Call::Direction_Name(c.direction()) + " " +
                     call_state_name(c.state()) + " " + or_dash(c.to());
  if (c.direction() == v1::Call::INBOUND) line += " from " + or_dash(c.from());
  if (c.sip_status() != 0) line += " " + std::to_string(c.sip_status()) + " " + c.sip_reason();
  if (c.end_reason() != v1::Call::END_REASON_UNSPECIFIED)
    line += " " + end_reason_name(c.end_reason());
  if (c.has_duration()) line += " " + duration_text(c.duration());
  return line;
}

void print_call(const Session& session, const v1::Call& c) {
  if (session.json()) return print_json(c);
  std::cout << call_line(c) << std::endl;
}

void print_call_fields(const Session& session, const v1::Call& c) {
  if (session.json()) return print_json(c);
  std::vector<std::string> headers;
  for (const auto& [name, value] : c.headers()) headers.push_back(name + ": " + value);
  std::sort(headers.begin(), headers.end());
  print_fields(std::cout,
               {{"name", c.name()},
                {"direction", v1::Call::Direction_Name(c.direction())},
                {"state", call_state_name(c.state())},
                {"realm", or_dash(c.realm())},
                {"to", or_dash(c.to())},
                {"from", c.from_display_name().empty()
                             ? or_dash(c.from())
                             : quoted(c.from_display_name()) + " " + or_dash(c.from())},
                {"aor", or_dash(c.aor())},
                {"sip-auth-username", or_dash(c.sip_auth_username())},
                {"sip-call-id", or_dash(c.sip_call_id())},
                {"branches", std::to_string(c.branches())},
                {"answered-binding", or_dash(c.answered_binding())},
                {"answered-contact", or_dash(c.answered_contact())},
                {"sip-status", c.sip_status() == 0
                                   ? std::string("-")
                                   : std::to_string(c.sip_status()) + " " + c.sip_reason()},
                {"end-reason", c.end_reason() == v1::Call::END_REASON_UNSPECIFIED
                                   ? std::string("-")
                                   : end_reason_name(c.end_reason())},
                {"end-detail", or_dash(c.end_detail())},
                {"created", format_time(c.create_time())},
                {"ringing", format_time(c.ring_time())},
                {"answered", format_time(c.answer_time())},
                {"ended", format_time(c.end_time())},
                {"duration", duration_text(c.duration())},
                {"request-id", or_dash(c.request_id())},
                {"headers", headers.empty() ? "-" : join(headers, "; ")},
                {"local-sdp", c.local_sdp().empty() ? "-" : std::to_string(c.local_sdp().size()) + " bytes"},
                {"remote-sdp", c.remote_sdp().empty() ? "-" : std::to_string(c.remote_sdp().size()) + " bytes"}});
}

// The contents of FILE ("-": standard input); false with a usage error in `args`.
bool read_sdp(Args& args, std::string& out) {
  auto file = args.value("--sdp");
  if (!file) return true;
  std::ostringstream text;
  if (*file == "-") {
    text << std::cin.rdbuf();
  } else {
    std::ifstream in(*file, std::ios::binary);
    if (!in) {
      args.fail("--sdp: cannot read " + *file);
      return false;
    }
    text << in.rdbuf();
  }
  out = text.str();
  return true;
}

int call_create(Session& session, Args& args) {
  args.expect_words(2,
                    "call create --to URI [--sip-auth-username U --sip-auth-password-stdin] "
                    "[--from URI] [--from-name NAME] [--sdp FILE] [--header 'X-Name: value']... "
                    "[--request-id ID] [--wait none|ringing|answered] [--timeout SECONDS]");
  args.allow_only({"--to", "--sip-auth-username", "--sip-auth-password-stdin", "--from",
                   "--from-name", "--sdp", "--header", "--request-id", "--wait"});
  v1::CreateCallRequest request;
  if (auto to = args.value("--to")) {
    request.set_to(*to);
  } else {
    args.fail("call create: --to URI is required (sip:alice@acme.example)");
  }
  if (auto user = args.value("--sip-auth-username")) request.set_sip_auth_username(*user);
  if (args.flag("--sip-auth-password-stdin") != args.has("--sip-auth-username"))
    args.fail("--sip-auth-username and --sip-auth-password-stdin go together");
  request.set_from(args.value("--from").value_or(""));
  request.set_from_display_name(args.value("--from-name").value_or(""));
  request.set_request_id(args.value("--request-id").value_or(""));
  for (const std::string& header : args.values("--header")) {
    size_t colon = header.find(':');
    if (colon == std::string::npos || colon == 0) {
      args.fail("--header: expected 'X-Name: value', got \"" + header + "\"");
      continue;
    }
    std::string name = header.substr(0, colon);
    std::string value = header.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.erase(0, 1);
    (*request.mutable_headers())[name] = value;
  }
  if (auto wait = args.value("--wait")) {
    if (auto w = parse_wait_for(*wait)) {
      request.set_wait_for(*w);
    } else {
      args.fail("--wait: expected none, ringing or answered, got \"" + *wait + "\"");
    }
  }
  // In `call create`, --timeout is the ring timeout (1-600 s, default 60); the
  // call's own deadline follows from it.
  uint64_t ring_seconds = 60;
  if (args.has("--timeout")) {
    if (auto t = args.number("--timeout", 1, 600)) {
      ring_seconds = *t;
      request.mutable_ring_timeout()->set_seconds(int64_t(*t));
    }
  }
  std::string sdp;
  if (read_sdp(args, sdp)) request.set_sdp_offer(sdp);
  if (args.flag("--sip-auth-password-stdin") && !args.failed()) {
    std::string password;
    std::getline(std::cin, password);
    if (!password.empty() && password.back() == '\r') password.pop_back();
    if (password.empty()) args.fail("--sip-auth-password-stdin: no password on standard input");
    request.set_sip_auth_password(password);
  }
  if (args.failed()) return usage_error(args.error());

  const bool waiting = request.wait_for() == v1::CreateCallRequest::RINGING ||
                       request.wait_for() == v1::CreateCallRequest::ANSWERED;
  Interrupts interrupts;  // before the channel: gRPC's threads inherit the signal mask
  auto stub = v1::CallService::NewStub(session.channel());
  auto context = session.context(/*with_deadline=*/false);
  // The global --timeout is taken by the ring timeout here: the default 10 s
  // deadline then applies, plus the ring timeout when waiting.
  const double base = args.has("--timeout") ? 10.0 : session.options().timeout_seconds;
  const double seconds = waiting ? double(ring_seconds) + base : base;
  context->set_deadline(std::chrono::system_clock::now() +
                        std::chrono::milliseconds(int64_t(seconds * 1000)));
  if (waiting) interrupts.cancel_on_signal(context.get());
  v1::Call call;
  grpc::Status status = stub->CreateCall(context.get(), request, &call);
  if (interrupts.stop()) {
    std::cerr << "sbctl: interrupted; the call (if it was created) goes on: sbctl call list "
                 "shows it, sbctl call hangup ends it"
              << std::endl;
    return kExitOk;
  }
  if (!status.ok()) return report_rpc_error(status);
  print_call(session, call);
  return kExitOk;
}

int call_get(Session& session, Args& args) {
  args.expect_words(3, "call get NAME|ID");
  args.allow_only({});
  if (args.failed()) return usage_error(args.error());
  auto stub = v1::CallService::NewStub(session.channel());
  v1::GetCallRequest request;
  request.set_name(call_resource(args.word(2)));
  v1::Call call;
  grpc::Status status = stub->GetCall(session.context().get(), request, &call);
  if (!status.ok()) return report_rpc_error(status);
  print_call_fields(session, call);
  return kExitOk;
}

int call_list(Session& session, Args& args) {
  args.expect_words(2, "call list [--realm R] [--state trying|ringing|answered|ended]");
  args.allow_only({"--realm", "--state"});
  v1::ListCallsRequest request;
  if (auto realm = args.value("--realm")) request.set_realm(realm_resource(*realm));
  if (auto state = args.value("--state")) {
    if (auto s = parse_call_state(*state)) {
      request.set_state(*s);
    } else {
      args.fail("--state: expected one of " + std::string(kStates) + ", got \"" + *state + "\"");
    }
  }
  if (args.failed()) return usage_error(args.error());

  auto stub = v1::CallService::NewStub(session.channel());
  v1::ListCallsResponse all;
  do {
    v1::ListCallsResponse page;
    grpc::Status status = stub->ListCalls(session.context().get(), request, &page);
    if (!status.ok()) return report_rpc_error(status);
    for (auto& c : *page.mutable_calls()) *all.add_calls() = std::move(c);
    request.set_page_token(page.next_page_token());
  } while (!request.page_token().empty());

  if (session.json()) {
    print_json(all);
    return kExitOk;
  }
  Table table({"NAME", "DIRECTION", "STATE", "TO", "FROM", "STATUS", "END", "CREATED", "DURATION"});
  for (const auto& c : all.calls()) {
    table.add({c.name(), v1::Call::Direction_Name(c.direction()), call_state_name(c.state()),
               or_dash(c.to()), or_dash(c.from()),
               c.sip_status() == 0 ? "-" : std::to_string(c.sip_status()),
               c.end_reason() == v1::Call::END_REASON_UNSPECIFIED ? "-"
                                                                  : end_reason_name(c.end_reason()),
               format_time(c.create_time()), duration_text(c.duration())});
  }
  table.print(std::cout);
  return kExitOk;
}

int call_hangup(Session& session, Args& args) {
  args.expect_words(3, "call hangup NAME|ID");
  args.allow_only({});
  if (args.failed()) return usage_error(args.error());
  auto stub = v1::CallService::NewStub(session.channel());
  v1::HangupCallRequest request;
  request.set_name(call_resource(args.word(2)));
  v1::Call call;
  grpc::Status status = stub->HangupCall(session.context().get(), request, &call);
  if (!status.ok()) return report_rpc_error(status);
  print_call(session, call);
  return kExitOk;
}

int call_dtmf(Session& session, Args& args) {
  args.expect_words(4, "call dtmf NAME|ID DIGITS [--duration MS]");
  args.allow_only({"--duration"});
  v1::SendDtmfRequest request;
  request.set_name(call_resource(args.word(2)));
  request.set_digits(args.word(3));
  if (auto ms = args.number("--duration", 100, 5000)) {
    request.mutable_duration()->set_seconds(int64_t(*ms / 1000));
    request.mutable_duration()->set_nanos(int32_t(*ms % 1000) * 1'000'000);
  }
  if (args.failed()) return usage_error(args.error());
  auto stub = v1::CallService::NewStub(session.channel());
  v1::Call call;
  grpc::Status status = stub->SendDtmf(session.context().get(), request, &call);
  if (!status.ok()) return report_rpc_error(status);
  print_call(session, call);
  return kExitOk;
}

int call_answer(Session& session, Args& args) {
  args.expect_words(3, "call answer NAME|ID [--sdp FILE]");
  args.allow_only({"--sdp"});
  v1::AnswerCallRequest request;
  request.set_name(call_resource(args.word(2)));
  std::string sdp;
  if (read_sdp(args, sdp)) request.set_sdp_answer(sdp);
  if (args.failed()) return usage_error(args.error());
  auto stub = v1::CallService::NewStub(session.channel());
  v1::Call call;
  grpc::Status status = stub->AnswerCall(session.context().get(), request, &call);
  if (!status.ok()) return report_rpc_error(status);
  print_call(session, call);
  return kExitOk;
}

int call_reject(Session& session, Args& args) {
  args.expect_words(3, "call reject NAME|ID [--status 400-699]");
  args.allow_only({"--status"});
  v1::RejectCallRequest request;
  request.set_name(call_resource(args.word(2)));
  if (auto s = args.number("--status", 400, 699)) request.set_sip_status(int32_t(*s));
  if (args.failed()) return usage_error(args.error());
  auto stub = v1::CallService::NewStub(session.channel());
  v1::Call call;
  grpc::Status status = stub->RejectCall(session.context().get(), request, &call);
  if (!status.ok()) return report_rpc_error(status);
  print_call(session, call);
  return kExitOk;
}

// #7 2026-11-26T10:00:00Z RINGING calls/c… OUTBOUND RINGING sip:alice@acme.example 180 Ringing
std::string event_line(const v1::CallEvent& e) {
  std::string line = "#" + std::to_string(e.sequence()) + " " + format_time(e.time()) + " " +
                     call_event_type_name(e.type()) + " " + call_line(e.call());
  if (e.type() == v1::CallEvent::DTMF) line += " digit " + e.digit();
  return line;
}

int call_watch(Session& session, Args& args) {
  args.expect_words(2, "call watch [--realm R] [--types incoming,ended,…] [--call ID]");
  args.allow_only({"--realm", "--types", "--type", "--call"});
  v1::WatchCallsRequest request;
  if (auto realm = args.value("--realm")) request.set_realm(realm_resource(*realm));
  if (auto call = args.value("--call")) request.set_call(call_resource(*call));
  for (const char* option : {"--types", "--type"}) {
    auto types = args.value(option);
    if (!types) continue;
    for (const auto& item : split_list(*types)) {
      if (auto type = parse_call_event_type(item)) {
        request.add_types(*type);
      } else {
        args.fail(std::string(option) + ": expected a list of " + std::string(kEventTypes) +
                  ", got \"" + item + "\"");
      }
    }
  }
  if (args.failed()) return usage_error(args.error());

  Interrupts interrupts;  // before the channel: gRPC's threads inherit the signal mask
  auto stub = v1::CallService::NewStub(session.channel());
  auto context = session.context(/*with_deadline=*/false);
  interrupts.cancel_on_signal(context.get());

  bool output_closed = false;
  v1::CallEvent event;
  auto reader = stub->WatchCalls(context.get(), request);
  while (reader->Read(&event)) {
    if (session.json()) {
      print_json(event);
    } else {
      std::cout << event_line(event) << std::endl;
    }
    if (!std::cout) {
      context->TryCancel();
      output_closed = true;
    }
  }
  grpc::Status status = reader->Finish();
  if (interrupts.stop() || output_closed) return kExitOk;
  if (status.ok()) {
    std::cerr << "sbctl: the server ended the stream" << std::endl;
    return kExitUnreachable;
  }
  return report_rpc_error(status);
}

}  // namespace

int run_call_command(Session& session, Args& args) {
  const std::string verb = args.word(1);
  if (verb == "create") return call_create(session, args);
  if (verb == "get") return call_get(session, args);
  if (verb == "list") return call_list(session, args);
  if (verb == "hangup") return call_hangup(session, args);
  if (verb == "dtmf") return call_dtmf(session, args);
  if (verb == "watch") return call_watch(session, args);
  if (verb == "answer") return call_answer(session, args);
  if (verb == "reject") return call_reject(session, args);
  return usage_error("call: expected create, get, list, hangup, dtmf, watch, answer or reject" +
                     (verb.empty() ? std::string() : ", got \"" + verb + "\""));
}

}  // namespace sbctl
