// gateway/calls/inbound_call.cc — a registered device calls: its INVITE is
// checked and authenticated on the worker thread that received it (cheap
// rejects before any call state exists), then offered to the API on the
// engine thread (180 + INCOMING), answered (200, retransmitted until the ACK,
// §13.3.1.4) or rejected, or canceled by the device.
#include <algorithm>

#include "gateway/calls/engine_impl.h"
#include "registrar/authenticator.h"
#include "registrar/location_service.h"
#include "registrar/store/credential_store.h"
#include "sip/lex.h"
#include "sip/parser.h"
#include "sip/response.h"

namespace switchboard::calls {
namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

constexpr std::string_view kAllow = "INVITE, ACK, CANCEL, BYE, INFO, UPDATE, OPTIONS";

CallResult error(CallError code, std::string reason, std::string message) {
  return CallResult{code, std::move(message), std::move(reason), {}};
}

// How a CANCEL finds the INVITE it cancels (§9.2): the top Via's branch and
// sent-by for RFC 3261 clients, else Call-ID, From tag, CSeq number and
// Request-URI. The CANCEL carries the same values as its INVITE.
std::string cancel_key(const sip::Message& m) {
  if (!m.top_via() || !m.cseq()) return {};
  const sip::Via& via = *m.top_via();
  std::string key;
  auto add = [&key](std::string_view part) {
    key.append(std::to_string(part.size())).push_back(':');
    key.append(part);
  };
  if (via.rfc3261_branch()) {
    add("3261");
    add(via.branch());
    std::string sent_by(via.sent_by());
    std::transform(sent_by.begin(), sent_by.end(), sent_by.begin(),
                   [](char c) { return sip::lex::to_lower(c); });
    add(sent_by);
  } else {
    add("2543");
    add(m.call_id());
    add(m.from() ? m.from()->tag() : std::string_view());
    add(std::to_string(m.cseq()->seq));
    add(m.request_uri().text);
  }
  return key;
}

bool is_sdp(const sip::Message& m) {
  std::string_view type = sip::lex::trim_lws(m.content_type());
  type = type.substr(0, type.find(';'));
  return !m.body().empty() && sip::lex::iequals(sip::lex::trim_lws(type), "application/sdp");
}

// The user part of an AOR key "user@domain".
std::string_view aor_user(std::string_view aor) { return aor.substr(0, aor.rfind('@')); }

// The caller's From must be the authenticated user (or one of its aliases),
// in the realm — the rule registrar.cc applies to a REGISTER's To.
bool caller_matches(const registrar::Realm& realm, std::string_view username,
                    const sip::Uri& from) {
  if (!sip::lex::iequals(from.host_address(), realm.name)) return false;
  std::string aor = sip::aor_key(from);
  std::string_view user = aor_user(aor);
  std::string_view base = username.substr(0, username.find('@'));
  if (user == username || user == base) return true;
  auto it = realm.aliases.find(std::string(base));
  if (it == realm.aliases.end()) return false;
  return std::find(it->second.begin(), it->second.end(), user) != it->second.end();
}

}  // namespace

