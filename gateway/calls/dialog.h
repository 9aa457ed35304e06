// gateway/calls/dialog.h — dialog state (RFC 3261 §12): what identifies a
// dialog and what every request inside it carries.
//
// A Dialog is created on the UAC side from our INVITE and the 2xx that won
// (§12.1.2: route set = the 2xx's Record-Route reversed, remote target = its
// Contact, remote tag = its To tag), or on the UAS side from the INVITE we
// answer (§12.1.1: route set = Record-Route in order, remote target = the
// INVITE's Contact). Requests inside it (§12.2.1.1) take the remote target
// as Request-URI, the route set as Route, From/To with both tags, the
// Call-ID and the next local CSeq. Only loose routing (";lr") is supported:
// a strict-routing route set is sent as loose routes anyway (every proxy a
// registered device sits behind today is RFC 3261).
//
// Where requests go is not the remote target's host: a registered device
// sits behind NAT, so the call layer sends in-dialog requests through the
// flow the device used (its binding's received address or the INVITE's
// source) — see `flow` below.
//
// Threading: a value, used on the engine thread.
#ifndef SWITCHBOARD_GATEWAY_CALLS_DIALOG_H_
#define SWITCHBOARD_GATEWAY_CALLS_DIALOG_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sip/message.h"
#include "sip/request_builder.h"
#include "sip/transport/source.h"

namespace switchboard::calls {

struct Dialog {
  std::string call_id;
  std::string local_tag, remote_tag;
  std::string local_party;    // our From (UAC) / To (UAS) value, with our tag
  std::string remote_party;   // the peer's, with its tag
  std::string remote_target;  // the peer's Contact URI
  std::vector<std::string> route_set;  // Route values in sending order
  uint32_t local_cseq = 0;
  std::optional<uint32_t> remote_cseq;
  // How our requests leave: the flow (UDP source address / TCP connection),
  // our Via transport token and sent-by, and our Contact value.
  sip::transport::Source flow;
  std::string via_transport;  // "UDP" / "TCP"
  std::string sent_by;        // "192.0.2.1:5060"
  std::string local_contact;  // "<sip:switchboard@192.0.2.1:5060>"

  // The dialog's id, for lookups (length-prefixed: no collisions).
  std::string key() const;

  // The next request in the dialog with a fresh CSeq (§12.2.1.1).
  sip::RequestBuilder request(std::string_view method, std::string_view branch);
  // The ACK of a 2xx (§13.2.2.4): CSeq number of the INVITE, new branch.
  sip::RequestBuilder ack(uint32_t invite_cseq, std::string_view branch) const;
  // §12.2.2: a request with a CSeq lower than the last one seen is out of
  // order (answer 500); false then. Records it otherwise.
  bool accept_remote_cseq(uint32_t cseq);
};

std::string dialog_key(std::string_view call_id, std::string_view local_tag,
                       std::string_view remote_tag);

// The UAC's dialog from our INVITE and a 2xx to it (a 2xx without Contact
// gets the INVITE's Request-URI as remote target). nullopt without a To
// header. `flow`, `via_transport`, `sent_by` and `local_contact` are the
// caller's to fill in.
std::optional<Dialog> dialog_from_2xx(const sip::RequestBuilder& invite, const sip::Message& ok,
                                      std::string_view local_tag);

// The UAS's dialog from the INVITE being answered with `local_tag`.
// nullopt when the INVITE has no Contact or no From tag.
std::optional<Dialog> dialog_from_invite(const sip::Message& invite, std::string_view local_tag);

// The Record-Route values of a message, in order.
std::vector<std::string> record_route_values(const sip::Message& m);

}  // namespace switchboard::calls

#endif  // SWITCHBOARD_GATEWAY_CALLS_DIALOG_H_
