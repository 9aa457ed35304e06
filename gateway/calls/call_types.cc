// gateway/calls/call_types.cc — the names of call_types.h's enums, as the API
// and the logs spell them (the proto enum value names).
#include "gateway/calls/call_types.h"

namespace switchboard::calls {

std::string_view call_state_name(CallState state) {
  switch (state) {
    case CallState::kTrying: return "TRYING";
    case CallState::kRinging: return "RINGING";
    case CallState::kAnswered: return "ANSWERED";
    case CallState::kEnded: return "ENDED";
  }
  return "STATE_UNSPECIFIED";
}

std::string_view end_reason_name(EndReason reason) {
  switch (reason) {
    case EndReason::kNone: return "END_REASON_UNSPECIFIED";
    case EndReason::kHangupApi: return "HANGUP_API";
    case EndReason::kHangupRemote: return "HANGUP_REMOTE";
    case EndReason::kRejected: return "REJECTED";
    case EndReason::kTimeout: return "TIMEOUT";
    case EndReason::kUnreachable: return "UNREACHABLE";
    case EndReason::kNoConsumer: return "NO_CONSUMER";
    case EndReason::kShutdown: return "SHUTDOWN";
    case EndReason::kError: return "ERROR";
  }
  return "END_REASON_UNSPECIFIED";
}

std::string_view call_event_type_name(CallEventType t) {
  switch (t) {
    case CallEventType::kCreated: return "CREATED";
    case CallEventType::kTrying: return "TRYING";
    case CallEventType::kRinging: return "RINGING";
    case CallEventType::kAnswered: return "ANSWERED";
    case CallEventType::kUpdated: return "UPDATED";
    case CallEventType::kDtmf: return "DTMF";
    case CallEventType::kEnded: return "ENDED";
    case CallEventType::kIncoming: return "INCOMING";
  }
  return "TYPE_UNSPECIFIED";
}

}  // namespace switchboard::calls
