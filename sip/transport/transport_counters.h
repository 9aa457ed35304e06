// sip/transport/transport_counters.h — what the transport saw, for metrics.
//
// One instance is shared by every worker thread of a server; fields are
// atomics updated with relaxed ordering (they are statistics, not
// synchronisation). `tcp_active` is also the gauge that enforces the
// connection limit across threads.
#ifndef SWITCHBOARD_SIP_TRANSPORT_TRANSPORT_COUNTERS_H_
#define SWITCHBOARD_SIP_TRANSPORT_TRANSPORT_COUNTERS_H_

#include <atomic>
#include <cstdint>

namespace sip::transport {

struct TransportCounters {
  std::atomic<uint64_t> datagrams_received{0};
  std::atomic<uint64_t> datagrams_sent{0};
  std::atomic<uint64_t> datagram_send_failures{0};  // would block, or socket error
  std::atomic<uint64_t> keepalives_received{0};     // CRLF-only datagrams, RFC 5626 pings
  std::atomic<uint64_t> pongs_sent{0};
  std::atomic<uint64_t> tcp_accepted{0};
  std::atomic<uint64_t> tcp_refused{0};             // beyond the connection limit
  std::atomic<uint64_t> tcp_closed{0};              // every close, whatever the reason
  std::atomic<uint64_t> tcp_closed_idle{0};
  std::atomic<uint64_t> tcp_framing_errors{0};
  std::atomic<uint64_t> tcp_write_overflows{0};     // closed because the peer did not read
  std::atomic<uint64_t> tcp_send_failures{0};       // send to a connection that is gone
  std::atomic<int64_t> tcp_active{0};               // open connections (gauge)
};

inline void bump(std::atomic<uint64_t>& counter) { counter.fetch_add(1, std::memory_order_relaxed); }

}  // namespace sip::transport

#endif  // SWITCHBOARD_SIP_TRANSPORT_TRANSPORT_COUNTERS_H_
