// sip/transport/response_route.h — where a response goes (RFC 3261 §18.2.2,
// RFC 3581 §4).
//
//   * TCP: back over the connection the request came on (same Source).
//   * UDP with `rport` in the top Via: the request's source IP and port —
//     the only address that works through NAT.
//   * UDP without `rport`: the source IP (which is what `received=` holds
//     whenever sent-by differs) and the Via sent-by port, 5060 when absent.
//
// `maddr` (multicast) is deliberately ignored: honouring it would let anyone
// aim our responses at a third party. The response always leaves from the
// socket the request arrived on (the Source's local endpoint).
//
// Threading: pure functions.
#ifndef SWITCHBOARD_SIP_TRANSPORT_RESPONSE_ROUTE_H_
#define SWITCHBOARD_SIP_TRANSPORT_RESPONSE_ROUTE_H_

#include "sip/message.h"
#include "sip/transport/source.h"
#include "sip/via.h"

namespace sip::transport {

inline constexpr uint16_t kDefaultSipPort = 5060;

// The destination for a response to a request that arrived from `source` with
// top Via `top_via` (nullptr: no usable Via — then the source itself).
Source response_destination(const sip::Via* top_via, const Source& source);

// Same, taking the top Via from the request.
Source response_destination(const sip::Message& request, const Source& source);

}  // namespace sip::transport

#endif  // SWITCHBOARD_SIP_TRANSPORT_RESPONSE_ROUTE_H_
