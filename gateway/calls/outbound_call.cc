// gateway/calls/outbound_call.cc — CreateCall: the checks in order (shape,
// drain, realm, credential, idempotency, rate, capacity, bindings), parallel
// forking to every binding, the INVITE responses of each branch, answering a
// device's challenge once, CANCEL, and the best final response when every
// branch failed (RFC 3261 §16.7, applied by a UAC to its own forks).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include <array>
#include <cstring>

#include "gateway/calls/digest_answer.h"
#include "gateway/calls/engine_impl.h"
#include "gateway/sip_server.h"
#include "registrar/digest.h"
#include "registrar/location_service.h"
#include "registrar/store/credential_store.h"
#include "sip/lex.h"
#include "sip/response.h"
#include "sip/uri.h"

namespace switchboard::calls {
namespace {

constexpr std::string_view kAllow = "INVITE, ACK, CANCEL, BYE, INFO, UPDATE, OPTIONS";

CallResult error(CallError code, std::string reason, std::string message) {
  return CallResult{code, std::move(message), std::move(reason), {}};
}

bool is_sdp(const sip::Message& m) {
  std::string_view type = sip::lex::trim_lws(m.content_type());
  type = type.substr(0, type.find(';'));
  return !m.body().empty() && sip::lex::iequals(sip::lex::trim_lws(type), "application/sdp");
}

std::string bounded_body(const sip::Message& m) {
  std::string_view b = m.body();
  return std::string(b.substr(0, std::min(b.size(), kMaxSdpBytes)));
}

// The address the kernel would send from towards `remote`: what a wildcard
// listener (0.0.0.0 / ::) should advertise in Via and Contact. A connected
// UDP socket sends nothing; it only asks the routing table.
std::optional<boost::asio::ip::address> route_source(const boost::asio::ip::address& remote) {
  int family = remote.is_v6() ? AF_INET6 : AF_INET;
  int fd = ::socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::nullopt;
  std::optional<boost::asio::ip::address> out;
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (remote.is_v6()) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(9);
    auto bytes = remote.to_v6().to_bytes();
    std::memcpy(&a->sin6_addr, bytes.data(), bytes.size());
    len = sizeof(sockaddr_in6);
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(9);
    auto bytes = remote.to_v4().to_bytes();
    std::memcpy(&a->sin_addr, bytes.data(), bytes.size());
    len = sizeof(sockaddr_in);
  }
  if (::connect(fd, reinterpret_cast<sockaddr*>(&ss), len) == 0) {
    sockaddr_storage local{};
    socklen_t local_len = sizeof local;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len) == 0) {
      if (local.ss_family == AF_INET6) {
        std::array<unsigned char, 16> b;
        std::memcpy(b.data(), &reinterpret_cast<sockaddr_in6*>(&local)->sin6_addr, 16);
        out = boost::asio::ip::address_v6(b);
      } else if (local.ss_family == AF_INET) {
        std::array<unsigned char, 4> b;
        std::memcpy(b.data(), &reinterpret_cast<sockaddr_in*>(&local)->sin_addr, 4);
        out = boost::asio::ip::address_v4(b);
      }
    }
  }
  ::close(fd);
  return out;
}

// §16.7 step 6, for our own forks: 6xx first; then the lowest class (3xx <
// 4xx < 5xx); responses we made up (408 from Timer B, 503 from the
// transport) only when no device answered at all. Within a class, 408 and
// 487 (they say nothing about the callee) and 401/407 (a challenge we could
// not answer) yield to any other status; ties go to the lowest branch index.
int response_rank(int status, bool synthetic) {
  int rank = status >= 600 ? 0 : (status / 100) * 100;
  if (status == 408 || status == 487) rank += 50;
  if (status == 401 || status == 407) rank += 10;
  if (synthetic) rank += 1000;
  return rank;
}

// Path values as Route values (RFC 3327 §5): the registered Path, in order.
std::vector<std::string> path_routes(std::string_view path) {
  std::vector<std::string> routes;
  sip::for_each_list_element(path, [&](std::string_view v) {
    if (!v.empty() && routes.size() < 16) routes.emplace_back(v);
    return true;
  });
  return routes;
}

