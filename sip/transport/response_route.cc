// sip/transport/response_route.cc — see response_route.h.
#include "sip/transport/response_route.h"

namespace sip::transport {

Source response_destination(const sip::Via* top_via, const Source& source) {
  Source to = source;
  if (source.reliable() || top_via == nullptr) return to;
  if (top_via->rport().has_value()) return to;  // RFC 3581 §4: source port
  to.remote_port = top_via->port != 0 ? top_via->port : kDefaultSipPort;
  return to;
}

Source response_destination(const sip::Message& request, const Source& source) {
  const auto& via = request.top_via();
  return response_destination(via ? &*via : nullptr, source);
}

}  // namespace sip::transport
