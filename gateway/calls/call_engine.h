// gateway/calls/call_engine.h — the call layer: outbound calls to registered
// devices (CreateCall), inbound calls from authenticated devices, and the
// dialogs that follow (RFC 3261 §12–§17).
//
// Outbound: CreateCall resolves `to` to a served realm and AOR, checks the
// optional sip_auth_username/password against the stored credential's HA1
// (constant time; an unknown user and a wrong password look the same), looks
// the AOR's bindings up and sends one INVITE per binding (parallel forking)
// to the binding's received address through the flow it registered on (the
// same UDP listener, or the same TCP connection), with a Route from its Path.
// First 2xx wins: it is ACKed and the other branches CANCELed; a late 2xx from
// another branch gets ACK + BYE. A 401/407 from a device is answered once with
// the CreateCall credentials. All branches failed → the best status per
// §16.7. Ring timeout → CANCEL every branch → ENDED(TIMEOUT).
//
// Inbound: an INVITE from a device in a served realm is authenticated like a
// REGISTER (401/407 per realm, or a trusted CIDR); then 100, 180 and an
// INCOMING event; AnswerCall → 200 (retransmitted until ACK), RejectCall →
// that status; no subscriber for INCOMING → 480 at once; no answer within
// `inbound_ring_timeout` → 480.
//
// In the dialog: BYE from either side; the device's re-INVITE is answered with
// our last SDP and reported as UPDATED; INFO dtmf-relay both ways.
//
//   CallEngine engine(options, deps);
//   sip_options.on_response = [&](std::string_view raw, const Source& s) { engine.on_response(raw, s); };
//   engine.start();                       // its own thread
//   (the engine needs the SipServer and the server's handler needs the
//   engine: see gateway/sip_router.h for the order of construction)
//   engine.create_call(request, [](CallResult r) { ... });
//   engine.stop();                        // ends every call (BYE/CANCEL/480), then joins
//
// Threading: every public method may be called from any thread. All call
// state lives on the engine's own thread (one io_context, no locks on call
// state); methods post to it, and `done` callbacks and event subscribers run
// on it — they must be quick and must not call back into the engine
// synchronously (post instead).
#ifndef SWITCHBOARD_GATEWAY_CALLS_CALL_ENGINE_H_
#define SWITCHBOARD_GATEWAY_CALLS_CALL_ENGINE_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/calls/call_types.h"
#include "gateway/json_log.h"
#include "gateway/request_handler.h"
#include "gateway/tag_source.h"
#include "sip/clock.h"
#include "sip/transport/source.h"

namespace registrar {
class LocationService;
class CredentialStore;
class Authenticator;
}  // namespace registrar

namespace switchboard {
class SipServer;
}

namespace switchboard::calls {

struct CallEngineOptions {
  size_t max_calls = 1000;                            // concurrent, all directions → RESOURCE_EXHAUSTED / 503
  double create_rate_per_creator = 50;                // CreateCall per second per token (token bucket)
  double create_burst_per_creator = 100;
  std::chrono::seconds inbound_ring_timeout{30};      // no AnswerCall/RejectCall → 480
  std::chrono::seconds ended_retention{300};          // ended calls stay visible to GetCall/ListCalls
  size_t max_ended_calls = 10000;                     // and at most this many
  std::chrono::milliseconds t1{500}, t2{4000}, t4{5000};  // RFC 3261 timers (tests shrink them)
  std::string user_agent = "Switchboard";
  // The host devices should reach us at, in the Via and Contact of the
  // requests we send ("sip.example.com", "203.0.113.7"): set it when the
  // listener's address is not what devices see (NAT, a load balancer, a
  // wildcard bind on a multi-homed host). "" = the listener's address (for a
  // wildcard listener, the source address the kernel routes to the device from).
  std::string advertised_host;
  int retry_after_seconds = 5;                        // 503s for inbound when over limits/draining
  // Several replicas on one Redis (docs/scale-out.md): this replica's id.
  // When set, CreateCall rings only the bindings whose flow this process
  // holds (Binding::replica == replica_id, or "" for bindings written before
  // replicas were recorded): a NAT mapping or TCP connection exists only at
  // the replica that took the REGISTER. "" (one process): every binding.
  std::string replica_id;
  // A number no other live replica holds (the replica directory's node):
  // call ids then carry it and never collide across replicas (call_ids.h).
  std::optional<uint16_t> call_id_node;
};

struct CallEngineDeps {
  registrar::LocationService* location = nullptr;     // required
  registrar::CredentialStore* credentials = nullptr;  // required: realms and credentials
  registrar::Authenticator* authenticator = nullptr;  // required for inbound INVITEs
  SipServer* sip = nullptr;                           // required: send() and bound addresses
  std::shared_ptr<const sip::Clock> clock;            // required
  TagSource tags;                                     // required: tags, branches, Call-IDs
  Logger* logger = nullptr;                           // optional
};

// Which events a subscriber wants.
struct CallEventFilter {
  std::string realm;                       // "" = every realm
  std::string call_id;                     // "" = every call (else only this call's events)
  std::vector<CallEventType> types;        // empty = every type
  // Also the events of calls other replicas run, which this replica relays
  // (publish_peer_event): a local WatchCalls stream wants them; a peer's
  // stream (it would loop them back), metrics and logs do not.
  bool peer_events = false;
  bool wants(const CallEvent& event) const;
  // True when an INCOMING event for `realm` would be delivered.
  bool wants_incoming(std::string_view realm) const;
};

struct ListCallsQuery {
  std::string realm;                       // "" = every realm
  std::optional<CallState> state;          // nullopt = every state
  std::string after_id;                    // page cursor: ids > after_id (ids sort by creation)
  size_t limit = 100;
};

class CallEngine final : public RequestHandler {
 public:
  using Done = std::function<void(CallResult)>;
  using SubscriptionId = uint64_t;

