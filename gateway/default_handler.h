// gateway/default_handler.h — what the server does until an application
// handles a method: OPTIONS → 200 with our capabilities (RFC 3261 §11.2),
// ACK → nothing, anything else → 501 Not Implemented with Allow (§8.2.1,
// §21.5.2).
//
// Threading: stateless apart from the TagSource, which is thread-safe; one
// instance serves every worker thread.
#ifndef SWITCHBOARD_GATEWAY_DEFAULT_HANDLER_H_
#define SWITCHBOARD_GATEWAY_DEFAULT_HANDLER_H_

#include <string>

#include "gateway/request_handler.h"
#include "gateway/tag_source.h"

namespace switchboard {

struct Capabilities {
  std::string allow = "OPTIONS, ACK";         // methods this element accepts
  std::string supported = "path, outbound";   // option-tags (RFC 3327, RFC 5626)
  std::string accept = "application/sdp";
};

class DefaultRequestHandler : public RequestHandler {
 public:
  explicit DefaultRequestHandler(TagSource tags, Capabilities capabilities = Capabilities());

  void handle(const sip::Message& request, const sip::transport::Source& source,
              Reply reply) override;

  const Capabilities& capabilities() const { return capabilities_; }

 private:
  TagSource tags_;
  Capabilities capabilities_;
};

}  // namespace switchboard

#endif  // SWITCHBOARD_GATEWAY_DEFAULT_HANDLER_H_
