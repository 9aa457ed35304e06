// gateway/sip_router.cc — see sip_router.h.
#include "gateway/sip_router.h"

#include "gateway/calls/call_engine.h"

namespace switchboard {

Capabilities call_capabilities() {
  Capabilities c;
  c.allow = "INVITE, ACK, CANCEL, BYE, INFO, UPDATE, OPTIONS, REGISTER";
  return c;
}

SipRouter::SipRouter(std::shared_ptr<RequestHandler> registrar,
                     std::shared_ptr<RequestHandler> calls, std::shared_ptr<RequestHandler> fallback)
    : registrar_(std::move(registrar)), calls_(std::move(calls)), fallback_(std::move(fallback)) {}

void SipRouter::handle(const sip::Message& request, const sip::transport::Source& source,
                       Reply reply) {
  RequestHandler* target = fallback_.get();
  if (request.method_id() == sip::Method::kRegister) {
    if (registrar_) target = registrar_.get();
  } else if (calls_) {
    bool in_dialog = request.to() && !request.to()->tag().empty();
    if (calls::CallEngine::handles_method(request.method()) ||
        (request.method_id() == sip::Method::kOptions && in_dialog))
      target = calls_.get();
  }
  target->handle(request, source, std::move(reply));
}

}  // namespace switchboard