// Worker thread: every request for the engine passes here.
void CallEngine::Impl::handle(const sip::Message& request, const sip::transport::Source& source,
                              Reply reply) {
  const bool initial_invite = request.method_id() == sip::Method::kInvite &&
                              (!request.to() || request.to()->tag().empty());
  if (!initial_invite) {
    // Everything else concerns existing calls: to the engine thread, as bytes.
    post_sip([this, raw = std::string(request.bytes()), source, reply = std::move(reply)]() mutable {
      on_request_here(raw, source, std::move(reply));
    });
    return;
  }

  auto respond = [&](int status, std::string_view reason, const Headers& extra = {}) {
    sip::ResponseBuilder b = reply.response(request, status, reason);
    b.to_tag(deps_.tags());
    for (const auto& [name, value] : extra) b.header(name, value);
    if (!options_.user_agent.empty()) b.header("Server", options_.user_agent);
    reply.send(b.build());
  };
  const Headers retry_after = {{"Retry-After", std::to_string(options_.retry_after_seconds)}};
  // Cheap, stateless refusals first.
  if (stopping_ || draining_ || shut_down_) return respond(503, "Service Unavailable", retry_after);
  if (active_.load(std::memory_order_relaxed) >= options_.max_calls)
    return respond(503, "Service Unavailable", retry_after);
  const sip::Uri& ruri = request.request_uri();
  if (!ruri.is_sip()) return respond(416, "");
  std::optional<registrar::Realm> realm = deps_.credentials->find_realm(ruri.host_address());
  if (!realm) return respond(404, "Not Found");
  if (!request.from() || !request.from()->uri.is_sip() || request.from()->tag().empty())
    return respond(400, "From must be a SIP URI with a tag");
  if (request.contact_count() == 0) return respond(400, "Missing Contact");
  if (!deps_.authenticator) return respond(500, "Server Internal Error");

  // Authenticated like a REGISTER (401 or 407 per realm, or a trusted CIDR).
  registrar::AuthResult auth = deps_.authenticator->authenticate(request, *realm, source.remote_ip());
  auto auth_failed = [&] {
    registrar::RegistrationEvent e;
    e.time = wall();
    e.type = registrar::RegistrationEventType::kAuthFailed;
    e.binding.aor = sip::aor_key(request.from()->uri);
    e.binding.realm = realm->name;
    e.binding.username = auth.presented_username;
    e.binding.transport = std::string(sip::transport::protocol_name(source.protocol));
    e.binding.source_ip = source.remote_ip();
    e.binding.source_port = source.remote_port;
    std::string ua(request.header(sip::HeaderId::kUserAgent));
    e.binding.user_agent = ua.substr(0, 256);
    e.reason = "INVITE: " + auth.reason;
    if (deps_.location) deps_.location->notify_auth_failed(e);
  };
  switch (auth.kind) {
    case registrar::AuthResult::kAuthenticated:
      break;
    case registrar::AuthResult::kChallenge: {
      if (auth.failure) auth_failed();
      int status = realm->challenge == registrar::ChallengeMode::k407 ? 407 : 401;
      return respond(status, "", deps_.authenticator->challenge_headers(*realm, auth.stale));
    }
    case registrar::AuthResult::kForbidden:
      auth_failed();
      if (auth.drop) return;
      return respond(403, "Forbidden");
    case registrar::AuthResult::kBadRequest:
      return respond(400, safe_reason(auth.reason, "Bad Request"));
  }
  if (!auth.username.empty() && !caller_matches(*realm, auth.username, request.from()->uri))
    return respond(403, "From does not match the authenticated user");

  InboundOffer offer{std::string(request.bytes()), source, std::move(reply), realm->name,
                     auth.username};
  post_sip([this, offer = std::move(offer)]() mutable { on_inbound_invite(std::move(offer)); });
}

void CallEngine::Impl::on_inbound_invite(InboundOffer offer) {
  sip::ParseResult parsed = sip::parse_message(offer.raw);
  if (!parsed.ok()) return;
  sip::Message& invite = parsed.message();
  auto refuse = [&](int status, std::string_view reason, const Headers& extra = {}) {
    sip::ResponseBuilder b = offer.reply.response(invite, status, reason);
    b.to_tag(tag());
    for (const auto& [name, value] : extra) b.header(name, value);
    if (!options_.user_agent.empty()) b.header("Server", options_.user_agent);
    offer.reply.send(b.build());
  };
  const Headers retry_after = {{"Retry-After", std::to_string(options_.retry_after_seconds)}};
  if (stopping_ || draining_) return refuse(503, "Service Unavailable", retry_after);
  if (active_.load(std::memory_order_relaxed) >= options_.max_calls)
    return refuse(503, "Service Unavailable", retry_after);
  std::string key = cancel_key(invite);
  if (key.empty()) return refuse(400, "Bad Request");
  // The same INVITE again (it reached another worker, so no transaction
  // absorbed it): the first one is being handled.
  if (by_cancel_key_.count(key)) return;

  const std::string local_tag = tag();
  std::optional<Dialog> dialog = dialog_from_invite(invite, local_tag);
  std::optional<Leg> leg = leg_for_source(offer.source);
  if (!dialog || !leg) return refuse(400, "Bad Request");
  dialog->flow = leg->flow;
  dialog->via_transport = leg->via_transport;
  dialog->sent_by = leg->sent_by;
  dialog->local_contact = leg->contact;

  CallInfo info;
  info.id = ids_.next(wall());
  info.direction = Direction::kInbound;
  info.state = CallState::kRinging;
  info.realm = offer.realm;
  info.to_uri = invite.to() ? std::string(invite.to()->uri.text) : std::string();
  info.from_uri = std::string(invite.from()->uri.text);
  info.from_display = sip::sanitize_header_value(invite.from()->display_name_text(), 256);
  info.aor = sip::aor_key(invite.from()->uri);
  info.username = offer.username;
  info.sip_call_id = std::string(invite.call_id());
  if (is_sdp(invite))
    info.remote_sdp = std::string(invite.body().substr(0, std::min(invite.body().size(), kMaxSdpBytes)));
  info.create_time = wall();
  info.ring_time = info.create_time;
  for (const sip::HeaderField& h : invite.headers()) {
    if (info.custom_headers.size() >= kMaxCustomHeaders) break;
    if (h.name.size() > 2 && sip::lex::iequals(h.name.substr(0, 2), "X-"))
      info.custom_headers.emplace_back(sip::sanitize_header_name(h.name),
                                       sip::sanitize_header_value(h.value, kMaxHeaderValue));
  }

  const std::string id = info.id;
  Call& call = add_call(std::move(info));
  call.invite = std::move(invite);
  call.reply = std::move(offer.reply);
  call.source = offer.source;
  call.local_tag = local_tag;
  call.cancel_key = key;
  by_cancel_key_[key] = id;
  call.dialog = std::move(*dialog);
  by_dialog_[call.dialog->key()] = id;

  if (!wants_incoming(call.info.realm)) {
    inbound_final(call, 480, "Temporarily Unavailable");
    end_call(call, EndReason::kNoConsumer, 480, "Temporarily Unavailable",
             "nobody is watching for incoming calls");
    return;
  }
  sip::ResponseBuilder ringing = call.reply.response(*call.invite, 180);
  ringing.to_tag(local_tag).header("Contact", call.dialog->local_contact);
  call.reply.send(ringing.build());
  // The timer first: a subscriber may react to the event at once.
  call.ring_timer = timers_q_.schedule(now() + options_.inbound_ring_timeout,
                                       [this, id] { inbound_ring_timeout(id); });
  emit(call, CallEventType::kIncoming);
}

