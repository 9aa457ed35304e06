// gateway/sip_metrics.cc — see sip_metrics.h.
#include "gateway/sip_metrics.h"

#include <string>

namespace switchboard {

std::string_view method_label(sip::Method method) {
  switch (method) {
    case sip::Method::kAck: return "ACK";
    case sip::Method::kBye: return "BYE";
    case sip::Method::kCancel: return "CANCEL";
    case sip::Method::kInfo: return "INFO";
    case sip::Method::kInvite: return "INVITE";
    case sip::Method::kMessage: return "MESSAGE";
    case sip::Method::kNotify: return "NOTIFY";
    case sip::Method::kOptions: return "OPTIONS";
    case sip::Method::kPrack: return "PRACK";
    case sip::Method::kPublish: return "PUBLISH";
    case sip::Method::kRefer: return "REFER";
    case sip::Method::kRegister: return "REGISTER";
    case sip::Method::kSubscribe: return "SUBSCRIBE";
    case sip::Method::kUpdate: return "UPDATE";
    case sip::Method::kUnknown: break;
  }
  return "other";
}

SipMetrics::SipMetrics(metrics::Registry& registry)
    : requests_(registry.counter("switchboard_sip_requests_total",
                                 "SIP requests received (parsed), by method and transport.",
                                 {"method", "transport"})),
      responses_(registry.counter("switchboard_sip_responses_total",
                                  "SIP responses sent (retransmissions too), by request method "
                                  "and status code.",
                                  {"method", "code"})) {}

void SipMetrics::count_request(sip::Method method, sip::transport::Protocol protocol) {
  size_t m = size_t(method) < kMethods ? size_t(method) : 0;
  size_t t = protocol == sip::transport::Protocol::kTcp ? 1 : 0;
  std::atomic<metrics::Counter*>& slot = request_cache_[m * kTransports + t];
  metrics::Counter* c = slot.load(std::memory_order_acquire);
  if (c == nullptr) {
    c = &requests_.with({method_label(method), sip::transport::protocol_name(protocol)});
    slot.store(c, std::memory_order_release);  // any racing thread stores the same pointer
  }
  c->inc();
}

namespace {

// The method token after "CSeq: 123 " starting at `i` (just past the colon).
std::string_view method_after_colon(std::string_view message, size_t i) {
  while (i < message.size() && (message[i] == ' ' || message[i] == '\t')) ++i;
  while (i < message.size() && message[i] >= '0' && message[i] <= '9') ++i;
  while (i < message.size() && (message[i] == ' ' || message[i] == '\t')) ++i;
  size_t start = i;
  while (i < message.size() && message[i] != '\r' && message[i] != '\n' && message[i] != ' ' &&
         message[i] != '\t')
    ++i;
  return message.substr(start, i - start);
}

}  // namespace

std::string_view SipMetrics::cseq_method(std::string_view message) {
  // Fast path: the responses we build write "CSeq: " exactly (a memchr-driven
  // search, ~10 ns). Header names are case-insensitive, and a stateless error
  // copies the request's line as it came, so fall back to a line walk.
  if (size_t at = message.find("\nCSeq: "); at != std::string_view::npos)
    return method_after_colon(message, at + 7);
  size_t pos = 0;
  while ((pos = message.find('\n', pos)) != std::string_view::npos) {
    ++pos;
    if (message.size() - pos < 5) return {};
    std::string_view name = message.substr(pos, 4);
    if ((name[0] | 0x20) == 'c' && (name[1] | 0x20) == 's' && (name[2] | 0x20) == 'e' &&
        (name[3] | 0x20) == 'q') {
      size_t i = pos + 4;
      while (i < message.size() && (message[i] == ' ' || message[i] == '\t')) ++i;
      if (i >= message.size() || message[i] != ':') continue;
      return method_after_colon(message, i + 1);
    }
    if (message[pos] == '\r' || message[pos] == '\n') return {};  // end of headers
  }
  return {};
}

void SipMetrics::count_response(sip::Method method, int status) {
  if (status < 100 || status > 699) return;
  size_t m = size_t(method) < kMethods ? size_t(method) : 0;
  std::atomic<metrics::Counter*>& slot = response_cache_[m * kCodes + size_t(status - 100)];
  metrics::Counter* c = slot.load(std::memory_order_acquire);
  if (c == nullptr) {
    c = &responses_.with({method_label(method), std::to_string(status)});
    slot.store(c, std::memory_order_release);
  }
  c->inc();
}

}  // namespace switchboard
