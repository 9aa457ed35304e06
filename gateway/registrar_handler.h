// gateway/registrar_handler.h — the RequestHandler of a registrar: REGISTER
// goes to registrar::Registrar, everything else to a fallback handler
// (DefaultRequestHandler: OPTIONS → 200, ACK → nothing, others → 501).
//
//   auto fallback = std::make_shared<switchboard::DefaultRequestHandler>(
//       tags, switchboard::registrar_capabilities());
//   auto handler = std::make_shared<switchboard::RegistrarHandler>(registrar, fallback, tags);
//   options.handler = handler;                      // SipServerOptions
//
// The registrar answers through a callback that may run later on the store's
// writer thread (after the group commit); the Reply is kept in it and
// Reply::send() posts the response to the worker thread that received the
// REGISTER, so the transaction layer stays single-threaded.
//
// Threading: handle() is called from every worker thread at once; the
// Registrar and the fallback are thread-safe.
#ifndef SWITCHBOARD_GATEWAY_REGISTRAR_HANDLER_H_
#define SWITCHBOARD_GATEWAY_REGISTRAR_HANDLER_H_

#include <memory>

#include "gateway/default_handler.h"
#include "gateway/metrics/metrics.h"
#include "gateway/request_handler.h"
#include "gateway/tag_source.h"
#include "registrar/registrar.h"
#include "sip/transport/source.h"

namespace switchboard {

// What a registrar advertises in Allow / Supported (OPTIONS and 501s).
Capabilities registrar_capabilities();

// The registrar's view of where a request came from.
registrar::RequestContext request_context(const sip::transport::Source& source, std::string to_tag);

class RegistrarHandler final : public RequestHandler {
 public:
  // `registrar` must outlive the handler.
  RegistrarHandler(registrar::Registrar& registrar, std::shared_ptr<RequestHandler> fallback,
                   TagSource tags);

  void handle(const sip::Message& request, const sip::transport::Source& source,
              Reply reply) override;

  // Observes each REGISTER's handling time (receipt → response ready), in
  // seconds. Set before traffic; nullptr: not timed. Must outlive the handler.
  void set_duration_histogram(metrics::Histogram* histogram) { duration_ = histogram; }

 private:
  metrics::Histogram* duration_ = nullptr;
  registrar::Registrar& registrar_;
  std::shared_ptr<RequestHandler> fallback_;
  TagSource tags_;
};

}  // namespace switchboard

#endif  // SWITCHBOARD_GATEWAY_REGISTRAR_HANDLER_H_