void CallEngine::Impl::inbound_final(Call& call, int status, std::string_view reason,
                                     std::vector<std::pair<std::string, std::string>> headers) {
  if (!call.invite || call.final_sent) return;
  call.final_sent = true;
  sip::ResponseBuilder b = call.reply.response(*call.invite, status, reason);
  b.to_tag(call.local_tag);
  for (const auto& [name, value] : headers) b.header(name, value);
  if (!options_.user_agent.empty()) b.header("Server", options_.user_agent);
  call.reply.send(b.build());
}

void CallEngine::Impl::inbound_ring_timeout(const std::string& id) {
  Call* call = find(id);
  if (!call || call->ended()) return;
  call->ring_timer = 0;
  if (call->final_sent) return;
  inbound_final(*call, 480, "Temporarily Unavailable");
  end_call(*call, EndReason::kTimeout, 480, "Temporarily Unavailable",
           "not answered within the inbound ring timeout");
}

std::string CallEngine::Impl::ok_with_sdp(const sip::Message& request, const Reply& reply,
                                          const Call& call) {
  sip::ResponseBuilder b = reply.response(request, 200);
  b.to_tag(call.local_tag);
  // §12.1.1: a dialog-creating response copies the Record-Route set.
  if (!request.to() || request.to()->tag().empty()) {
    for (const std::string& rr : record_route_values(request)) b.header("Record-Route", rr);
  }
  if (call.dialog) b.header("Contact", call.dialog->local_contact);
  b.header("Allow", kAllow);
  if (!options_.user_agent.empty()) b.header("Server", options_.user_agent);
  if (!call.info.local_sdp.empty()) b.body("application/sdp", call.info.local_sdp);
  return b.build();
}

void CallEngine::Impl::answer_call(const std::string& id, std::string sdp, CallEngine::Done done) {
  Call* call = find(id);
  if (!call) return done(error(CallError::kNotFound, "CALL_NOT_FOUND", "no such call"));
  if (call->outbound() || call->ended() || call->final_sent || !call->invite)
    return done(CallResult{CallError::kFailedPrecondition, "only a ringing inbound call can be answered",
                           "WRONG_STATE", call->info});
  if (sdp.size() > kMaxSdpBytes)
    return done(error(CallError::kInvalidArgument, "TOO_LARGE", "sdp_answer is too large"));
  if (sdp.empty() && !call->info.remote_sdp.empty())
    return done(error(CallError::kInvalidArgument, "SDP_REQUIRED",
                      "the INVITE carried an SDP offer: sdp_answer is required"));
  if (call->answer_waiters.size() >= kMaxWaiters)
    return done(error(CallError::kResourceExhausted, "TOO_MANY_WAITERS", "too many requests"));
  call->info.local_sdp = std::move(sdp);
  std::string ok = ok_with_sdp(*call->invite, call->reply, *call);
  call->final_sent = true;
  timers_q_.cancel(call->ring_timer);
  call->ring_timer = 0;
  // The retransmission timer starts before the 200 leaves: its clock must
  // not be read after the device could have reacted.
  start_ok_retransmit(*call, ok, call->invite->cseq()->seq, true, call->reply.destination());
  call->reply.send(std::move(ok));
  // Done when the ACK confirms the dialog (ANSWERED), or fails with the call.
  call->answer_waiters.push_back(std::move(done));
}