sip::RequestBuilder build_invite(const Call& call, const Branch& b, uint32_t cseq,
                                 std::string_view branch_id, std::string_view user_agent,
                                 const std::vector<std::string>& routes) {
  sip::RequestBuilder r("INVITE", b.contact);
  r.via(b.leg.via_transport, b.leg.sent_by, sip::make_branch(branch_id));
  for (const std::string& route : routes) r.route(route);
  r.from(call.info.from_uri, call.info.from_display, call.from_tag)
      .to(call.info.to_uri, "", "")
      .call_id(call.info.sip_call_id)
      .cseq(cseq)
      .contact(b.leg.contact)
      .header("Allow", kAllow);
  if (!user_agent.empty()) r.header("User-Agent", user_agent);
  for (const auto& [name, value] : call.info.custom_headers) r.header(name, value);
  if (!call.info.local_sdp.empty()) r.body("application/sdp", call.info.local_sdp);
  return r;
}

}  // namespace

std::optional<Leg> CallEngine::Impl::leg_for(const registrar::Binding& binding) {
  using sip::transport::Protocol;
  sip::transport::Source flow;
  if (sip::lex::iequals(binding.transport, "udp")) {
    flow.protocol = Protocol::kUdp;
  } else if (sip::lex::iequals(binding.transport, "tcp")) {
    flow.protocol = Protocol::kTcp;
    // A TCP binding is reachable only over the connection it registered on
    // (the device is behind NAT); none known → not reachable.
    if (binding.connection_id == 0) return std::nullopt;
    flow.connection = binding.connection_id;
  } else {
    return std::nullopt;  // TLS/WS listeners do not exist yet
  }
  boost::system::error_code ec;
  flow.remote_address = boost::asio::ip::make_address(binding.source_ip, ec);
  if (ec || binding.source_port == 0) return std::nullopt;
  flow.remote_port = binding.source_port;

  std::optional<sip::transport::ListenAddress> local =
      sip::transport::parse_listen_address(binding.local_address, nullptr);
  if ((!local || local->protocol != flow.protocol) && deps_.sip)
    local = deps_.sip->local_for(flow.protocol, flow.remote_address);
  if (!local || local->protocol != flow.protocol) return std::nullopt;
  flow.local_address = local->address;
  flow.local_port = local->port;
  return leg_for_source(flow);
}

std::optional<Leg> CallEngine::Impl::leg_for_source(const sip::transport::Source& flow) {
  Leg leg;
  leg.flow = flow;
  boost::asio::ip::address advertised = flow.local_address;
  if (advertised.is_unspecified()) {
    std::optional<boost::asio::ip::address> routed = route_source(flow.remote_address);
    if (!routed) return std::nullopt;
    advertised = *routed;
  }
  const bool tcp = flow.protocol == sip::transport::Protocol::kTcp;
  leg.via_transport = tcp ? "TCP" : "UDP";
  leg.sent_by = options_.advertised_host.empty()
                    ? sip::transport::format_host_port(advertised, flow.local_port)
                    : options_.advertised_host + ":" + std::to_string(flow.local_port);
  leg.contact = "<sip:switchboard@" + leg.sent_by + (tcp ? ";transport=tcp>" : ">");
  return leg;
}

bool CallEngine::Impl::rate_allows(const std::string& creator) {
  double rate = options_.create_rate_per_creator;
  double burst = std::max(1.0, options_.create_burst_per_creator);
  if (rate <= 0) return true;
  TimePoint t = now();
  auto it = buckets_.find(creator);
  if (it == buckets_.end()) {
    if (buckets_.size() >= kMaxRateBuckets) {
      // Bounded: forget the buckets that have refilled (they hold no debt).
      for (auto b = buckets_.begin(); b != buckets_.end();) {
        double secs = std::chrono::duration<double>(t - b->second.last).count();
        if (b->second.tokens + secs * rate >= burst) b = buckets_.erase(b);
        else ++b;
      }
      if (buckets_.size() >= kMaxRateBuckets) return false;
    }
    it = buckets_.emplace(creator, Bucket{burst, t}).first;
  }
  Bucket& b = it->second;
  double secs = std::chrono::duration<double>(t - b.last).count();
  b.tokens = std::min(burst, b.tokens + std::max(0.0, secs) * rate);
  b.last = t;
  if (b.tokens < 1.0) return false;
  b.tokens -= 1.0;
  return true;
}