  CallEngine(CallEngineOptions options, CallEngineDeps deps);
  ~CallEngine() override;  // stop()
  CallEngine(const CallEngine&) = delete;
  CallEngine& operator=(const CallEngine&) = delete;

  // Starts the engine thread. Work posted before start() waits for it.
  void start();
  // Ends every call (CANCEL/BYE/480, reason SHUTDOWN), waits up to `grace`
  // for their transactions, then joins the thread. New work → kUnavailable
  // (its `done` then runs at once on the caller's thread, or on the thread
  // calling stop() for work that was already queued). Idempotent.
  // REQUIRES: not called from the engine thread (a `done` or subscriber);
  // the SipServer is still running (the BYEs and CANCELs go through it).
  void stop(std::chrono::milliseconds grace = std::chrono::milliseconds(2000));

  // --- API side ---------------------------------------------------------
  // Starts an outbound call. `done` runs once: at once with an error, or
  // with the call after the INVITEs were sent (wait_for NONE), the first
  // ringing (RINGING) or the answer (ANSWERED) — or with kAborted and the
  // ended call if it failed first (kDeadlineExceeded, reason RING_TIMEOUT,
  // when the ring timeout ended it). A repeated request_id from the same
  // creator returns the existing call (no second INVITE) and waits as asked.
  // Checks in order: shape, draining, realm (kNotFound REALM_NOT_SERVED),
  // credential (kPermissionDenied CREDENTIAL_MISMATCH, unknown user alike),
  // request_id, rate (CALL_RATE), max_calls (TOO_MANY_CALLS), bindings
  // (kFailedPrecondition NO_BINDINGS); nothing is sent unless all pass.
  void create_call(CreateCallRequest request, Done done);
  void get_call(std::string id, Done done);
  // Calls sorted by id (creation order), active and recently ended.
  void list_calls(ListCallsQuery query, std::function<void(std::vector<CallInfo>)> done);
  // CANCEL before answer (outbound), 487 to an unanswered inbound INVITE
  // (reason HANGUP_API), BYE after answer. Ended already → kFailedPrecondition.
  // `done` gets the call already ENDED: the CANCEL/BYE transactions finish
  // in the background (a 2xx crossing the CANCEL gets ACK + BYE).
  void hangup_call(std::string id, Done done);
  // Sends digits (0-9 * # A-D, at most 32) as INFO application/dtmf-relay,
  // one INFO per digit, in order. Only answered calls.
  void send_dtmf(std::string id, std::string digits, std::chrono::milliseconds duration, Done done);
  // Inbound only, while ringing. Sends the 200 (retransmitted until the
  // ACK); `done` runs when the ACK arrives, with the call ANSWERED — or with
  // kAborted if it ends first (no ACK within 64*T1, BYE, shutdown).
  // kInvalidArgument when the INVITE had an SDP offer and `sdp_answer` is "".
  void answer_call(std::string id, std::string sdp_answer, Done done);
  void reject_call(std::string id, int sip_status, Done done);  // 400..699, default 486 by API

  // Subscribers see every event matching the filter, in sequence order, on
  // the engine thread. The id is valid until unsubscribe(). After
  // unsubscribe() returns, `on_event` is not called again (it waits for a
  // delivery in progress, so do not call it while holding a lock that
  // `on_event` takes); a subscriber may unsubscribe itself from `on_event`.
  // Whether a subscriber would see INCOMING for a realm decides between
  // offering an inbound call and answering it 480.
  SubscriptionId subscribe(CallEventFilter filter, std::function<void(const CallEvent&)> on_event);
  void unsubscribe(SubscriptionId id);

  // An event of a call another replica runs (read from that replica's
  // WatchCalls stream), for this replica's subscribers with peer_events:
  // it gets this engine's next sequence number (so a stream's sequences keep
  // increasing) and is delivered in order with the engine's own events. It
  // changes no call here. Dropped once the engine is stopping.
  void publish_peer_event(CallEvent event);

  // Refuse new calls (inbound INVITE → 503 + Retry-After, CreateCall →
  // kUnavailable) while letting existing ones finish; for graceful drain.
  void set_draining(bool draining);

  // Figures for metrics/health: thread-safe, approximate.
  size_t active_calls() const;

  // --- SIP side ---------------------------------------------------------
  // RequestHandler: INVITE, ACK, BYE, CANCEL, INFO, UPDATE, PRACK (and
  // OPTIONS inside a dialog) come here from the worker threads.
  void handle(const sip::Message& request, const sip::transport::Source& source,
              Reply reply) override;
  // Responses from SipServerOptions::on_response (worker threads).
  void on_response(std::string_view raw, const sip::transport::Source& source);
  // True for the methods handle() takes (the SIP router sends them here).
  static bool handles_method(std::string_view method);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace switchboard::calls

#endif  // SWITCHBOARD_GATEWAY_CALLS_CALL_ENGINE_H_
