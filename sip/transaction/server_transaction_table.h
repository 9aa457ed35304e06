// sip/transaction/server_transaction_table.h — the server transactions of one
// worker thread: non-INVITE (RFC 3261 §17.2.2) and INVITE (§17.2.1 as
// updated by RFC 6026).
//
// The table is what keeps a retransmitted request from reaching the
// application twice. The server looks a request up before handing it on:
//
//   auto* t = table.find(key);
//   if (t) { if (!t->last_response.empty()) resend(t->last_response); return; }  // absorbed
//   if (table.insert(key, source.reliable(), clock.now()) == Insert::kFull) reply_503();
//   ... application answers ...
//   table.record_response(key, status, bytes, clock.now());
//
// Non-INVITE states (§17.2.2): Trying (no response yet: retransmissions are
// absorbed), Proceeding (a provisional was sent: retransmissions get it
// again), Completed (a final was sent: retransmissions get it again until
// Timer J fires). Timer J = 64*T1 (32 s) on unreliable transports, 0 on
// reliable ones — there the transaction ends as soon as the final response is
// recorded. A transaction the application never answers is dropped 64*T1
// after it began: the client's own Timer F has given up by then.
//
// INVITE transactions (insert_invite(); the key of an INVITE, which its ACK
// shares — transaction_key.h):
//
//   Proceeding  starts here; retransmitted INVITEs get the last provisional
//               again. The application has `invite_proceeding_limit` (300 s: a
//               call may ring for minutes) to answer, then it is dropped.
//   Accepted    (RFC 6026) after a 2xx, for Timer L = 64*T1 on any transport:
//               retransmitted INVITEs are absorbed — the 2xx is NOT resent
//               from here: the TU (call layer) retransmits its 2xx itself
//               (§13.3.1.4), and may pass those retransmissions through
//               record_response() (a 2xx after a 2xx is accepted). An ACK that
//               matches (only an RFC 2543 client's ACK for the 2xx can) is
//               for the TU: ack() says kAccepted.
//   Completed   after a 3xx–6xx: on unreliable transports the final is
//               retransmitted on Timer G (T1, doubling, capped at T2) through
//               retransmit_due(); Timer H (64*T1, any transport) bounds the
//               wait for the ACK. A retransmitted INVITE gets the final again.
//   Confirmed   after the ACK (ack() says kConfirmed): further ACKs are
//               absorbed for Timer I = T4 on unreliable transports; on
//               reliable ones (Timer I = 0) the transaction ends at the ACK.
//
// Only 1xx may follow 1xx; one final (or repeated 2xx for INVITE) ends the
// answering: any other second final is refused (kAlreadyFinal).
//
// Time is passed in (from the injected sip::Clock), so tests drive expiry with
// a ManualClock; the server calls expire(now) from a periodic timer and
// retransmit_due(now) from a timer armed for next_retransmission().
//
// Bounded: at most `max_transactions`. When full, expired transactions go
// first, then the answered one (Completed, Accepted or Confirmed) closest to
// expiry (it only absorbs retransmissions); if every transaction is still
// waiting for the application, insert() refuses and the server answers 503.
// The retransmission schedule holds at most one entry per transaction.
//
// Threading: one table per worker thread, no locks. With SO_REUSEPORT a
// retransmission from the same source reaches the same socket, hence the same
// thread and table. (A retransmission from another source port, or over TCP
// on a new connection, may land elsewhere — then it is a new transaction.)
#ifndef SWITCHBOARD_SIP_TRANSACTION_SERVER_TRANSACTION_TABLE_H_
#define SWITCHBOARD_SIP_TRANSACTION_SERVER_TRANSACTION_TABLE_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "sip/clock.h"
#include "sip/transaction/transaction_key.h"
#include "sip/transport/source.h"

namespace sip::transaction {

class ServerTransactionTable {
 public:
  using time_point = sip::Clock::time_point;
  using duration = sip::Clock::duration;

  struct Options {
    size_t max_transactions = 65536;
    duration t1 = std::chrono::milliseconds(500);  // RFC 3261 §17.1.1.1 RTT estimate
    duration t2 = std::chrono::seconds(4);         // cap of Timer G's doubling
    duration t4 = std::chrono::seconds(5);         // Timer I on unreliable transports
    // How long an INVITE may wait in Proceeding for the application's final.
    duration invite_proceeding_limit = std::chrono::seconds(300);
  };

  // Non-INVITE: Trying → Proceeding → Completed.
  // INVITE: Proceeding → Accepted (2xx) | Completed (3xx–6xx) → Confirmed (ACK).
  enum class State : uint8_t { kTrying, kProceeding, kCompleted, kAccepted, kConfirmed };

  struct Transaction {
    State state = State::kTrying;
    bool reliable = false;
    bool invite = false;
    int last_status = 0;         // 0 until a response is recorded
    std::string last_response;   // the last provisional, or the final; "" in Trying
    time_point expires_at{};
    // INVITE only: where responses go (Timer G retransmissions).
    sip::transport::Source destination;
    duration retransmit_interval{};  // Timer G's current value; 0 when not retransmitting
    time_point retransmit_at{};      // when Timer G next fires (if retransmitting)
    uint32_t retransmissions = 0;    // Timer G firings so far
  };