void CallEngine::Impl::reject_call(const std::string& id, int status, CallEngine::Done done) {
  Call* call = find(id);
  if (!call) return done(error(CallError::kNotFound, "CALL_NOT_FOUND", "no such call"));
  if (status < 400 || status > 699)
    return done(error(CallError::kInvalidArgument, "BAD_STATUS", "sip_status must be 400..699"));
  if (call->outbound() || call->ended() || call->final_sent || !call->invite)
    return done(CallResult{CallError::kFailedPrecondition, "only a ringing inbound call can be rejected",
                           "WRONG_STATE", call->info});
  std::string reason(sip::default_reason(status));
  if (reason.empty()) reason = "Rejected";
  inbound_final(*call, status, reason);
  end_call(*call, EndReason::kRejected, status, reason, "rejected by the API");
  done(result(*call));
}

void CallEngine::Impl::on_cancel(const sip::Message& cancel, Reply reply) {
  std::string key = cancel_key(cancel);
  auto it = key.empty() ? by_cancel_key_.end() : by_cancel_key_.find(key);
  Call* call = it == by_cancel_key_.end() ? nullptr : find(it->second);
  if (!call) {
    reply.send(reply.response(cancel, 481, "Call/Transaction Does Not Exist").to_tag(tag()).build());
    return;
  }
  // §9.2: the CANCEL is answered 200 in any case; the INVITE gets 487 if it
  // had no final response yet.
  reply.send(reply.response(cancel, 200).to_tag(call->local_tag).build());
  if (call->ended() || call->final_sent) return;
  inbound_final(*call, 487, "Request Terminated");
  end_call(*call, EndReason::kHangupRemote, 487, "Request Terminated", "the caller canceled");
}

void CallEngine::Impl::start_ok_retransmit(Call& call, std::string bytes, uint32_t cseq,
                                           bool initial, const sip::transport::Source& to) {
  stop_ok_retransmit(call);
  call.ok_bytes = std::move(bytes);
  call.ok_cseq = cseq;
  call.ok_initial = initial;
  call.ok_destination = to;
  call.ok_interval = timers_.t1;
  call.ok_deadline = now() + 64 * timers_.t1;
  std::string id = call.info.id;
  // Over TCP the transport delivers it; only the wait for the ACK remains.
  TimePoint at = to.reliable() ? call.ok_deadline : now() + timers_.t1;
  call.ok_timer = timers_q_.schedule(at, [this, id] { on_ok_timer(id); });
}

void CallEngine::Impl::stop_ok_retransmit(Call& call) {
  timers_q_.cancel(call.ok_timer);
  call.ok_timer = 0;
  call.ok_bytes.clear();
  call.ok_cseq = 0;
}

void CallEngine::Impl::on_ok_timer(const std::string& id) {
  Call* call = find(id);
  if (!call || call->ok_bytes.empty()) return;
  call->ok_timer = 0;
  if (now() >= call->ok_deadline) {
    // §13.3.1.4: no ACK within 64*T1 — the dialog is confirmed but the
    // session is over: BYE.
    bool initial = call->ok_initial;
    stop_ok_retransmit(*call);
    send_bye(*call);
    if (initial || !call->ended())
      end_call(*call, EndReason::kError, 0, "", "no ACK for our 2xx");
    return;
  }
  send(call->ok_destination, call->ok_bytes);
  // Intervals T1, 2*T1, 4*T1 … capped at T2 (§13.3.1.4).
  call->ok_interval = std::min<Duration>(call->ok_interval * 2, timers_.t2);
  TimePoint at = std::min(now() + call->ok_interval, call->ok_deadline);
  call->ok_timer = timers_q_.schedule(at, [this, id] { on_ok_timer(id); });
}

}  // namespace switchboard::calls
