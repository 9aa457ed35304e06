// gateway/api/call_convert.h — the call layer's values (gateway/calls/
// call_types.h) ↔ CallService messages, and the shape checks of CallService
// requests (google.rpc.BadRequest field violations; the engine checks
// meaning: served realm, credential, state).
//
//   v1::Call c = to_proto(info);            // name "calls/c…", aor "sip:alice@acme.example",
//                                           // answered_binding "realms/…/bindings/…", duration
//   v1::CallEvent e = to_proto(event);
//
//   std::vector<FieldViolation> bad;
//   calls::CreateCallRequest r = create_call_from_proto(request, caller.token_name, bad);
//   if (!bad.empty()) return invalid_argument(bad);
//
// Threading: pure functions.
#ifndef SWITCHBOARD_GATEWAY_API_CALL_CONVERT_H_
#define SWITCHBOARD_GATEWAY_API_CALL_CONVERT_H_

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/api/status.h"
#include "gateway/calls/call_types.h"
#include "switchboard/v1/call.pb.h"

namespace switchboard::api {

namespace v1 = ::switchboard::v1;

// Limits of CreateCall / AnswerCall / SendDtmf / RejectCall (docs/api.md, "Calls").
inline constexpr size_t kMaxCallHeaders = 20;
inline constexpr size_t kMaxCallHeaderBytes = 1024;  // per name and per value
inline constexpr size_t kMaxSdpBytes = 16 * 1024;
inline constexpr size_t kMaxCallUriBytes = 1024;
inline constexpr size_t kMaxDisplayNameBytes = 256;
inline constexpr size_t kMaxRequestIdBytes = 256;
inline constexpr size_t kMaxDtmfDigits = 32;
inline constexpr std::chrono::seconds kDefaultRingTimeout{60};
inline constexpr std::chrono::seconds kMinRingTimeout{1};
inline constexpr std::chrono::seconds kMaxRingTimeout{600};
inline constexpr std::chrono::milliseconds kDefaultDtmfDuration{250};
inline constexpr std::chrono::milliseconds kMinDtmfDuration{100};
inline constexpr std::chrono::milliseconds kMaxDtmfDuration{5000};
inline constexpr int kDefaultRejectStatus = 486;

// --- values → messages ---------------------------------------------------
v1::Call::Direction to_proto(calls::Direction direction);
v1::Call::State to_proto(calls::CallState state);
v1::Call::EndReason to_proto(calls::EndReason reason);
v1::CallEvent::Type to_proto(calls::CallEventType type);
// nullopt for STATE_UNSPECIFIED and unknown values.
std::optional<calls::CallState> from_proto(v1::Call::State state);
// nullopt for TYPE_UNSPECIFIED and unknown values.
std::optional<calls::CallEventType> from_proto(v1::CallEvent::Type type);

// Unset (zero) times stay unset; duration = end − answer when both are set.
v1::Call to_proto(const calls::CallInfo& call);
v1::CallEvent to_proto(const calls::CallEvent& event);

// The inverse, for the events another replica streams to this one
// (gateway/replicas/): to_proto(from_proto(m)) == m for every message
// to_proto makes (the creator, which no message carries, stays "").
// nullopt when the name is not a call's or the type is unknown.
std::optional<calls::CallInfo> from_proto(const v1::Call& call);
std::optional<calls::CallEvent> from_proto(const v1::CallEvent& event);

// "realms/{served realm}/aors/{user}/bindings/{id}" of the binding whose
// contact answered (aor "user@domain"); "" when none answered.
std::string answered_binding_name(std::string_view aor, std::string_view contact);

// --- requests → values, with every problem reported ----------------------
// The sip:/sips: URI with a user and a host; `field` names it in violations.
// Returns the URI's host, lower-case (the realm it targets), or nullopt.
std::optional<std::string> check_call_uri(std::string_view uri, std::string_view field,
                                          std::vector<FieldViolation>& violations);

// CreateCall's request for the engine (creator = the token's name). The
// headers are sorted by name (a proto map has no order).
calls::CreateCallRequest create_call_from_proto(const v1::CreateCallRequest& in,
                                                std::string_view creator,
                                                std::vector<FieldViolation>& violations);

// "calls/{id}" → id (violation of `field` otherwise).
std::string call_id_from_name(std::string_view name, std::string_view field,
                              std::vector<FieldViolation>& violations);

// [0-9*#A-D]{1,32}.
void check_dtmf_digits(std::string_view digits, std::vector<FieldViolation>& violations);
// Unset: 250 ms; else 100 ms .. 5 s.
std::chrono::milliseconds dtmf_duration(const v1::SendDtmfRequest& in,
                                        std::vector<FieldViolation>& violations);
// 0: 486; else 400 .. 699.
int reject_status(int32_t status, std::vector<FieldViolation>& violations);
// At most 16 KiB.
void check_sdp(std::string_view sdp, std::string_view field,
               std::vector<FieldViolation>& violations);


}  // namespace switchboard::api

#endif  // SWITCHBOARD_GATEWAY_API_CALL_CONVERT_H_