  enum class Insert { kInserted, kExists, kFull };
  enum class Record { kRecorded, kAlreadyFinal, kUnknown };
  // What an ACK that matched (or not) an INVITE transaction means.
  enum class Ack {
    kNoMatch,    // no transaction: an ACK for a 2xx (new branch) — the TU's
    kConfirmed,  // the ACK of our 3xx–6xx: Completed → Confirmed; absorb it
    kAbsorbed,   // a repeated ACK (Confirmed), or one that makes no sense here
    kAccepted,   // matched an Accepted (2xx) transaction: an RFC 2543 2xx ACK — the TU's
  };

  struct Stats {
    uint64_t inserted = 0;
    uint64_t expired = 0;
    uint64_t evicted = 0;        // answered transactions dropped early to make room
    uint64_t refused = 0;        // insert() returned kFull
    uint64_t retransmitted = 0;  // INVITE finals resent on Timer G
    uint64_t ack_timeouts = 0;   // INVITE Completed transactions ended by Timer H (no ACK)
  };

  ServerTransactionTable() : ServerTransactionTable(Options()) {}
  explicit ServerTransactionTable(Options options);
  ServerTransactionTable(const ServerTransactionTable&) = delete;
  ServerTransactionTable& operator=(const ServerTransactionTable&) = delete;

  // The live transaction with this key, or nullptr. The pointer is valid until
  // the next non-const call.
  const Transaction* find(const TransactionKey& key) const;

  // Starts a non-INVITE transaction in Trying. kExists when the key is
  // already live (the caller should have treated the request as a
  // retransmission), kFull when nothing could be made room for.
  Insert insert(const TransactionKey& key, bool reliable, time_point now);
  // Starts an INVITE transaction in Proceeding; `destination` is where its
  // responses go (its reliable() decides the timers). Same results as insert().
  Insert insert_invite(const TransactionKey& key, const sip::transport::Source& destination,
                       time_point now);

  // Records a response sent in the transaction: 1xx → Proceeding (kept for
  // retransmissions). Non-INVITE 2xx–6xx → Completed with Timer J started (on
  // a reliable transport the transaction ends here). INVITE 2xx → Accepted
  // (Timer L; a later 2xx is recorded too — the TU's retransmissions), INVITE
  // 3xx–6xx → Completed (Timers G and H). kAlreadyFinal when a final was
  // recorded before (a second final must not be sent); kUnknown when the
  // transaction is gone (expired or evicted: send statelessly).
  Record record_response(const TransactionKey& key, int status, std::string_view bytes,
                         time_point now);

  // An ACK whose key (transaction_key.h: ACK counts as INVITE) is `key`.
  Ack ack(const TransactionKey& key, time_point now);

  // Removes every transaction whose timer has fired; returns how many.
  size_t expire(time_point now);

  // When expire() next has work, or nullopt when the table is empty.
  std::optional<time_point> next_expiry() const;

  // Timer G: calls `send(t)` for every INVITE transaction in Completed whose
  // retransmission is due (t.last_response to t.destination), then schedules
  // its next one at now + min(2 * interval, T2). Returns how many were due.
  // `send` must not call back into the table.
  size_t retransmit_due(time_point now, const std::function<void(const Transaction&)>& send);
  // When retransmit_due() next has work, or nullopt.
  std::optional<time_point> next_retransmission() const;

  // Timer J for this kind of transport: 64*T1 unreliable, 0 reliable.
  duration timer_j(bool reliable) const;
  // How long a transaction may wait for the application: 64*T1.
  duration pending_lifetime() const { return options_.t1 * 64; }
  // INVITE timers: H (wait for ACK) and L (Accepted) = 64*T1 on any
  // transport; I (Confirmed) = T4 unreliable, 0 reliable.
  duration timer_h() const { return options_.t1 * 64; }
  duration timer_l() const { return options_.t1 * 64; }
  duration timer_i(bool reliable) const { return reliable ? duration::zero() : options_.t4; }

  size_t size() const { return transactions_.size(); }
  const Stats& stats() const { return stats_; }
  const Options& options() const { return options_; }

 private:
  struct Entry;
  using Map = std::unordered_map<std::string, Entry>;
  // Expiry order; the value points at the key inside the map node (stable).
  using Timeline = std::multimap<time_point, const std::string*>;

  struct Entry {
    Transaction transaction;
    Timeline::iterator timer;       // in pending_ (Trying/Proceeding) or answered_
    Timeline::iterator retransmit;  // in retransmit_ when retransmit_interval > 0
  };

  static bool pending(State state) {
    return state == State::kTrying || state == State::kProceeding;
  }
  Timeline& timeline_of(State state) { return pending(state) ? pending_ : answered_; }
  Insert start(const TransactionKey& key, bool reliable, bool invite, time_point now,
               const sip::transport::Source* destination);
  void schedule(Entry& entry, const std::string* key, time_point at);
  // Moves the entry to `state` with its timer at `at`.
  void move_to(Entry& entry, const std::string* key, State state, time_point at);
  void stop_retransmitting(Entry& entry);
  void erase(Map::iterator it);
  bool make_room(time_point now);
  Record record_invite_response(Map::iterator it, int status, std::string_view bytes,
                                time_point now);

  Options options_;
  Map transactions_;
  Timeline pending_;     // Trying / Proceeding, by give-up time
  Timeline answered_;    // Completed / Accepted / Confirmed, by Timer J, H, L or I
  Timeline retransmit_;  // INVITE Completed on unreliable transports, by Timer G
  Stats stats_;
};

}  // namespace sip::transaction

#endif  // SWITCHBOARD_SIP_TRANSACTION_SERVER_TRANSACTION_TABLE_H_
