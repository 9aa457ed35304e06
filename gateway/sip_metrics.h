// gateway/sip_metrics.h — the SIP server's Prometheus counters:
//
//   switchboard_sip_requests_total{method,transport}   every parsed request received
//   switchboard_sip_responses_total{method,code}       every response sent (replays too)
//
// Cheap on the hot path: each (method, transport) and (method, code) child is
// looked up in its family once and then cached in a fixed table of atomic
// pointers; counting is one relaxed add on the calling thread's shard
// (gateway/metrics/metrics.h). No lock per message.
//
// Label values are bounded: `method` is one of RFC 3261/3262/3265/3311/3428/
// 3515/3903/6086 methods or "other" (a client cannot invent label values),
// `code` is 100-699, `transport` udp or tcp.
//
// Threading: every method is thread-safe.
#ifndef SWITCHBOARD_GATEWAY_SIP_METRICS_H_
#define SWITCHBOARD_GATEWAY_SIP_METRICS_H_

#include <array>
#include <atomic>
#include <string_view>

#include "gateway/metrics/metrics.h"
#include "sip/message.h"
#include "sip/transport/listen_address.h"

namespace switchboard {

class SipMetrics {
 public:
  explicit SipMetrics(metrics::Registry& registry);

  void count_request(sip::Method method, sip::transport::Protocol protocol);
  // A response sent to a `method` request (its CSeq method; cseq_method()).
  void count_response(sip::Method method, int status);

  // The CSeq method token of a serialized message ("" when none is found).
  static std::string_view cseq_method(std::string_view message);

 private:
  static constexpr size_t kMethods = size_t(sip::Method::kUpdate) + 1;
  static constexpr size_t kTransports = 2;
  static constexpr size_t kCodes = 600;  // 100..699

  metrics::Family<metrics::Counter>& requests_;
  metrics::Family<metrics::Counter>& responses_;
  std::array<std::atomic<metrics::Counter*>, kMethods * kTransports> request_cache_{};
  std::array<std::atomic<metrics::Counter*>, kMethods * kCodes> response_cache_{};
};

// The label for a method: its name, or "other" for kUnknown.
std::string_view method_label(sip::Method method);

}  // namespace switchboard

#endif  // SWITCHBOARD_GATEWAY_SIP_METRICS_H_
