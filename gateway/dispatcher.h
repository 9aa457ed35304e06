// gateway/dispatcher.h — one worker thread's SIP core: what happens to every
// message the transport delivers.
//
//   unparsable   → 400/505/513 per ParseError.status, sent statelessly to the
//                  packet's source; dropped (and counted) when it has no Via
//   response     → options.on_response(raw, source) (the call layer's client
//                  transactions); dropped (and counted) when that is unset or
//                  when the response fails the RFC 3261 §18.1.2 check kept
//                  here: it must have exactly one Via (a response with none
//                  cannot be matched; with more it was not meant for a UAC —
//                  we never proxy). Checking sent-by against what was sent is
//                  left to the receiver of on_response.
//   request      → sip::check_request (Require: path, outbound) → error
//                  response; else transaction matching (RFC 3261 §17.2.3):
//                  a retransmission is absorbed or answered from the cache;
//                  a new request starts a transaction (503 when the table is
//                  full) and goes to the RequestHandler
//   INVITE       → a new one starts an INVITE server transaction (§17.2.1,
//                  RFC 6026) and is answered "100 Trying" at once, before the
//                  handler sees it; a retransmission gets the last provisional
//                  again (Proceeding) or the 3xx–6xx final (Completed), and is
//                  absorbed once a 2xx was sent (Accepted: the TU retransmits
//                  its 2xx itself). A 3xx–6xx final is retransmitted over UDP
//                  on Timer G (a steady_timer armed for the table's next due
//                  retransmission) until the ACK or Timer H.
//   ACK          → never answered; absorbed when it matches a transaction
//                  (the ACK of a non-2xx final), else handed to the handler
//                  (the ACK of a 2xx: new branch, no transaction)
//   CANCEL       → a non-INVITE transaction of its own, handed to the handler,
//                  which finds the INVITE by invite_key_for_cancel()
//
// Error responses for invalid requests are stateless: validation is
// deterministic, so a retransmission gets the same answer.
//
// Threading: one Dispatcher per worker thread, driven by that thread's
// io_context; it owns the thread's transaction table (no locks). Created with
// make_shared (Replies hold weak references).
#ifndef SWITCHBOARD_GATEWAY_DISPATCHER_H_
#define SWITCHBOARD_GATEWAY_DISPATCHER_H_

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gateway/json_log.h"
#include "gateway/request_handler.h"
#include "gateway/sip_counters.h"
#include "gateway/sip_metrics.h"
#include "gateway/tag_source.h"
#include "sip/clock.h"
#include "sip/transaction/server_transaction_table.h"
#include "sip/transport/receiver.h"
#include "sip/validate.h"

namespace switchboard {

struct DispatcherOptions {
  std::shared_ptr<RequestHandler> handler;   // required
  std::shared_ptr<const sip::Clock> clock;   // required
  TagSource tags;                            // required
  Logger* logger = nullptr;                  // nullptr: silent
  sip::transaction::ServerTransactionTable::Options transactions;
  std::vector<std::string> supported = {"path", "outbound"};  // option-tags for Require
  std::chrono::milliseconds expiry_interval{500};  // how often expire() runs
  int retry_after_seconds = 5;                      // in 503s when the table is full
  // Parsed responses go here (on this worker thread); empty: dropped.
  std::function<void(std::string_view raw, const sip::transport::Source& source)> on_response;
  SipMetrics* metrics = nullptr;  // Prometheus counters; nullptr: none (shared by the workers)
  // While *draining is true (graceful shutdown), new REGISTERs and new
  // INVITEs (no To tag) get 503 with Retry-After; requests inside dialogs and
  // transactions in progress go on. nullptr: never draining.
  const std::atomic<bool>* draining = nullptr;
};

class Dispatcher final : public sip::transport::Receiver,
                         public std::enable_shared_from_this<Dispatcher> {
 public:
  Dispatcher(boost::asio::io_context& io, DispatcherOptions options, SipCounters& counters);
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  // The transport to answer through (the thread's TransportSet).
  void attach(sip::transport::Sender& sender) { sender_ = &sender; }
  // Starts / stops the transaction expiry and retransmission timers. On the
  // worker thread.
  void start();
  void stop();

  // sip::transport::Receiver
  void on_message(sip::ParseResult& parsed, std::string_view raw,
                  const sip::transport::Source& source) override;
  void on_connection_event(const sip::transport::Source& source,
                           sip::transport::ConnectionEvent event,
                           std::string_view detail) override;

  // Sends a response within transaction `key` (none: statelessly). Called
  // through Reply::send() on the worker thread.
  // `method` is the request's, for the metrics' label (kUnknown: read from
  // the response's CSeq).
  bool send_response(const std::optional<sip::transaction::TransactionKey>& key,
                     const sip::transport::Source& destination, std::string bytes,
                     sip::Method method = sip::Method::kUnknown);

  boost::asio::io_context& io() { return io_; }
  const sip::transaction::ServerTransactionTable& transactions() const { return table_; }

 private:
  void on_unparsable(const sip::ParseError& error, std::string_view raw,
                     const sip::transport::Source& source);
  void on_response(const sip::Message& response, std::string_view raw,
                   const sip::transport::Source& source);
  void on_request(const sip::Message& request, const sip::transport::Source& source);
  // An ACK that matched INVITE transaction `key` or none: true when absorbed.
  bool absorb_ack(const sip::transaction::TransactionKey& key);
  // Starts the INVITE transaction and sends 100 Trying; false when the
  // table was full (a 503 has been sent).
  bool start_invite(const sip::Message& request, const sip::transport::Source& source,
                    const sip::transport::Source& destination,
                    const sip::transaction::TransactionKey& key);
  void send_draining_503(const sip::Message& request, const sip::transport::Source& source,
                         const sip::transport::Source& destination);
  void send_503(const sip::Message& request, const sip::transport::Source& source,
                const sip::transport::Source& destination);
  bool send_stateless(const sip::transport::Source& destination, std::string bytes, int status,
                      sip::Method method = sip::Method::kUnknown);
  void arm_expiry_timer();
  // Timer G: (re)arms retransmit_timer_ for the table's next due
  // retransmission when that is earlier than what is armed.
  void arm_retransmit_timer();
  void retransmit_due();
  bool debug() const { return logger_ && logger_->enabled(LogLevel::kDebug); }

  boost::asio::io_context& io_;
  DispatcherOptions options_;
  SipCounters& counters_;
  Logger* logger_;
  sip::transport::Sender* sender_ = nullptr;
  sip::transaction::ServerTransactionTable table_;
  sip::RequestPolicy policy_;
  boost::asio::steady_timer expiry_timer_;
  boost::asio::steady_timer retransmit_timer_;
  std::optional<sip::Clock::time_point> retransmit_armed_for_;  // table time it is armed for
  bool stopped_ = false;
};

}  // namespace switchboard

#endif  // SWITCHBOARD_GATEWAY_DISPATCHER_H_