void CallEngine::Impl::create_call(CreateCallRequest request, CallEngine::Done done) {
  // 1. Shape (the API layer checks it too; the engine never trusts it).
  sip::Uri to;
  if (request.to.size() > 2048 || !sip::parse_uri(request.to, to) || !to.is_sip() ||
      to.user.empty() || to.host.empty())
    return done(error(CallError::kInvalidArgument, "INVALID_TO",
                      "`to` must be a sip: URI with a user part"));
  if (!request.from_uri.empty()) {
    sip::Uri from;
    if (request.from_uri.size() > 2048 || !sip::parse_uri(request.from_uri, from) || !from.is_sip())
      return done(error(CallError::kInvalidArgument, "INVALID_FROM", "`from` must be a sip: URI"));
  }
  if (request.from_display.size() > 256 || request.sdp_offer.size() > kMaxSdpBytes)
    return done(error(CallError::kInvalidArgument, "TOO_LARGE",
                      "from_display_name or sdp_offer is too large"));
  if (request.custom_headers.size() > kMaxCustomHeaders)
    return done(error(CallError::kInvalidArgument, "BAD_HEADER", "at most 20 custom headers"));
  for (auto& [name, value] : request.custom_headers) {
    bool token = !name.empty() && name.size() <= 128;
    for (char c : name) token = token && sip::lex::is_token_char(c);
    if (!token || name.size() < 3 || !sip::lex::iequals(name.substr(0, 2), "X-") ||
        value.size() > kMaxHeaderValue)
      return done(error(CallError::kInvalidArgument, "BAD_HEADER",
                        "custom header names must be X- tokens, values at most 1 KiB"));
    value = sip::sanitize_header_value(value, kMaxHeaderValue);
  }
  if (request.sip_auth_username.empty() != request.sip_auth_password.empty())
    return done(error(CallError::kInvalidArgument, "CREDENTIAL_INCOMPLETE",
                      "sip_auth_username and sip_auth_password go together"));
  if (request.sip_auth_username.size() > 256 || request.sip_auth_password.size() > 1024)
    return done(error(CallError::kInvalidArgument, "TOO_LARGE", "credentials are too large"));
  auto ring = request.ring_timeout.count() <= 0 ? std::chrono::seconds(60) : request.ring_timeout;
  ring = std::clamp(ring, std::chrono::seconds(1), std::chrono::seconds(600));

  // 2. Draining.
  if (stopping_ || draining_)
    return done(error(CallError::kUnavailable, "SHUTTING_DOWN", "the server is draining"));

  // 3. A served realm.
  std::optional<registrar::Realm> realm = deps_.credentials->find_realm(to.host_address());
  if (!realm)
    return done(error(CallError::kNotFound, "REALM_NOT_SERVED",
                      "realm not served: " + std::string(to.host_address())));

  // 4. The credential: the password's HA1 against the stored one, in
  // constant time. An unknown user costs the same hash and gets the same
  // answer as a wrong password.
  if (!request.sip_auth_username.empty()) {
    std::optional<registrar::Credential> cred =
        deps_.credentials->find_credential(realm->name, request.sip_auth_username);
    bool match = false;
    bool compared = false;
    if (cred) {
      for (registrar::DigestAlgorithm alg : registrar::kOfferedDigestAlgorithms) {
        std::optional<std::string_view> stored = cred->ha1(alg);
        if (!stored || !registrar::digest_algorithm_available(alg)) continue;
        std::string ha1 = registrar::compute_ha1(alg, request.sip_auth_username, cred->realm(),
                                                 request.sip_auth_password);
        match = registrar::constant_time_equal(ha1, *stored);
        OPENSSL_cleanse(ha1.data(), ha1.size());
        compared = true;
        break;
      }
    }
    if (!compared) {
      std::string ha1 = registrar::compute_ha1(registrar::DigestAlgorithm::kSha256,
                                               request.sip_auth_username, realm->name,
                                               request.sip_auth_password);
      registrar::constant_time_equal(ha1, std::string(ha1.size(), '0'));
    }
    if (!match) {
      OPENSSL_cleanse(request.sip_auth_password.data(), request.sip_auth_password.size());
      return done(error(CallError::kPermissionDenied, "CREDENTIAL_MISMATCH",
                        "sip_auth_username/sip_auth_password do not match a stored credential"));
    }
  }

  // 5. Idempotency: the same creator repeating a request_id gets the same call.
  std::string request_key;
  if (!request.request_id.empty()) {
    request_key = request.creator + '\0' + request.request_id;
    auto it = by_request_id_.find(request_key);
    if (it != by_request_id_.end()) {
      if (Call* existing = find(it->second)) {
        OPENSSL_cleanse(request.sip_auth_password.data(), request.sip_auth_password.size());
        if (existing->waiters.size() >= kMaxWaiters)
          return done(error(CallError::kResourceExhausted, "TOO_MANY_WAITERS",
                            "too many requests waiting on this call"));
        // A retry of a call that asked for nothing to wait for gets the call
        // as it is now, whatever its state (the first answer was "created").
        if (request.wait_for == CreateCallRequest::WaitFor::kNone) return done(result(*existing));
        existing->waiters.push_back(Waiter{request.wait_for, std::move(done)});
        settle_waiters(*existing);
        return;
      }
    }
  }

  // 6. Limits.
  if (!rate_allows(request.creator))
    return done(error(CallError::kResourceExhausted, "CALL_RATE",
                      "too many calls created per second by this token"));
  if (active_.load(std::memory_order_relaxed) >= options_.max_calls)
    return done(error(CallError::kResourceExhausted, "TOO_MANY_CALLS",
                      "the server carries its maximum number of calls"));

  // 7. The AOR's bindings, and how each is reached. With sip_auth_username
  // (Bandwidth's model) only the contacts that user registered are rung:
  // one user's credentials never ring another user's devices.
  std::string aor = sip::aor_key(to);
  std::vector<registrar::Binding> bindings = deps_.location->lookup(aor);
  std::vector<std::pair<registrar::Binding, Leg>> targets;
  for (registrar::Binding& b : bindings) {
    if (targets.size() >= kMaxBranches) break;
    if (!request.sip_auth_username.empty() && b.username != request.sip_auth_username) continue;
    // Another replica holds this flow: only it can reach the device.
    if (!options_.replica_id.empty() && !b.replica.empty() && b.replica != options_.replica_id)
      continue;
    if (std::optional<Leg> leg = leg_for(b)) targets.emplace_back(std::move(b), std::move(*leg));
  }
  if (targets.empty()) {
    OPENSSL_cleanse(request.sip_auth_password.data(), request.sip_auth_password.size());
    return done(error(CallError::kFailedPrecondition, "NO_BINDINGS",
                      request.sip_auth_username.empty()
                          ? "no registered contact for " + aor
                          : "no contact of " + aor + " registered by user " +
                                request.sip_auth_username));
  }

  // 8. The call.
  CallInfo info;
  info.id = ids_.next(wall());
  info.direction = Direction::kOutbound;
  info.state = CallState::kTrying;
  info.realm = realm->name;
  info.to_uri = request.to;
  info.from_uri = request.from_uri.empty() ? "sip:switchboard@" + realm->name : request.from_uri;
  info.from_display = sip::sanitize_header_value(request.from_display, 256);
  info.aor = aor;
  info.username = request.sip_auth_username;
  info.sip_call_id = tag() + tag();
  info.local_sdp = std::move(request.sdp_offer);
  info.branches = int(targets.size());
  info.create_time = wall();
  info.request_id = request.request_id;
  info.creator = request.creator;
  info.custom_headers = std::move(request.custom_headers);
  const std::string id = info.id;
  Call& call = add_call(std::move(info));
  call.from_tag = tag();
  call.password = std::move(request.sip_auth_password);
  if (!request_key.empty()) by_request_id_[request_key] = id;
  call.waiters.push_back(Waiter{request.wait_for, std::move(done)});
  emit(call, CallEventType::kCreated);

  for (auto& [binding, leg] : targets) {
    Branch b;
    b.contact = binding.contact;
    b.leg = std::move(leg);
    b.invite = build_invite(call, b, 1, tag(), options_.user_agent, path_routes(binding.path));
    call.branches.push_back(std::move(b));
  }
  for (size_t i = 0; i < call.branches.size(); ++i) {
    if (call.ended()) break;
    start_tx(call, int(i), TxPurpose::kInvite, call.branches[i].invite, call.branches[i].leg.flow);
  }
  if (!call.ended()) {
    call.ring_timer = timers_q_.schedule(now() + ring, [this, id] { ring_timeout(id); });
    emit(call, CallEventType::kTrying);
  }
  settle_waiters(call);
}

