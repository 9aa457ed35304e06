// gateway/calls/dtmf_relay.h — DTMF in SIP INFO, the application/dtmf-relay
// body that phones and SBCs (Cisco, Polycom, Yealink, Asterisk) exchange:
//
//   Signal=5
//   Duration=250
//
// Signals are 0-9, *, #, A-D; some devices send 10 for * and 11 for #, which
// parse_dtmf_relay() accepts. Duration is in milliseconds.
//
//   std::string body = build_dtmf_relay('5', std::chrono::milliseconds(250));
//   std::optional<DtmfRelay> d = parse_dtmf_relay(info.body());   // d->signal == '5'
//
// Threading: pure functions.
#ifndef SWITCHBOARD_GATEWAY_CALLS_DTMF_RELAY_H_
#define SWITCHBOARD_GATEWAY_CALLS_DTMF_RELAY_H_

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace switchboard::calls {

inline constexpr std::string_view kDtmfRelayType = "application/dtmf-relay";
inline constexpr size_t kMaxDtmfDigits = 32;  // per SendDtmf

struct DtmfRelay {
  char signal = 0;   // '0'-'9', '*', '#', 'A'-'D'
  int duration_ms = 0;  // 0 when absent
};

// True for 0-9 * # A-D (upper case only, as the API documents).
bool is_dtmf_digit(char c);
// True for 1..kMaxDtmfDigits digits, each is_dtmf_digit().
bool valid_dtmf_digits(std::string_view digits);

// "Signal=5\r\nDuration=250\r\n". REQUIRES: is_dtmf_digit(digit).
std::string build_dtmf_relay(char digit, std::chrono::milliseconds duration);

// The signal of a dtmf-relay body (keys case-insensitive, spaces around '='
// allowed, LF or CRLF line ends); nullopt when there is none, it is not a
// DTMF signal, or the body is larger than 512 bytes.
std::optional<DtmfRelay> parse_dtmf_relay(std::string_view body);

}  // namespace switchboard::calls

#endif  // SWITCHBOARD_GATEWAY_CALLS_DTMF_RELAY_H_
