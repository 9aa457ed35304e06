// gateway/calls/dtmf_relay.cc — see dtmf_relay.h.
#include "gateway/calls/dtmf_relay.h"

#include "sip/lex.h"

namespace switchboard::calls {

bool is_dtmf_digit(char c) {
  return (c >= '0' && c <= '9') || c == '*' || c == '#' || (c >= 'A' && c <= 'D');
}

bool valid_dtmf_digits(std::string_view digits) {
  if (digits.empty() || digits.size() > kMaxDtmfDigits) return false;
  for (char c : digits)
    if (!is_dtmf_digit(c)) return false;
  return true;
}

std::string build_dtmf_relay(char digit, std::chrono::milliseconds duration) {
  return "Signal=" + std::string(1, digit) + "\r\nDuration=" + std::to_string(duration.count()) +
         "\r\n";
}

std::optional<DtmfRelay> parse_dtmf_relay(std::string_view body) {
  if (body.size() > 512) return std::nullopt;
  DtmfRelay out;
  bool have_signal = false;
  while (!body.empty()) {
    size_t eol = body.find('\n');
    std::string_view line = body.substr(0, eol);
    body = eol == std::string_view::npos ? std::string_view() : body.substr(eol + 1);
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view key = sip::lex::trim_lws(line.substr(0, eq));
    std::string_view value = sip::lex::trim_lws(line.substr(eq + 1));
    if (!value.empty() && value.back() == '\r') value.remove_suffix(1);
    value = sip::lex::trim_lws(value);
    if (sip::lex::iequals(key, "Signal") && !have_signal) {
      char c = 0;
      if (value.size() == 1) {
        c = value[0];
        if (c >= 'a' && c <= 'd') c = char(c - 'a' + 'A');
      } else if (value == "10") {
        c = '*';
      } else if (value == "11") {
        c = '#';
      }
      if (!is_dtmf_digit(c)) return std::nullopt;
      out.signal = c;
      have_signal = true;
    } else if (sip::lex::iequals(key, "Duration")) {
      if (auto d = sip::lex::parse_uint(value, 60000)) out.duration_ms = int(*d);
    }
  }
  if (!have_signal) return std::nullopt;
  return out;
}

}  // namespace switchboard::calls