void CallEngine::Impl::on_invite_response(Call& call, size_t index, const sip::Message& response) {
  if (index >= call.branches.size()) return;
  Branch& b = call.branches[index];
  const int status = response.status_code();

  if (status < 200) {
    // Any provisional, 100 included, allows a CANCEL (§9.1).
    b.provisional = true;
    if (b.cancel_wanted && !b.cancel_sent) cancel_branch(call, index);
    if (!call.ended() && call.info.state == CallState::kTrying && status >= 180) {
      call.info.state = CallState::kRinging;
      call.info.ring_time = wall();
      if (is_sdp(response)) call.info.remote_sdp = bounded_body(response);  // early media
      emit(call, CallEventType::kRinging);
      settle_waiters(call);
    }
    return;
  }
  if (status < 300) {
    on_branch_2xx(call, index, response);
    return;
  }

  // 300-699: the transaction has ACKed it already. A device (or the PBX
  // behind it) challenging us gets one answer, with the CreateCall
  // credentials; a second challenge is final.
  if ((status == 401 || status == 407) && !b.challenge_answered && !b.cancel_wanted &&
      !call.ended() && !call.info.username.empty() && !call.password.empty()) {
    std::string cnonce = tag();
    std::optional<DigestAnswer> answer =
        answer_challenge(response, "INVITE", b.contact, call.info.username, call.password, cnonce,
                         call.info.local_sdp);
    if (answer) {
      b.challenge_answered = true;
      b.provisional = false;
      std::vector<std::string> routes = b.invite.routes();
      b.invite = build_invite(call, b, b.invite.cseq_number() + 1, tag(), options_.user_agent,
                              routes);
      b.invite.header(answer->header_name, answer->value);
      start_tx(call, int(index), TxPurpose::kInvite, b.invite, b.leg.flow);
      return;
    }
  }
  b.done = true;
  b.status = status;
  b.reason = safe_reason(response.reason_phrase(), sip::default_reason(status));
  b.synthetic = false;
  check_branches_done(call);
}

