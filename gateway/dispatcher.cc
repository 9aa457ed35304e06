// gateway/dispatcher.cc — see dispatcher.h.
#include "gateway/dispatcher.h"

#include "sip/response.h"
#include "sip/transaction/transaction_key.h"
#include "sip/transport/response_route.h"

namespace switchboard {

using sip::transaction::ServerTransactionTable;
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
      expiry_timer_(io) {
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
}

void Dispatcher::arm_expiry_timer() {
  expiry_timer_.expires_after(options_.expiry_interval);
  expiry_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopped_) return;
    table_.expire(options_.clock->now());
    arm_expiry_timer();
  });
}

void Dispatcher::on_message(sip::ParseResult& parsed, std::string_view raw, const Source& source) {
  bump(counters_.received);
  if (!parsed.ok()) {
    on_unparsable(parsed.error(), raw, source);
    return;
  }
  const sip::Message& message = parsed.message();
  if (message.is_response()) {
    // No client transactions yet (RFC 3261 §18.1.2 would match them here).
    bump(counters_.responses_received);
    bump(counters_.dropped);
    if (debug())
      logger_->debug("response dropped", {{"source", source.to_string()},
                                          {"status", message.status_code()}});
    return;
  }
  bump(counters_.requests);
  on_request(message, source);
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
    send_stateless(destination, builder.build(), verdict.status);
    return;
  }

  std::optional<sip::transaction::TransactionKey> key =
      sip::transaction::server_transaction_key(request);
  if (key) {
    if (const ServerTransactionTable::Transaction* t = table_.find(*key)) {
      // A retransmission (or the ACK of our non-2xx final): never the
      // application's business again.
      bump(counters_.retransmissions);
      if (!is_ack && !t->last_response.empty())
        send_stateless(destination, t->last_response, t->last_status);
      return;
    }
  }

  if (is_ack) {
    options_.handler->handle(request, source,
                             Reply(weak_from_this(), source, destination, std::nullopt, false));
    return;
  }

  if (key) {
    if (table_.insert(*key, source.reliable(), options_.clock->now()) ==
        ServerTransactionTable::Insert::kFull) {
      uint64_t refused = counters_.transactions_refused.fetch_add(1, std::memory_order_relaxed) + 1;
      if (logger_ && logger_->enabled(LogLevel::kWarn) && worth_logging(refused))
        logger_->warn("transaction table full", {{"size", table_.size()}, {"refused_total", refused}});
      sip::ResponseBuilder builder(request, 503);
      builder.to_tag(options_.tags())
          .received_from(source.remote_ip(), source.remote_port)
          .header("Retry-After", std::to_string(options_.retry_after_seconds));
      send_stateless(destination, builder.build(), 503);
      return;
    }
  }
  options_.handler->handle(request, source,
                           Reply(weak_from_this(), source, destination, std::move(key), true));
}

bool Dispatcher::send_response(const std::optional<sip::transaction::TransactionKey>& key,
                               const Source& destination, std::string bytes) {
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
  return send_stateless(destination, std::move(bytes), status);
}

bool Dispatcher::send_stateless(const Source& destination, std::string bytes, int status) {
  if (sender_ == nullptr || !sender_->send(destination, std::move(bytes))) {
    bump(counters_.send_failures);
    if (debug())
      logger_->debug("send failed", {{"destination", destination.to_string()}, {"status", status}});
    return false;
  }
  counters_.count_response(status);
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
