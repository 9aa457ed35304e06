// gateway/api/cidr.h — the canonical text of an ACL entry's network, so that
// "2001:DB8::/32" and "2001:db8::/32" are one entry with one resource name.
//
//   CidrOrError c = canonical_cidr("192.0.2.0/24");     // c.cidr = "192.0.2.0/24"
//   canonical_cidr("192.0.2.7");                         // "192.0.2.7/32"
//   canonical_cidr("192.0.2.7/24").error;   // "host bits set: did you mean 192.0.2.0/24?"
//
// Threading: pure functions.
#ifndef SWITCHBOARD_GATEWAY_API_CIDR_H_
#define SWITCHBOARD_GATEWAY_API_CIDR_H_

#include <string>
#include <string_view>

namespace switchboard::api {

struct CidrOrError {
  std::string cidr;   // "address/prefix", address as inet_ntop writes it
  std::string error;  // set iff cidr is empty
  bool ok() const { return !cidr.empty(); }
};

// IPv4 or IPv6, with a prefix (0-32 / 0-128) or without (a single host).
// Addresses with bits set beyond the prefix are refused.
CidrOrError canonical_cidr(std::string_view text);

}  // namespace switchboard::api

#endif  // SWITCHBOARD_GATEWAY_API_CIDR_H_
