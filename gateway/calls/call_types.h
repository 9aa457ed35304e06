// gateway/calls/call_types.h — the values the call layer and the CallService
// exchange: a call's state, its events, and the requests that change it.
//
// Everything here is a plain value (owns its strings), safe to copy across
// threads. SIP vocabulary: a "binding" is a registered contact of the target
// AOR; each binding an outbound call rings is a "branch" (RFC 3261 §16.7
// forking, done here by the UAC itself); the branch whose 2xx wins is the
// call's dialog (§12).
#ifndef SWITCHBOARD_GATEWAY_CALLS_CALL_TYPES_H_
#define SWITCHBOARD_GATEWAY_CALLS_CALL_TYPES_H_

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace switchboard::calls {

using WallTime = std::chrono::system_clock::time_point;
using Headers = std::vector<std::pair<std::string, std::string>>;

enum class Direction : uint8_t { kOutbound, kInbound };

// Outbound: kTrying (INVITEs sent) → kRinging (a 180/183) → kAnswered (first
// 2xx, ACKed) → kEnded. Inbound: kRinging (offered to the API, 180 sent) →
// kAnswered (AnswerCall: 200 sent and ACKed) → kEnded.
enum class CallState : uint8_t { kTrying, kRinging, kAnswered, kEnded };

enum class EndReason : uint8_t {
  kNone,            // not ended
  kHangupApi,       // HangupCall (CANCEL before answer, BYE after)
  kHangupRemote,    // the device sent BYE, or (inbound) CANCELed before answer
  kRejected,        // outbound: every branch answered with a final error (sip_status says which)
                    // inbound: RejectCall
  kTimeout,         // ring timeout (outbound: CANCELed; inbound: 480 sent)
  kUnreachable,     // outbound: no branch answered at all (Timer B / transport error)
  kNoConsumer,      // inbound: nobody watching calls → 480
  kShutdown,        // the server stopped
  kError,           // anything else; `detail` says what
};

// A snapshot of one call.
struct CallInfo {
  std::string id;                 // "c" + 20 lowercase hex; the resource is "calls/{id}"
  Direction direction = Direction::kOutbound;
  CallState state = CallState::kTrying;
  std::string realm;              // the served realm the call belongs to
  std::string to_uri;             // outbound: CreateCall.to; inbound: the INVITE's To URI
  std::string from_uri;           // outbound: our From URI; inbound: the device's From URI
  std::string from_display;       // display name of From, may be ""
  std::string aor;                // outbound: the target AOR; inbound: the caller's AOR ("user@realm")
  std::string username;           // outbound: sip_auth_username or ""; inbound: the authenticated digest username
  std::string sip_call_id;        // Call-ID of the dialog (all branches share it)
  std::string local_sdp;          // outbound: the offer sent; inbound: the answer sent
  std::string remote_sdp;         // outbound: early or final answer; inbound: the offer received
  std::string answered_contact;   // the binding (Contact URI) that answered, outbound
  int branches = 0;               // outbound: how many bindings were rung
  int sip_status = 0;             // the final SIP status that decided the call (200, 486, 487, 408, …), 0 while none
  std::string sip_reason;         // its reason phrase
  EndReason end_reason = EndReason::kNone;
  std::string detail;             // human-readable why, for ENDED
  WallTime create_time{};
  WallTime ring_time{};           // zero until ringing
  WallTime answer_time{};         // zero until answered
  WallTime end_time{};            // zero until ended
  std::string request_id;         // CreateCall.request_id, "" when none
  std::string creator;            // name of the API token that created it ("" for inbound)
  Headers custom_headers;         // X- headers: sent (outbound) or received (inbound)
};

enum class CallEventType : uint8_t {
  kCreated,   // outbound call accepted by CreateCall (before any INVITE is sent)
  kTrying,    // INVITEs sent / first 100 received
  kRinging,   // first 180/183 (remote_sdp holds early media SDP when present)
  kAnswered,  // 2xx won and ACKed (remote_sdp = answer; answered_contact set)
  kUpdated,   // in-dialog re-INVITE from the device answered (hold/resume; remote_sdp updated)
  kDtmf,      // INFO application/dtmf-relay received from the device (CallEvent::digit)
  kEnded,     // final; end_reason, sip_status, times
  kIncoming,  // inbound call offered to the API
};

struct CallEvent {
  uint64_t sequence = 0;   // increasing per process, for ordering only (not resumable)
  CallEventType type = CallEventType::kCreated;
  WallTime time{};
  CallInfo call;           // the call as it was right after the event
  std::string digit;       // kDtmf only
};

// What CreateCall asks for, validated by the API layer for shape (a parseable
// sip: URI, sizes), and by the engine for meaning (served realm, credential).
struct CreateCallRequest {
  std::string to;                  // "sip:alice@acme.example" (required)
  std::string sip_auth_username;   // optional; when set the password must be too
  std::string sip_auth_password;   // checked against the stored HA1, never stored or logged
  std::string from_uri;            // "" → "sip:switchboard@{realm}"
  std::string from_display;        // "" → none
  std::string sdp_offer;           // "" → INVITE without a body (offer in the 200, answer in ACK is not supported: see docs)
  std::chrono::seconds ring_timeout{60};
  Headers custom_headers;          // names must start with "X-" (API layer checks)
  std::string request_id;          // idempotency key, scoped by creator; "" → none
  std::string creator;             // API token name
  enum class WaitFor : uint8_t { kNone, kRinging, kAnswered } wait_for = WaitFor::kNone;
};

// Why an engine operation failed; the API layer maps it to a gRPC code.
enum class CallError : uint8_t {
  kOk,
  kInvalidArgument,     // e.g. `to` not a sip: URI, bad DTMF digits, bad status
  kNotFound,            // no such call (or realm not served: reason says which)
  kPermissionDenied,    // sip_auth_password does not match the stored credential (or user unknown)
  kFailedPrecondition,  // no binding for the target; call not in a state that allows it
  kResourceExhausted,   // max concurrent calls / rate
  kAborted,             // the call failed before reaching wait_for (sip_status in the CallInfo)
  kDeadlineExceeded,    // wait_for not reached within the ring timeout (call continues? no: it ended)
  kUnavailable,         // shutting down
};

struct CallResult {
  CallError error = CallError::kOk;
  std::string message;          // for the gRPC status message; never secret material
  std::string reason;           // ErrorInfo.reason: NO_BINDINGS, CREDENTIAL_MISMATCH,
                                // REALM_NOT_SERVED, CALL_FAILED, CALL_NOT_FOUND,
                                // WRONG_STATE, TOO_MANY_CALLS, SHUTTING_DOWN, …
  std::optional<CallInfo> call; // the call when one exists
  bool ok() const { return error == CallError::kOk; }
};

std::string_view call_state_name(CallState state);      // "TRYING", "RINGING", "ANSWERED", "ENDED"
std::string_view end_reason_name(EndReason reason);     // "HANGUP_API", "TIMEOUT", …
std::string_view call_event_type_name(CallEventType t); // "CREATED", …

}  // namespace switchboard::calls

#endif  // SWITCHBOARD_GATEWAY_CALLS_CALL_TYPES_H_
