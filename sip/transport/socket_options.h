// sip/transport/socket_options.h — socket options Asio 1.74 does not name,
// and the bind-conflict probe.
//
// Every worker thread binds its own socket to the same address with
// SO_REUSEPORT; the kernel then spreads datagrams and connections over them by
// hashing the 4-tuple, so retransmissions from one source keep hitting the same
// thread (and its transaction table). SO_REUSEPORT also lets a *foreign*
// process of the same user join the group silently, so before binding a group
// we probe the address with a plain socket: a conflict shows up as
// EADDRINUSE there.
//
// Threading: pure functions on sockets the caller owns.
#ifndef SWITCHBOARD_SIP_TRANSPORT_SOCKET_OPTIONS_H_
#define SWITCHBOARD_SIP_TRANSPORT_SOCKET_OPTIONS_H_

#include <sys/socket.h>

#include <boost/asio/detail/socket_option.hpp>
#include <boost/system/error_code.hpp>
#include <optional>

#include "sip/transport/listen_address.h"

namespace sip::transport {

using ReusePort = boost::asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

// Binds a throw-away socket (no SO_REUSEPORT) to `at` and closes it. Returns
// the port that was free — the kernel's pick when `at.port` is 0 — or nullopt
// with `ec` set (EADDRINUSE when another socket holds the address).
std::optional<uint16_t> probe_bind(const ListenAddress& at, boost::system::error_code& ec);

}  // namespace sip::transport

#endif  // SWITCHBOARD_SIP_TRANSPORT_SOCKET_OPTIONS_H_
