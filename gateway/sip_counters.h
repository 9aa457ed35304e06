// gateway/sip_counters.h — what the SIP server did, for a later Prometheus
// export.
//
// One instance per SipServer, shared by its worker threads. Relaxed atomics:
// these are statistics; nobody synchronises on them.
#ifndef SWITCHBOARD_GATEWAY_SIP_COUNTERS_H_
#define SWITCHBOARD_GATEWAY_SIP_COUNTERS_H_

#include <array>
#include <atomic>
#include <cstdint>

#include "sip/transport/transport_counters.h"

namespace switchboard {

struct SipCounters {
  std::atomic<uint64_t> received{0};          // every framed message, parsable or not
  std::atomic<uint64_t> requests{0};          // parsed requests
  std::atomic<uint64_t> parse_errors{0};      // did not parse (answered 400/505/513 when possible)
  std::atomic<uint64_t> invalid_requests{0};  // parsed but failed sip::check_request
  std::atomic<uint64_t> dropped{0};           // received and not answered: no Via, stray responses, bad ACKs
  std::atomic<uint64_t> responses_received{0};  // every parsed response
  std::atomic<uint64_t> responses_dropped{0};   // of those: no on_response, or not exactly one Via
  std::atomic<uint64_t> retransmissions{0};   // requests absorbed or answered by a transaction
  std::atomic<uint64_t> transactions_refused{0};  // 503: the transaction table was full
  std::atomic<uint64_t> send_failures{0};     // a response could not be sent
  // Responses sent, by class: [1] = 1xx … [6] = 6xx ([0] unused). Replays of a
  // cached response to a retransmission count here too: they go on the wire.
  std::array<std::atomic<uint64_t>, 7> responses_sent{};

  sip::transport::TransportCounters transport;

  void count_response(int status) {
    int cls = status / 100;
    if (cls >= 1 && cls <= 6) responses_sent[size_t(cls)].fetch_add(1, std::memory_order_relaxed);
  }
};

}  // namespace switchboard

#endif  // SWITCHBOARD_GATEWAY_SIP_COUNTERS_H_