void CallEngine::Impl::on_invite_timeout(Call& call, size_t index, int status,
                                         std::string_view reason) {
  if (index >= call.branches.size()) return;
  Branch& b = call.branches[index];
  if (b.done) return;
  b.done = true;
  b.status = status;
  b.reason = std::string(reason);
  b.synthetic = true;
  check_branches_done(call);
}

void CallEngine::Impl::check_branches_done(Call& call) {
  if (call.ended() || call.answered_branch >= 0) return;
  for (const Branch& b : call.branches)
    if (!b.done) return;
  // Every branch failed: the best response decides (§16.7).
  const Branch* best = nullptr;
  bool any_real = false;
  for (const Branch& b : call.branches) {
    any_real = any_real || !b.synthetic;
    if (!best || response_rank(b.status, b.synthetic) < response_rank(best->status, best->synthetic))
      best = &b;
  }
  if (!best) return;
  std::string detail = call.branches.size() == 1
                           ? "the device answered " + std::to_string(best->status) + " " + best->reason
                           : "every binding failed; best response " + std::to_string(best->status) +
                                 " " + best->reason;
  if (!any_real) detail = "no binding answered (" + best->reason + ")";
  end_call(call, any_real ? EndReason::kRejected : EndReason::kUnreachable, best->status,
           best->reason, std::move(detail));
}

