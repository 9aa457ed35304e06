// sip/transaction/client_transaction.h — client transactions (RFC 3261
// §17.1): the INVITE state machine of §17.1.1 with RFC 6026's Accepted state,
// and the non-INVITE one of §17.1.2.
//
// Pure and single-threaded: no sockets, no timers of its own. The owner sends
// request_bytes(), then feeds every matching response and calls on_timer()
// at next_timer(); each call returns what to do (bytes to send, whether the
// response goes up to the transaction user, whether it timed out, whether the
// transaction is over). Time is passed in from the injected sip::Clock, so
// tests drive Timer A/B/D/E/F/K with a ManualClock.
//
//   sip::transaction::ClientTransaction tx(invite_builder, /*reliable=*/false, timers, now);
//   send(tx.request_bytes());
//   ...
//   auto act = tx.on_response(response, clock.now());
//   for (auto& bytes : act.send) send(bytes);        // e.g. the ACK of a 486
//   if (act.deliver) tu.on_response(response);
//   if (act.terminated) forget(tx);
//
// INVITE (§17.1.1.2): Calling — Timer A retransmits on unreliable transports
// (T1, doubling), Timer B (64*T1) times out; a 1xx → Proceeding (no more
// retransmissions, no timeout: the TU's ring timer and CANCEL take over);
// a 2xx → Accepted (RFC 6026 §7.2: further 2xx go up too, so the TU can ACK
// retransmissions; Timer M = 64*T1 ends it); 300-699 → Completed: the ACK is
// generated here (same branch, To from the response, §17.1.1.3) and resent
// for every retransmission of the final until Timer D (32 s unreliable,
// 0 reliable).
//
// Non-INVITE (§17.1.2.2): Trying — Timer E retransmits (T1 doubling up to
// T2; T2 in Proceeding), Timer F (64*T1) times out; a final → Completed,
// retransmissions absorbed until Timer K (T4 unreliable, 0 reliable).
//
// Matching (§17.1.3): a response belongs to the transaction whose key
// (top Via branch + CSeq method) it carries: client_transaction_key().
#ifndef SWITCHBOARD_SIP_TRANSACTION_CLIENT_TRANSACTION_H_
#define SWITCHBOARD_SIP_TRANSACTION_CLIENT_TRANSACTION_H_

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sip/clock.h"
#include "sip/message.h"
#include "sip/request_builder.h"

namespace sip::transaction {

struct ClientTimers {
  using duration = sip::Clock::duration;
  duration t1 = std::chrono::milliseconds(500);  // RTT estimate
  duration t2 = std::chrono::seconds(4);         // max retransmit interval (non-INVITE)
  duration t4 = std::chrono::seconds(5);         // max time a message stays in the network
  duration timer_d = std::chrono::seconds(32);   // unreliable transports (§17.1.1.2: ≥ 32 s)
};

// The key of §17.1.3: branch + CSeq method, length-prefixed (no collisions).
std::string client_transaction_key(std::string_view branch, std::string_view cseq_method);
// The key of a response (top Via branch, CSeq method); nullopt when either is
// missing or the branch lacks the magic cookie (not ours).
std::optional<std::string> client_transaction_key(const sip::Message& response);

class ClientTransaction {
 public:
  using time_point = sip::Clock::time_point;
  using duration = sip::Clock::duration;

  enum class Kind : uint8_t { kInvite, kNonInvite };
  enum class State : uint8_t { kCalling, kTrying, kProceeding, kAccepted, kCompleted, kTerminated };

  // What the owner does after an event, in this order: send `send` (each a
  // whole message, to the transaction's destination), pass the response up
  // when `deliver`, report a timeout (as a 408) when `timeout`, and drop the
  // transaction when `terminated`.
  struct Action {
    std::vector<std::string> send;
    bool deliver = false;
    bool timeout = false;
    bool terminated = false;
  };

  // Starts in Calling (INVITE) or Trying (other methods). `request` must have
  // its Via (with an RFC 3261 branch) and CSeq set; ACK is not a transaction.
  ClientTransaction(RequestBuilder request, bool reliable, ClientTimers timers, time_point now);

  // The request as first sent (and as retransmitted).
  const std::string& request_bytes() const { return bytes_; }
  const RequestBuilder& request() const { return request_; }
  const std::string& key() const { return key_; }
  Kind kind() const { return kind_; }
  State state() const { return state_; }
  bool terminated() const { return state_ == State::kTerminated; }
  // The status of the last response passed up; 0 while none.
  int last_status() const { return last_status_; }

  // A response whose key is key(). REQUIRES: response.is_response().
  Action on_response(const sip::Message& response, time_point now);
  // Fires every timer due at `now` (retransmissions, timeouts, the end of
  // Completed/Accepted).
  Action on_timer(time_point now);
  // The transport could not send (§17.1.4): terminated, reported as a timeout.
  Action on_transport_error();
  // When on_timer() next has work; nullopt when terminated.
  std::optional<time_point> next_timer() const;

 private:
  void terminate();

  RequestBuilder request_;
  std::string bytes_;
  std::string key_;
  Kind kind_;
  bool reliable_;
  ClientTimers timers_;
  State state_;
  int last_status_ = 0;
  duration retransmit_interval_{};
  std::optional<time_point> retransmit_at_;  // Timer A / E
  std::optional<time_point> timeout_at_;     // Timer B / F
  std::optional<time_point> end_at_;         // Timer D / K / M
  std::string ack_bytes_;                    // INVITE, Completed: the ACK to resend
};

}  // namespace sip::transaction

#endif  // SWITCHBOARD_SIP_TRANSACTION_CLIENT_TRANSACTION_H_
