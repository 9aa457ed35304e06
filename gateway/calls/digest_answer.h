// gateway/calls/digest_answer.h — answering a device's 401/407 to our INVITE
// (RFC 3261 §22.2/§22.3, RFC 7616, RFC 8760) with the credentials the API
// caller gave in CreateCall.
//
// Of several challenges the first one whose algorithm we can compute is
// answered (RFC 8760 §2.4: the server lists its preference first). qop=auth
// is used when offered, auth-int when only it is, RFC 2069 style otherwise;
// opaque is echoed.
//
//   auto a = answer_challenge(response_407, "INVITE", "sip:alice@192.0.2.4", "alice", pw, cnonce, sdp);
//   if (a) invite.header(a->header_name, a->value);   // "Proxy-Authorization"
//
// Threading: pure function. Never logs; the password is only hashed.
#ifndef SWITCHBOARD_GATEWAY_CALLS_DIGEST_ANSWER_H_
#define SWITCHBOARD_GATEWAY_CALLS_DIGEST_ANSWER_H_

#include <optional>
#include <string>
#include <string_view>

#include "sip/message.h"

namespace switchboard::calls {

struct DigestAnswer {
  std::string header_name;  // "Authorization" (401) or "Proxy-Authorization" (407)
  std::string value;        // "Digest username=\"…\", realm=…, response=…"
};

// nullopt when `response` is not a 401/407 or carries no challenge we can answer.
std::optional<DigestAnswer> answer_challenge(const sip::Message& response, std::string_view method,
                                             std::string_view uri, std::string_view username,
                                             std::string_view password, std::string_view cnonce,
                                             std::string_view body);

}  // namespace switchboard::calls

#endif  // SWITCHBOARD_GATEWAY_CALLS_DIGEST_ANSWER_H_
