// gateway/default_handler.cc — see default_handler.h.
#include "gateway/default_handler.h"

namespace switchboard {

DefaultRequestHandler::DefaultRequestHandler(TagSource tags, Capabilities capabilities)
    : tags_(std::move(tags)), capabilities_(std::move(capabilities)) {}

void DefaultRequestHandler::handle(const sip::Message& request,
                                   const sip::transport::Source& source, Reply reply) {
  switch (request.method_id()) {
    case sip::Method::kAck:
      return;  // ACKs are never answered
    case sip::Method::kOptions:
      reply.send(reply.response(request, 200)
                     .to_tag(tags_())
                     .header("Allow", capabilities_.allow)
                     .header("Accept", capabilities_.accept)
                     .header("Supported", capabilities_.supported)
                     .build());
      return;
    default:
      reply.send(reply.response(request, 501)
                     .to_tag(tags_())
                     .header("Allow", capabilities_.allow)
                     .build());
      return;
  }
}

}  // namespace switchboard