void CallEngine::Impl::on_branch_2xx(Call& call, size_t index, const sip::Message& ok) {
  Branch& b = call.branches[index];
  std::string to_tag(ok.to() ? ok.to()->tag() : std::string_view());
  // A retransmitted 2xx: our ACK was lost; the same ACK again (§13.2.2.4).
  if (auto it = b.acks.find(to_tag); it != b.acks.end()) {
    send(b.leg.flow, it->second);
    return;
  }
  std::optional<Dialog> dialog = dialog_from_2xx(b.invite, ok, call.from_tag);
  if (!dialog) return;  // no To at all: response_acceptable() let it through, nothing to ACK
  dialog->flow = b.leg.flow;
  dialog->via_transport = b.leg.via_transport;
  dialog->sent_by = b.leg.sent_by;
  dialog->local_contact = b.leg.contact;
  std::string ack = dialog->ack(b.invite.cseq_number(), sip::make_branch(tag())).build();
  send(b.leg.flow, ack);
  if (b.acks.size() < kMaxBranches) b.acks.emplace(to_tag, std::move(ack));

  const bool winner = !call.ended() && call.answered_branch < 0;
  if (!winner) {
    // A 2xx after another branch won or after we gave up: the callee thinks
    // it is in a call. ACK it (above) and hang up at once.
    b.done = true;
    b.status = ok.status_code();
    Dialog late = std::move(*dialog);
    sip::RequestBuilder bye = late.request("BYE", sip::make_branch(tag()));
    if (!options_.user_agent.empty()) bye.header("User-Agent", options_.user_agent);
    start_tx(call, -1, TxPurpose::kBye, std::move(bye), late.flow);
    return;
  }
  b.done = true;
  b.status = ok.status_code();
  b.reason = safe_reason(ok.reason_phrase(), "OK");
  call.answered_branch = int(index);
  call.dialog = std::move(*dialog);
  by_dialog_[call.dialog->key()] = call.info.id;
  call.info.state = CallState::kAnswered;
  call.info.answer_time = wall();
  if (is_sdp(ok)) call.info.remote_sdp = bounded_body(ok);
  call.info.answered_contact = b.contact;
  call.info.sip_status = b.status;
  call.info.sip_reason = b.reason;
  timers_q_.cancel(call.ring_timer);
  call.ring_timer = 0;
  cancel_branches(call, int(index));
  emit(call, CallEventType::kAnswered);
  settle_waiters(call);
}

void CallEngine::Impl::cancel_branch(Call& call, size_t index) {
  Branch& b = call.branches[index];
  if (b.done || b.cancel_sent) return;
  b.cancel_wanted = true;
  if (!b.provisional) return;  // §9.1: not before a provisional; Timer B ends it otherwise
  b.cancel_sent = true;
  start_tx(call, int(index), TxPurpose::kCancel, sip::cancel_for(b.invite), b.leg.flow);
  // §9.1: no final response within 64*T1 of the CANCEL → the INVITE is over.
  std::string key = b.tx_key;
  if (key.empty()) return;
  timers_q_.schedule(now() + 64 * timers_.t1, [this, key] {
    auto it = transactions_.find(key);
    if (it == transactions_.end() || it->second.tx.last_status() >= 200) return;
    apply(key, it->second.tx.on_transport_error(), nullptr);
  });
}

void CallEngine::Impl::cancel_branches(Call& call, int except) {
  for (size_t i = 0; i < call.branches.size(); ++i)
    if (int(i) != except) cancel_branch(call, i);
}

void CallEngine::Impl::ring_timeout(const std::string& id) {
  Call* call = find(id);
  if (!call || call->ended()) return;
  call->ring_timer = 0;
  if (call->info.state == CallState::kAnswered) return;
  if (call->outbound()) {
    cancel_branches(*call, -1);
    end_call(*call, EndReason::kTimeout, 408, "Request Timeout", "no answer within the ring timeout");
  }
}

void CallEngine::Impl::hangup_call(const std::string& id, CallEngine::Done done) {
  Call* call = find(id);
  if (!call) return done(error(CallError::kNotFound, "CALL_NOT_FOUND", "no such call"));
  if (call->ended())
    return done(CallResult{CallError::kFailedPrecondition, "the call has ended", "WRONG_STATE",
                           call->info});
  if (call->outbound()) {
    if (call->info.state == CallState::kAnswered) {
      send_bye(*call);
      end_call(*call, EndReason::kHangupApi, 0, "", "hung up by the API");
    } else {
      cancel_branches(*call, -1);
      end_call(*call, EndReason::kHangupApi, 487, "Request Terminated", "canceled by the API");
    }
  } else if (!call->final_sent && call->ok_bytes.empty()) {
    inbound_final(*call, 487, "Request Terminated");
    end_call(*call, EndReason::kHangupApi, 487, "Request Terminated", "rejected by the API");
  } else {
    send_bye(*call);
    end_call(*call, EndReason::kHangupApi, 0, "", "hung up by the API");
  }
  done(result(*call));
}

}  // namespace switchboard::calls
