// gateway/registrar_handler.cc — see registrar_handler.h.
#include "gateway/registrar_handler.h"

#include <chrono>
#include <string>
#include <utility>

namespace switchboard {

Capabilities registrar_capabilities() {
  Capabilities c;
  c.allow = "REGISTER, OPTIONS, ACK";
  return c;
}

registrar::RequestContext request_context(const sip::transport::Source& source,
                                          std::string to_tag) {
  registrar::RequestContext context;
  context.transport = std::string(sip::transport::protocol_name(source.protocol));
  context.source_ip = source.remote_ip();
  context.source_port = source.remote_port;
  context.local_address = context.transport + ":" +
                          sip::transport::format_host_port(source.local_address, source.local_port);
  context.connection_id = source.connection;
  context.to_tag = std::move(to_tag);
  return context;
}

RegistrarHandler::RegistrarHandler(registrar::Registrar& registrar,
                                   std::shared_ptr<RequestHandler> fallback, TagSource tags)
    : registrar_(registrar), fallback_(std::move(fallback)), tags_(std::move(tags)) {}

void RegistrarHandler::handle(const sip::Message& request, const sip::transport::Source& source,
                              Reply reply) {
  if (request.method_id() != sip::Method::kRegister) {
    fallback_->handle(request, source, std::move(reply));
    return;
  }
  if (duration_ == nullptr) {
    registrar_.handle_register(request, request_context(source, tags_()),
                               [reply = std::move(reply)](std::string wire) {
                                 // Empty: send nothing (a throttled source in drop mode).
                                 if (!wire.empty()) reply.send(std::move(wire));
                               });
    return;
  }
  // Timed from here to the answer: authentication, the store's group commit
  // (the 200 waits for durability) and building the response.
  const auto start = std::chrono::steady_clock::now();
  registrar_.handle_register(
      request, request_context(source, tags_()),
      [reply = std::move(reply), start, duration = duration_](std::string wire) {
        duration->observe(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
        if (!wire.empty()) reply.send(std::move(wire));
      });
}

}  // namespace switchboard
