// clients/sbctl/names.h — the command-line spellings of the API's enums, both
// ways, so that what `sbctl realm get` prints is what `sbctl realm update`
// takes: "401", "SHA-256", "evict-oldest", "trusted-or-digest", "registered".
// Parsing is case-insensitive and accepts '_' for '-'; nullopt when unknown.
// Threading: pure functions.
#ifndef SWITCHBOARD_CLIENTS_SBCTL_NAMES_H_
#define SWITCHBOARD_CLIENTS_SBCTL_NAMES_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "switchboard/v1/admin.pb.h"
#include "switchboard/v1/call.pb.h"
#include "switchboard/v1/registration.pb.h"

namespace sbctl {

namespace v1 = ::switchboard::v1;

std::optional<v1::ChallengeMode> parse_challenge(std::string_view text);
std::string challenge_name(v1::ChallengeMode mode);  // "401", "407", "-"

std::optional<v1::DigestAlgorithm> parse_algorithm(std::string_view text);
std::string algorithm_name(v1::DigestAlgorithm algorithm);  // "MD5", "SHA-256", "SHA-512-256"
// "MD5,SHA-256" (for tables); "-" when empty.
std::string algorithm_list(const google::protobuf::RepeatedField<int>& algorithms);

std::optional<v1::ContactOverflowPolicy> parse_overflow(std::string_view text);
std::string overflow_name(v1::ContactOverflowPolicy policy);  // "reject", "evict-oldest"

std::optional<v1::SourceAuthMode> parse_source_auth(std::string_view text);
std::string source_auth_name(v1::SourceAuthMode mode);  // "digest", "trusted-or-digest", …

std::optional<v1::RegistrationEvent::Type> parse_event_type(std::string_view text);
std::string event_type_name(v1::RegistrationEvent::Type type);  // "REGISTERED", …

// Calls: "trying", "ringing", "answered", "ended" ↔ Call.State; event types
// "created", "incoming", … ↔ CallEvent.Type; "none", "ringing", "answered"
// ↔ CreateCallRequest.WaitFor.
std::optional<v1::Call::State> parse_call_state(std::string_view text);
std::string call_state_name(v1::Call::State state);  // "RINGING", …
std::optional<v1::CallEvent::Type> parse_call_event_type(std::string_view text);
std::string call_event_type_name(v1::CallEvent::Type type);  // "INCOMING", …
std::optional<v1::CreateCallRequest::WaitFor> parse_wait_for(std::string_view text);

std::optional<bool> parse_bool(std::string_view text);  // true/false, yes/no, on/off

// Splits "a,b, c" at commas, trimming blanks and dropping empty items.
std::vector<std::string> split_list(std::string_view text);

}  // namespace sbctl

#endif  // SWITCHBOARD_CLIENTS_SBCTL_NAMES_H_
