// sip/via.h — one Via value (RFC 3261 §20.42, RFC 3581 rport).
//
//   sip::Via via;
//   sip::parse_via("SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK77;rport", via);
//   via.transport;   // "UDP"
//   via.branch();    // "z9hG4bK77"
//   via.rport();     // optional(""): present without value
#ifndef SWITCHBOARD_SIP_VIA_H_
#define SWITCHBOARD_SIP_VIA_H_

#include <cstdint>
#include <optional>
#include <string_view>

#include "sip/params.h"
#include "sip/uri.h"

namespace sip {

// RFC 3261 §8.1.1.7: branches of RFC 3261 elements start with this.
inline constexpr std::string_view kMagicCookie = "z9hG4bK";

struct Via {
  std::string_view protocol_name;     // "SIP"
  std::string_view protocol_version;  // "2.0"
  std::string_view transport;         // "UDP", "TCP", "TLS", "SCTP", "WS", or any token
  std::string_view host;              // sent-by host (IPv6 with brackets)
  HostKind host_kind = HostKind::kNone;
  uint16_t port = 0;                  // sent-by port, 0 when absent
  std::string_view params;            // raw, from the first ';'
  std::string_view text;              // the whole value

  ParamList param_list() const { return ParamList(params, ParamList::kHeader); }
  std::optional<std::string_view> param(std::string_view name) const { return param_list().get(name); }
  std::string_view branch() const { return param("branch").value_or(std::string_view()); }
  std::optional<std::string_view> rport() const { return param("rport"); }
  std::optional<std::string_view> received() const { return param("received"); }
  std::optional<std::string_view> maddr() const { return param("maddr"); }
  // The sent-by host without IPv6 brackets.
  std::string_view host_address() const {
    if (host.size() >= 2 && host.front() == '[') return host.substr(1, host.size() - 2);
    return host;
  }
  // sent-by as "host[:port]", a view into the value.
  std::string_view sent_by() const;
  // True when the branch carries the RFC 3261 magic cookie with an identifier after it.
  bool rfc3261_branch() const {
    std::string_view b = branch();
    return b.size() > kMagicCookie.size() && b.substr(0, kMagicCookie.size()) == kMagicCookie;
  }
};

bool parse_via(std::string_view text, Via& out, const char** why = nullptr);

}  // namespace sip

#endif  // SWITCHBOARD_SIP_VIA_H_
