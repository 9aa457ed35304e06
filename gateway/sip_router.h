// gateway/sip_router.h — the SIP server's top RequestHandler: sends each
// request to the part of Switchboard that owns its method.
//
//   REGISTER                                   → the registrar handler
//   CallEngine::handles_method() (INVITE, ACK,
//     BYE, CANCEL, INFO, UPDATE, PRACK), and
//     OPTIONS with a To tag (inside a dialog)  → the call engine
//   everything else (OPTIONS, MESSAGE, …)      → the fallback (OPTIONS 200, others 501)
//
//   auto fallback = std::make_shared<DefaultRequestHandler>(tags, call_capabilities());
//   auto registrar_handler = std::make_shared<RegistrarHandler>(registrar, fallback, tags);
//   auto router = std::make_shared<SipRouter>(registrar_handler, nullptr, fallback);
//   sip_options.handler = router;
//   sip_options.on_response = [&engine](std::string_view raw, const Source& s) { engine->on_response(raw, s); };
//   auto server = std::make_unique<SipServer>(std::move(sip_options));
//   call_deps.sip = server.get();
//   engine = std::make_shared<calls::CallEngine>(call_options, call_deps);
//   router->set_calls(engine);                        // before server->start()
//   engine->start(); server->start(&error);
//
// Threading: handle() is called from every worker thread at once; it keeps no
// state of its own, and its targets are thread-safe.
#ifndef SWITCHBOARD_GATEWAY_SIP_ROUTER_H_
#define SWITCHBOARD_GATEWAY_SIP_ROUTER_H_

#include <memory>

#include "gateway/default_handler.h"
#include "gateway/request_handler.h"

namespace switchboard {

// What a registrar with the call layer advertises in Allow (OPTIONS, 501s).
Capabilities call_capabilities();

class SipRouter final : public RequestHandler {
 public:
  // Any target may be null: its requests then go to the fallback.
  // REQUIRES: fallback != nullptr.
  SipRouter(std::shared_ptr<RequestHandler> registrar, std::shared_ptr<RequestHandler> calls,
            std::shared_ptr<RequestHandler> fallback);

  // Sets the call layer after construction: the engine needs the SipServer
  // (to send), and the SipServer needs this router, so one of them comes
  // second. REQUIRES: before SipServer::start() (the workers read it unlocked).
  void set_calls(std::shared_ptr<RequestHandler> calls) { calls_ = std::move(calls); }

  void handle(const sip::Message& request, const sip::transport::Source& source,
              Reply reply) override;

 private:
  std::shared_ptr<RequestHandler> registrar_, calls_, fallback_;
};

}  // namespace switchboard

#endif  // SWITCHBOARD_GATEWAY_SIP_ROUTER_H_
