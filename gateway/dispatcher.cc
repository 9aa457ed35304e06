// gateway/dispatcher.cc — see dispatcher.h.
#include "gateway/dispatcher.h"

#include <algorithm>

#include "sip/response.h"
#include "sip/transaction/transaction_key.h"
#include "sip/transport/response_route.h"

namespace switchboard {

using sip::transaction::ServerTransactionTable;
using State = sip::transaction::ServerTransactionTable::State;
using sip::transport::bump;
using sip::transport::Source;

namespace {

// Warnings an attacker can trigger at will (connection floods, a full
// transaction table) are logged on the 1st, 2nd, 4th, 8th... occurrence:
// the log shows the problem and its scale without growing with the flood.
bool worth_logging(uint64_t occurrences) {
  return occurrences != 0 && (occurrences & (occurrences - 1)) == 0;
}

}  // namespace

Dispatcher::Dispatcher(boost::asio::io_context& io, DispatcherOptions options,
                       SipCounters& counters)
    : io_(io),
      options_(std::move(options)),
      counters_(counters),
      logger_(options_.logger),
      table_(options_.transactions),
      expiry_timer_(io),
      retransmit_timer_(io) {
  // RequestPolicy holds views: they point into options_.supported, which
  // lives as long as this Dispatcher.
  for (const std::string& tag : options_.supported) policy_.supported.emplace_back(tag);
}

void Dispatcher::start() {
  stopped_ = false;
  arm_expiry_timer();
}

void Dispatcher::stop() {
  stopped_ = true;
  expiry_timer_.cancel();
  retransmit_timer_.cancel();
  retransmit_armed_for_.reset();
}

void Dispatcher::arm_expiry_timer() {
  expiry_timer_.expires_after(options_.expiry_interval);
  expiry_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopped_) return;
    table_.expire(options_.clock->now());
    // Also a safety net for Timer G when the injected clock jumps (tests).
    retransmit_due();
    arm_expiry_timer();
  });
}

void Dispatcher::arm_retransmit_timer() {
  if (stopped_) return;
  std::optional<sip::Clock::time_point> next = table_.next_retransmission();
  if (!next) return;
  if (retransmit_armed_for_ && *retransmit_armed_for_ <= *next) return;  // fires early enough
  retransmit_armed_for_ = *next;
  // The table runs on the injected clock, the timer on the steady clock: wait
  // the difference (with a ManualClock the expiry timer catches up).
  sip::Clock::duration delay =
      std::max(*next - options_.clock->now(), sip::Clock::duration::zero());
  retransmit_timer_.expires_after(delay);  // cancels a wait armed for later
  retransmit_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec == boost::asio::error::operation_aborted || stopped_) return;
    retransmit_armed_for_.reset();
    retransmit_due();
  });
}

void Dispatcher::retransmit_due() {
  auto resend = [this](const ServerTransactionTable::Transaction& t) {
    send_stateless(t.destination, t.last_response, t.last_status, sip::Method::kInvite);
  };
  table_.retransmit_due(options_.clock->now(), resend);
  arm_retransmit_timer();
}

void Dispatcher::on_message(sip::ParseResult& parsed, std::string_view raw, const Source& source) {
  bump(counters_.received);
  if (!parsed.ok()) {
    on_unparsable(parsed.error(), raw, source);
    return;
  }
  const sip::Message& message = parsed.message();
  if (message.is_response()) {
    on_response(message, raw, source);
    return;
  }
  bump(counters_.requests);
  if (options_.metrics) options_.metrics->count_request(message.method_id(), source.protocol);
  on_request(message, source);
}

void Dispatcher::on_response(const sip::Message& response, std::string_view raw,
                             const Source& source) {
  bump(counters_.responses_received);
  // RFC 3261 §18.1.2: we send requests with exactly one Via (we never proxy);
  // a response without one cannot be matched, one with more was not for us.
  const char* why = nullptr;
  if (!response.top_via() || response.via_count() != 1)
    why = "not exactly one Via";
  else if (!options_.on_response)
    why = "no client transactions";
  if (why != nullptr) {
    bump(counters_.responses_dropped);
    bump(counters_.dropped);
    if (debug())
      logger_->debug("response dropped", {{"source", source.to_string()},
                                          {"status", response.status_code()},
                                          {"reason", why}});
    return;
  }
  options_.on_response(raw, source);
}

