// gateway/api/cidr.cc — see cidr.h.
#include "gateway/api/cidr.h"

#include <arpa/inet.h>

#include <cstdint>
#include <optional>

namespace switchboard::api {

CidrOrError canonical_cidr(std::string_view text) {
  CidrOrError out;
  if (text.empty()) {
    out.error = "must not be empty";
    return out;
  }
  if (text.size() > 64) {
    out.error = "not an IPv4 or IPv6 network";
    return out;
  }
  std::string address(text);
  std::optional<unsigned> prefix;
  if (size_t slash = address.find('/'); slash != std::string::npos) {
    std::string p = address.substr(slash + 1);
    address.resize(slash);
    if (p.empty() || p.size() > 3) {
      out.error = "prefix length must be a number";
      return out;
    }
    unsigned v = 0;
    for (char c : p) {
      if (c < '0' || c > '9') {
        out.error = "prefix length must be a number";
        return out;
      }
      v = v * 10 + unsigned(c - '0');
    }
    prefix = v;
  }
  unsigned char bytes[16] = {};
  int family = 0;
  unsigned bits = 0;
  if (inet_pton(AF_INET, address.c_str(), bytes) == 1) {
    family = AF_INET;
    bits = 32;
  } else if (inet_pton(AF_INET6, address.c_str(), bytes) == 1) {
    family = AF_INET6;
    bits = 128;
  } else {
    out.error = "\"" + address + "\" is not an IPv4 or IPv6 address";
    return out;
  }
  const unsigned length = prefix.value_or(bits);
  if (length > bits) {
    out.error = "prefix length must be at most " + std::to_string(bits);
    return out;
  }
  bool host_bits = false;
  unsigned char network[16] = {};
  for (unsigned i = 0; i < bits / 8; ++i) {
    unsigned keep = length >= (i + 1) * 8 ? 8 : (length > i * 8 ? length - i * 8 : 0);
    auto mask = static_cast<unsigned char>(keep == 0 ? 0 : (0xff << (8 - keep)) & 0xff);
    network[i] = bytes[i] & mask;
    if (network[i] != bytes[i]) host_bits = true;
  }
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(family, network, buf, sizeof(buf));
  std::string canonical = std::string(buf) + "/" + std::to_string(length);
  if (host_bits) {
    out.error = "host bits set: did you mean " + canonical + "?";
    return out;
  }
  out.cidr = std::move(canonical);
  return out;
}

}  // namespace switchboard::api
