// sip/validate.h — what a UAS checks before it processes a request (RFC 3261
// §8.2.1–§8.2.3, §18.3) and RFC 4475's "valid but wrong" cases.
//
//   sip::Verdict v = sip::check_request(msg, {.supported = {"path", "outbound"}});
//   if (!v.ok()) send(sip::ResponseBuilder(msg, v.status, v.reason)
//                       .header_if(!v.unsupported.empty(), "Unsupported", v.unsupported)...);
#ifndef SWITCHBOARD_SIP_VALIDATE_H_
#define SWITCHBOARD_SIP_VALIDATE_H_

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "sip/message.h"

namespace sip {

struct Verdict {
  int status = 0;           // 0: go ahead; else the final response to send
  std::string reason;       // reason phrase / log text for a person
  std::string unsupported;  // for 420: the Require option-tags not supported
  bool ok() const { return status == 0; }
};

struct RequestPolicy {
  std::vector<std::string_view> supported;  // option-tags this element implements
  bool accept_tel_uri = false;              // else a tel: Request-URI gets 416
};

// Checks, in order: one each of Call-ID, CSeq, From, To (400); at least one Via
// (400); Max-Forwards at most once; Content-Length consistent with the body (400);
// CSeq method equal to the request method (400, except ACK/CANCEL rules);
// the Request-URI scheme (416); Require option-tags (420).
Verdict check_request(const Message& request, const RequestPolicy& policy);

// A response is discarded (never answered) when this returns false: missing or
// duplicate Via / CSeq / Call-ID, or a conflicting Content-Length.
bool response_acceptable(const Message& response, std::string* why = nullptr);

}  // namespace sip

#endif  // SWITCHBOARD_SIP_VALIDATE_H_
