// sip/limits.h — bounds on everything taken from the network.
//
// Every parser and transport takes a Limits. A message beyond any bound is
// rejected with a clear error (513 for size, 400 otherwise), never truncated
// silently and never allowed to grow memory without bound.
#ifndef SWITCHBOARD_SIP_LIMITS_H_
#define SWITCHBOARD_SIP_LIMITS_H_

#include <cstddef>

namespace sip {

struct Limits {
  size_t max_message_bytes = 65535;  // whole message, headers and body (UDP's maximum)
  size_t max_headers = 128;          // header lines
  size_t max_header_bytes = 8192;    // one header, folded lines included
  size_t max_uri_bytes = 2048;       // Request-URI and each header URI
  size_t max_vias = 70;              // Via values (RFC 4475 longreq has 34)
  size_t max_contacts = 32;          // Contact values in one message
  size_t max_params = 64;            // parameters in one URI or header value
};

}  // namespace sip

#endif  // SWITCHBOARD_SIP_LIMITS_H_
