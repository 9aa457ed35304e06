// gateway/calls/in_dialog.cc — requests inside a dialog (RFC 3261 §12.2),
// both ways: the device's ACK, BYE, INFO (DTMF), re-INVITE / UPDATE
// (answered with our last SDP), OPTIONS; and our BYE and DTMF INFOs.
#include <algorithm>

#include "gateway/calls/dtmf_relay.h"
#include "gateway/calls/engine_impl.h"
#include "sip/lex.h"
#include "sip/parser.h"
#include "sip/response.h"

namespace switchboard::calls {
namespace {

constexpr std::string_view kAllow = "INVITE, ACK, CANCEL, BYE, INFO, UPDATE, OPTIONS";

CallResult error(CallError code, std::string reason, std::string message) {
  return CallResult{code, std::move(message), std::move(reason), {}};
}

std::string_view media_type(const sip::Message& m) {
  std::string_view type = sip::lex::trim_lws(m.content_type());
  return sip::lex::trim_lws(type.substr(0, type.find(';')));
}

bool is_sdp(const sip::Message& m) {
  return !m.body().empty() && sip::lex::iequals(media_type(m), "application/sdp");
}

std::string bounded_body(const sip::Message& m) {
  std::string_view b = m.body();
  return std::string(b.substr(0, std::min(b.size(), kMaxSdpBytes)));
}

}  // namespace

void CallEngine::Impl::on_request_here(const std::string& raw, const sip::transport::Source& source,
                                       Reply reply) {
  sip::ParseResult parsed = sip::parse_message(raw);
  if (!parsed.ok() || !parsed.message().is_request()) return;  // it parsed on the worker
  const sip::Message& request = parsed.message();
  switch (request.method_id()) {
    case sip::Method::kAck:
      return on_ack(request);
    case sip::Method::kCancel:
      return on_cancel(request, std::move(reply));
    default:
      return on_in_dialog(request, std::move(reply));
  }
}

Call* CallEngine::Impl::find_dialog(const sip::Message& request) {
  if (!request.to() || !request.from()) return nullptr;
  // Requests from the peer: our tag is in To, theirs in From.
  auto it = by_dialog_.find(dialog_key(request.call_id(), request.to()->tag(), request.from()->tag()));
  if (it == by_dialog_.end()) return nullptr;
  return find(it->second);
}

void CallEngine::Impl::on_ack(const sip::Message& ack) {
  Call* call = find_dialog(ack);
  if (!call || call->ok_bytes.empty() || !ack.cseq() || ack.cseq()->seq != call->ok_cseq) return;
  const bool initial = call->ok_initial;
  stop_ok_retransmit(*call);
  // An offer in our 2xx (the INVITE had none) is answered in the ACK.
  if (is_sdp(ack)) call->info.remote_sdp = bounded_body(ack);
  if (!initial || call->ended()) return;
  call->info.state = CallState::kAnswered;
  call->info.answer_time = wall();
  call->info.sip_status = 200;
  call->info.sip_reason = "OK";
  emit(*call, CallEventType::kAnswered);
  std::vector<CallEngine::Done> answers = std::move(call->answer_waiters);
  call->answer_waiters.clear();
  for (auto& done : answers) done(result(*call));
}

void CallEngine::Impl::on_in_dialog(const sip::Message& request, Reply reply) {
  auto respond = [&](int status, std::string_view reason = {},
                     const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    sip::ResponseBuilder b = reply.response(request, status, reason);
    b.to_tag(tag());  // only used when the request had no To tag
    for (const auto& [name, value] : headers) b.header(name, value);
    reply.send(b.build());
  };
  Call* call = find_dialog(request);
  if (!call || call->ended() || !call->dialog)
    return respond(481, "Call/Transaction Does Not Exist");
  Dialog& dialog = *call->dialog;
  if (!request.cseq() || !dialog.accept_remote_cseq(request.cseq()->seq))
    return respond(500, "CSeq Out of Order");

  switch (request.method_id()) {
    case sip::Method::kBye: {
      respond(200);
      // An early BYE (before our final response) also ends the INVITE.
      if (!call->outbound() && !call->final_sent) inbound_final(*call, 487, "Request Terminated");
      end_call(*call, EndReason::kHangupRemote, 0, "", "the device hung up");
      return;
    }
    case sip::Method::kInfo: {
      if (!sip::lex::iequals(media_type(request), kDtmfRelayType)) return respond(200);
      std::optional<DtmfRelay> dtmf = parse_dtmf_relay(request.body());
      if (!dtmf) return respond(400, "Bad dtmf-relay Body");
      respond(200);
      emit(*call, CallEventType::kDtmf, std::string(1, dtmf->signal));
      return;
    }
    case sip::Method::kInvite:
    case sip::Method::kUpdate: {
      const bool invite = request.method_id() == sip::Method::kInvite;
      // §14.2: not while our previous 2xx still waits for its ACK.
      if (invite && !call->ok_bytes.empty())
        return respond(500, "Server Internal Error", {{"Retry-After", "1"}});
      if (call->info.state != CallState::kAnswered)
        return respond(invite ? 491 : 500, invite ? "Request Pending" : "Server Internal Error",
                       {{"Retry-After", "1"}});
      // §12.2.2: a target refresh request updates the remote target.
      request.for_each_contact([&](const sip::NameAddr& na) {
        if (na.uri.is_sip()) dialog.remote_target = std::string(na.uri.text);
      });
      if (!invite && !is_sdp(request)) {
        // An UPDATE without an offer only refreshes the target.
        return respond(200, {}, {{"Contact", dialog.local_contact}});
      }
      if (is_sdp(request)) call->info.remote_sdp = bounded_body(request);
      std::string ok = ok_with_sdp(request, reply, *call);
      if (invite) start_ok_retransmit(*call, ok, request.cseq()->seq, false, reply.destination());
      reply.send(std::move(ok));
      emit(*call, CallEventType::kUpdated);
      return;
    }
    case sip::Method::kOptions:
      return respond(200, {}, {{"Allow", std::string(kAllow)}, {"Accept", "application/sdp"}});
    case sip::Method::kPrack:
      // We never send reliable provisionals (no 100rel): nothing to PRACK.
      return respond(481, "Call/Transaction Does Not Exist");
    default:
      return respond(501, "Not Implemented", {{"Allow", std::string(kAllow)}});
  }
}

void CallEngine::Impl::send_bye(Call& call) {
  if (!call.dialog) return;
  sip::RequestBuilder bye = call.dialog->request("BYE", sip::make_branch(tag()));
  if (!options_.user_agent.empty()) bye.header("User-Agent", options_.user_agent);
  start_tx(call, -1, TxPurpose::kBye, std::move(bye), call.dialog->flow);
}

void CallEngine::Impl::send_dtmf(const std::string& id, const std::string& digits,
                                 std::chrono::milliseconds duration, CallEngine::Done done) {
  Call* call = find(id);
  if (!call) return done(error(CallError::kNotFound, "CALL_NOT_FOUND", "no such call"));
  if (!valid_dtmf_digits(digits))
    return done(error(CallError::kInvalidArgument, "BAD_DIGITS",
                      "digits must be 1..32 of 0-9 * # A-D"));
  if (call->ended() || call->info.state != CallState::kAnswered || !call->dialog)
    return done(CallResult{CallError::kFailedPrecondition, "DTMF needs an answered call",
                           "WRONG_STATE", call->info});
  if (call->dtmf.size() + digits.size() > kMaxQueuedDtmf)
    return done(CallResult{CallError::kResourceExhausted, "too many DTMF digits queued",
                           "DTMF_QUEUE_FULL", call->info});
  if (duration.count() <= 0) duration = std::chrono::milliseconds(250);
  duration = std::clamp(duration, std::chrono::milliseconds(100), std::chrono::milliseconds(5000));
  for (char d : digits) call->dtmf.emplace_back(d, duration);
  pump_dtmf(*call);
  done(result(*call));
}

void CallEngine::Impl::pump_dtmf(Call& call) {
  // One INFO at a time, so that digits arrive in order (§12.2.1.1 CSeqs
  // increase, but a lost UDP INFO would otherwise let the next overtake it).
  if (call.dtmf_in_flight || call.dtmf_paced || call.dtmf.empty() || !call.dialog || call.ended())
    return;
  // Paced like a keypad: the next digit no sooner than the last one's
  // duration plus a gap, so a gateway that plays them as tones (or an IVR
  // that debounces) sees separate presses.
  if (now() < call.dtmf_next_at) {
    call.dtmf_paced = true;
    timers_q_.schedule(call.dtmf_next_at, [this, id = call.info.id] {
      if (Call* c = find(id)) {
        c->dtmf_paced = false;
        pump_dtmf(*c);
      }
    });
    return;
  }
  auto [digit, duration] = call.dtmf.front();
  call.dtmf.pop_front();
  call.dtmf_next_at = now() + duration + kDtmfGap;
  sip::RequestBuilder info = call.dialog->request("INFO", sip::make_branch(tag()));
  info.body(kDtmfRelayType, build_dtmf_relay(digit, duration));
  call.dtmf_in_flight = true;
  start_tx(call, -1, TxPurpose::kInfo, std::move(info), call.dialog->flow);
}

void CallEngine::Impl::on_dialog_response(Call& call, TxPurpose purpose, int status, bool timeout) {
  if (purpose != TxPurpose::kInfo) return;  // a BYE's answer changes nothing: the call has ended
  call.dtmf_in_flight = false;
  // §12.2.1.2: 481 or 408 to a request inside the dialog ends the dialog.
  if ((status == 481 || status == 408 || timeout) && !call.ended()) {
    if (status != 481) send_bye(call);
    end_call(call, EndReason::kError, 0, "",
             "the dialog is gone (INFO got " + std::to_string(status) + ")");
    return;
  }
  pump_dtmf(call);
}

}  // namespace switchboard::calls