void Dispatcher::on_unparsable(const sip::ParseError& error, std::string_view raw,
                               const Source& source) {
  bump(counters_.parse_errors);
  int status = error.status >= 400 && error.status <= 699 ? error.status : 400;
  std::string reason = safe_reason(error.reason, sip::default_reason(status));
  std::optional<std::string> response = sip::build_error_for_unparsed(
      raw, status, reason, source.remote_ip(), source.remote_port, options_.tags());
  if (debug())
    logger_->debug("unparsable message", {{"source", source.to_string()},
                                          {"status", status},
                                          {"reason", error.reason},
                                          {"answered", response.has_value()}});
  if (!response) {
    bump(counters_.dropped);  // a response, or no Via: nowhere to answer
    return;
  }
  // The Via did not parse, so neither rport nor sent-by can be trusted:
  // answer the address the bytes came from.
  send_stateless(source, std::move(*response), status);
}

void Dispatcher::on_request(const sip::Message& request, const Source& source) {
  const bool is_ack = request.method_id() == sip::Method::kAck;
  if (!request.top_via()) {
    bump(counters_.dropped);
    return;
  }
  const Source destination = sip::transport::response_destination(request, source);

  sip::Verdict verdict = sip::check_request(request, policy_);
  if (!verdict.ok()) {
    bump(counters_.invalid_requests);
    if (debug())
      logger_->debug("invalid request", {{"source", source.to_string()},
                                         {"method", request.method()},
                                         {"status", verdict.status},
                                         {"reason", verdict.reason}});
    if (is_ack) {
      bump(counters_.dropped);  // an ACK is never answered (RFC 3261 §17.1.1.3)
      return;
    }
    sip::ResponseBuilder builder(request, verdict.status,
                                 safe_reason(verdict.reason, sip::default_reason(verdict.status)));
    builder.to_tag(options_.tags()).received_from(source.remote_ip(), source.remote_port);
    if (!verdict.unsupported.empty()) builder.header("Unsupported", verdict.unsupported);
    send_stateless(destination, builder.build(), verdict.status, request.method_id());
    return;
  }

  std::optional<sip::transaction::TransactionKey> key =
      sip::transaction::server_transaction_key(request);
  if (key) {
    if (is_ack) {
      // The ACK of our non-2xx final (or a repeat): never the application's
      // business. An ACK for a 2xx matches nothing and goes on.
      if (absorb_ack(*key)) return;
    } else if (const ServerTransactionTable::Transaction* t = table_.find(*key)) {
      // A retransmission: answered with the last provisional or non-2xx
      // final; absorbed silently before any response, after an INVITE's 2xx
      // (Accepted: the TU retransmits its 2xx itself) and once Confirmed.
      bump(counters_.retransmissions);
      bool replay = !t->last_response.empty() && t->state != State::kAccepted &&
                    t->state != State::kConfirmed;
      if (replay) send_stateless(destination, t->last_response, t->last_status, request.method_id());
      return;
    }
  }

  if (is_ack) {
    options_.handler->handle(request, source,
                             Reply(weak_from_this(), source, destination, std::nullopt, false,
                                   request.method_id()));
    return;
  }

  if (options_.draining && options_.draining->load(std::memory_order_relaxed)) {
    const bool new_invite = request.method_id() == sip::Method::kInvite && request.to() &&
                            !request.to()->param_list().has("tag");
    if (request.method_id() == sip::Method::kRegister || new_invite) {
      send_draining_503(request, source, destination);
      return;
    }
  }

  if (key) {
    if (request.method_id() == sip::Method::kInvite) {
      if (!start_invite(request, source, destination, *key)) return;
    } else if (table_.insert(*key, source.reliable(), options_.clock->now()) ==
               ServerTransactionTable::Insert::kFull) {
      send_503(request, source, destination);
      return;
    }
  }
  options_.handler->handle(request, source,
                           Reply(weak_from_this(), source, destination, std::move(key), true,
                                 request.method_id()));
}

bool Dispatcher::absorb_ack(const sip::transaction::TransactionKey& key) {
  switch (table_.ack(key, options_.clock->now())) {
    case ServerTransactionTable::Ack::kConfirmed:
    case ServerTransactionTable::Ack::kAbsorbed:
      bump(counters_.retransmissions);
      return true;
    case ServerTransactionTable::Ack::kNoMatch:
    case ServerTransactionTable::Ack::kAccepted:  // an RFC 2543 client's ACK for our 2xx
      return false;
  }
  return false;
}

