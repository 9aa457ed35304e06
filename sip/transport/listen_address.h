// sip/transport/listen_address.h — where a listener binds: "udp:127.0.0.1:5060",
// "tcp:[::1]:5060", "udp:0.0.0.0:5060".
//
// The command line and the configuration name listeners this way. Only IP
// literals are accepted (no host names): a listener binds before any resolver
// could be trusted, and a name resolving to several addresses would be
// ambiguous. IPv6 literals must be bracketed so the port is unambiguous.
// Port 0 asks the kernel for an ephemeral port (tests use it).
//
//   std::string error;
//   auto a = sip::transport::parse_listen_address("tcp:[::1]:5060", &error);
//   if (!a) die(error);        // "bad address ..." / "unknown transport ..." / "bad port ..."
//   a->to_string();            // "tcp:[::1]:5060"
//
// Threading: plain values and pure functions.
#ifndef SWITCHBOARD_SIP_TRANSPORT_LISTEN_ADDRESS_H_
#define SWITCHBOARD_SIP_TRANSPORT_LISTEN_ADDRESS_H_

#include <boost/asio/ip/address.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sip::transport {

enum class Protocol : uint8_t { kUdp, kTcp };

// "udp" / "tcp" (lower case, as in listen addresses and logs).
std::string_view protocol_name(Protocol p);

struct ListenAddress {
  Protocol protocol = Protocol::kUdp;
  boost::asio::ip::address address;
  uint16_t port = 0;  // 0: ephemeral

  // "udp:127.0.0.1:5060", "tcp:[::1]:5060": parse_listen_address() reads it back.
  std::string to_string() const;
  // "127.0.0.1:5060", "[::1]:5060".
  std::string host_port() const;

  bool operator==(const ListenAddress&) const = default;
};

// Parses TRANSPORT:ADDRESS:PORT (transport case-insensitive). On failure
// returns nullopt and, when `error` is given, a sentence naming the bad part.
std::optional<ListenAddress> parse_listen_address(std::string_view text, std::string* error);

// "192.0.2.1:5060" or "[2001:db8::1]:5060".
std::string format_host_port(const boost::asio::ip::address& address, uint16_t port);

}  // namespace sip::transport

#endif  // SWITCHBOARD_SIP_TRANSPORT_LISTEN_ADDRESS_H_
