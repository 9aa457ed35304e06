// sip/transaction/server_transaction_table.h — non-INVITE server transactions
// (RFC 3261 §17.2.2) of one worker thread.
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
// States (§17.2.2): Trying (no response yet: retransmissions are absorbed),
// Proceeding (a provisional was sent: retransmissions get it again),
// Completed (a final was sent: retransmissions get it again until Timer J
// fires). Timer J = 64*T1 (32 s) on unreliable transports, 0 on reliable ones
// — there the transaction ends as soon as the final response is recorded.
// A transaction the application never answers is dropped 64*T1 after it
// began: the client's own Timer F has given up by then.
//
// Time is passed in (from the injected sip::Clock), so tests drive expiry with
// a ManualClock; the server calls expire(now) from a periodic timer.
//
// Bounded: at most `max_transactions`. When full, expired transactions go
// first, then the Completed one closest to expiry (it only absorbs
// retransmissions); if every transaction is still waiting for the
// application, insert() refuses and the server answers 503.
//
// Threading: one table per worker thread, no locks. With SO_REUSEPORT a
// retransmission from the same source reaches the same socket, hence the same
// thread and table. (A retransmission from another source port, or over TCP
// on a new connection, may land elsewhere — then it is a new transaction.)
#ifndef SWITCHBOARD_SIP_TRANSACTION_SERVER_TRANSACTION_TABLE_H_
#define SWITCHBOARD_SIP_TRANSACTION_SERVER_TRANSACTION_TABLE_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "sip/clock.h"
#include "sip/transaction/transaction_key.h"

namespace sip::transaction {

class ServerTransactionTable {
 public:
  using time_point = sip::Clock::time_point;
  using duration = sip::Clock::duration;

  struct Options {
    size_t max_transactions = 65536;
    duration t1 = std::chrono::milliseconds(500);  // RFC 3261 §17.1.1.1 RTT estimate
  };

  enum class State : uint8_t { kTrying, kProceeding, kCompleted };

  struct Transaction {
    State state = State::kTrying;
    bool reliable = false;
    int last_status = 0;         // 0 until a response is recorded
    std::string last_response;   // the last provisional, or the final; "" in Trying
    time_point expires_at{};
  };

  enum class Insert { kInserted, kExists, kFull };
  enum class Record { kRecorded, kAlreadyFinal, kUnknown };

  struct Stats {
    uint64_t inserted = 0;
    uint64_t expired = 0;
    uint64_t evicted = 0;   // Completed transactions dropped early to make room
    uint64_t refused = 0;   // insert() returned kFull
  };

  ServerTransactionTable() : ServerTransactionTable(Options()) {}
  explicit ServerTransactionTable(Options options);
  ServerTransactionTable(const ServerTransactionTable&) = delete;
  ServerTransactionTable& operator=(const ServerTransactionTable&) = delete;

  // The live transaction with this key, or nullptr. The pointer is valid until
  // the next non-const call.
  const Transaction* find(const TransactionKey& key) const;

  // Starts a transaction in Trying. kExists when the key is already live (the
  // caller should have treated the request as a retransmission), kFull when
  // nothing could be made room for.
  Insert insert(const TransactionKey& key, bool reliable, time_point now);

  // Records a response sent in the transaction: 1xx → Proceeding (kept for
  // retransmissions), 2xx–6xx → Completed with Timer J started (on a reliable
  // transport the transaction ends here). kAlreadyFinal when a final was
  // recorded before (a second final must not be sent); kUnknown when the
  // transaction is gone (expired or evicted: send statelessly).
  Record record_response(const TransactionKey& key, int status, std::string_view bytes,
                         time_point now);

  // Removes every transaction whose timer has fired; returns how many.
  size_t expire(time_point now);

  // When expire() next has work, or nullopt when the table is empty.
  std::optional<time_point> next_expiry() const;

  // Timer J for this kind of transport: 64*T1 unreliable, 0 reliable.
  duration timer_j(bool reliable) const;
  // How long a transaction may wait for the application: 64*T1.
  duration pending_lifetime() const { return options_.t1 * 64; }

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
    Timeline::iterator timer;  // in pending_ (Trying/Proceeding) or completed_
  };

  void schedule(Entry& entry, const std::string* key, time_point at);
  void erase(Map::iterator it);
  bool make_room(time_point now);

  Options options_;
  Map transactions_;
  Timeline pending_;    // Trying / Proceeding, by give-up time
  Timeline completed_;  // Completed, by Timer J
  Stats stats_;
};

}  // namespace sip::transaction

#endif  // SWITCHBOARD_SIP_TRANSACTION_SERVER_TRANSACTION_TABLE_H_