bool Dispatcher::start_invite(const sip::Message& request, const Source& source,
                              const Source& destination,
                              const sip::transaction::TransactionKey& key) {
  if (table_.insert_invite(key, destination, options_.clock->now()) ==
      ServerTransactionTable::Insert::kFull) {
    send_503(request, source, destination);
    return false;
  }
  // §17.2.1: 100 Trying unless the TU answers within 200 ms — we always send
  // it (as Kamailio's t_newtran + 100 does), and it is the transaction's
  // provisional until the TU sends one of its own. No To tag on a 100; the
  // Timestamp is echoed (§8.2.6.1).
  sip::ResponseBuilder trying(request, 100);
  trying.received_from(source.remote_ip(), source.remote_port);
  std::string_view timestamp = request.header(sip::HeaderId::kTimestamp);
  if (!timestamp.empty()) trying.header("Timestamp", timestamp);
  send_response(key, destination, trying.build(), sip::Method::kInvite);
  return true;
}

void Dispatcher::send_draining_503(const sip::Message& request, const Source& source,
                                   const Source& destination) {
  // Stateless: a retransmission gets the same answer. Retry-After tells the
  // device to come back (to another replica behind the same name, or to us
  // after a restart) instead of treating the registrar as failed.
  sip::ResponseBuilder builder(request, 503, "Service Unavailable (shutting down)");
  builder.to_tag(options_.tags())
      .received_from(source.remote_ip(), source.remote_port)
      .header("Retry-After", std::to_string(options_.retry_after_seconds));
  send_stateless(destination, builder.build(), 503, request.method_id());
}

void Dispatcher::send_503(const sip::Message& request, const Source& source,
                          const Source& destination) {
  uint64_t refused = counters_.transactions_refused.fetch_add(1, std::memory_order_relaxed) + 1;
  if (logger_ && logger_->enabled(LogLevel::kWarn) && worth_logging(refused))
    logger_->warn("transaction table full", {{"size", table_.size()}, {"refused_total", refused}});
  sip::ResponseBuilder builder(request, 503);
  builder.to_tag(options_.tags())
      .received_from(source.remote_ip(), source.remote_port)
      .header("Retry-After", std::to_string(options_.retry_after_seconds));
  send_stateless(destination, builder.build(), 503, request.method_id());
}

bool Dispatcher::send_response(const std::optional<sip::transaction::TransactionKey>& key,
                               const Source& destination, std::string bytes, sip::Method method) {
  int status = response_status(bytes);
  if (status == 0) return false;
  if (key) {
    auto recorded = table_.record_response(*key, status, bytes, options_.clock->now());
    if (recorded == ServerTransactionTable::Record::kAlreadyFinal) {
      if (debug()) logger_->debug("second final response refused", {{"status", status}});
      return false;
    }
    // kUnknown: the transaction expired or was evicted meanwhile; the
    // response still goes out, just without a cache behind it.
  }
  bool sent = send_stateless(destination, std::move(bytes), status, method);
  if (key && status >= 300) arm_retransmit_timer();  // an INVITE's Timer G may have started
  return sent;
}

bool Dispatcher::send_stateless(const Source& destination, std::string bytes, int status,
                                sip::Method method) {
  // The method label: the request's when the caller knows it, else read from
  // the response (an unparsable request's), before `bytes` moves away.
  if (options_.metrics && method == sip::Method::kUnknown)
    method = sip::method_id(SipMetrics::cseq_method(bytes));
  if (sender_ == nullptr || !sender_->send(destination, std::move(bytes))) {
    bump(counters_.send_failures);
    if (debug())
      logger_->debug("send failed", {{"destination", destination.to_string()}, {"status", status}});
    return false;
  }
  counters_.count_response(status);
  if (options_.metrics) options_.metrics->count_response(method, status);
  return true;
}

void Dispatcher::on_connection_event(const Source& source, sip::transport::ConnectionEvent event,
                                     std::string_view detail) {
  if (!logger_) return;
  switch (event) {
    case sip::transport::ConnectionEvent::kAccepted:
      if (debug()) logger_->debug("connection accepted", {{"source", source.to_string()}});
      break;
    case sip::transport::ConnectionEvent::kRefused: {
      uint64_t refused = counters_.transport.tcp_refused.load(std::memory_order_relaxed);
      if (logger_->enabled(LogLevel::kWarn) && worth_logging(refused))
        logger_->warn("connection refused", {{"source", source.to_string()},
                                             {"reason", detail},
                                             {"refused_total", refused}});
      break;
    }
    case sip::transport::ConnectionEvent::kClosed:
      if (debug())
        logger_->debug("connection closed", {{"source", source.to_string()}, {"reason", detail}});
      break;
  }
}

}  // namespace switchboard
