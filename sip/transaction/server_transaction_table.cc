// sip/transaction/server_transaction_table.cc — see server_transaction_table.h.
#include "sip/transaction/server_transaction_table.h"

#include <algorithm>

namespace sip::transaction {

ServerTransactionTable::ServerTransactionTable(Options options) : options_(options) {
  if (options_.max_transactions == 0) options_.max_transactions = 1;
  if (options_.t1 <= duration::zero()) options_.t1 = std::chrono::milliseconds(500);
  if (options_.t2 < options_.t1) options_.t2 = options_.t1;
  if (options_.t4 < duration::zero()) options_.t4 = duration::zero();
  // Never rehash below the bound's worth of buckets on the data path.
  transactions_.reserve(std::min<size_t>(options_.max_transactions, 1 << 16));
}

ServerTransactionTable::duration ServerTransactionTable::timer_j(bool reliable) const {
  return reliable ? duration::zero() : options_.t1 * 64;
}

const ServerTransactionTable::Transaction* ServerTransactionTable::find(
    const TransactionKey& key) const {
  auto it = transactions_.find(key.value);
  return it == transactions_.end() ? nullptr : &it->second.transaction;
}

void ServerTransactionTable::schedule(Entry& entry, const std::string* key, time_point at) {
  entry.transaction.expires_at = at;
  entry.timer = timeline_of(entry.transaction.state).emplace(at, key);
}

void ServerTransactionTable::move_to(Entry& entry, const std::string* key, State state,
                                     time_point at) {
  timeline_of(entry.transaction.state).erase(entry.timer);
  entry.transaction.state = state;
  schedule(entry, key, at);
}

void ServerTransactionTable::stop_retransmitting(Entry& entry) {
  if (entry.transaction.retransmit_interval == duration::zero()) return;
  retransmit_.erase(entry.retransmit);
  entry.transaction.retransmit_interval = duration::zero();
}

void ServerTransactionTable::erase(Map::iterator it) {
  Entry& entry = it->second;
  stop_retransmitting(entry);
  timeline_of(entry.transaction.state).erase(entry.timer);
  transactions_.erase(it);
}

bool ServerTransactionTable::make_room(time_point now) {
  if (transactions_.size() < options_.max_transactions) return true;
  expire(now);
  if (transactions_.size() < options_.max_transactions) return true;
  if (answered_.empty()) return false;
  // The answered transaction nearest its end: it has done its job and only
  // absorbs retransmissions (or waits for an ACK) a little longer.
  auto it = transactions_.find(*answered_.begin()->second);
  erase(it);
  ++stats_.evicted;
  return true;
}

ServerTransactionTable::Insert ServerTransactionTable::start(
    const TransactionKey& key, bool reliable, bool invite, time_point now,
    const sip::transport::Source* destination) {
  if (transactions_.count(key.value) != 0) return Insert::kExists;
  if (!make_room(now)) {
    ++stats_.refused;
    return Insert::kFull;
  }
  auto [it, inserted] = transactions_.try_emplace(key.value);
  Entry& entry = it->second;
  Transaction& t = entry.transaction;
  t.reliable = reliable;
  t.invite = invite;
  if (invite) {
    t.state = State::kProceeding;  // §17.2.1: an INVITE transaction starts there
    t.destination = *destination;
    schedule(entry, &it->first, now + options_.invite_proceeding_limit);
  } else {
    schedule(entry, &it->first, now + pending_lifetime());
  }
  ++stats_.inserted;
  return Insert::kInserted;
}

ServerTransactionTable::Insert ServerTransactionTable::insert(const TransactionKey& key,
                                                              bool reliable, time_point now) {
  return start(key, reliable, /*invite=*/false, now, nullptr);
}

ServerTransactionTable::Insert ServerTransactionTable::insert_invite(
    const TransactionKey& key, const sip::transport::Source& destination, time_point now) {
  return start(key, destination.reliable(), /*invite=*/true, now, &destination);
}

ServerTransactionTable::Record ServerTransactionTable::record_response(const TransactionKey& key,
                                                                       int status,
                                                                       std::string_view bytes,
                                                                       time_point now) {
  auto it = transactions_.find(key.value);
  if (it == transactions_.end()) return Record::kUnknown;
  if (it->second.transaction.invite) return record_invite_response(it, status, bytes, now);
  Entry& entry = it->second;
  Transaction& t = entry.transaction;
  if (t.state == State::kCompleted) return Record::kAlreadyFinal;

  if (status < 200) {
    t.state = State::kProceeding;  // stays on the pending timeline
    t.last_status = status;
    t.last_response.assign(bytes);
    return Record::kRecorded;
  }

  if (t.reliable) {
    // Timer J = 0: the transaction terminates at once (§17.2.2).
    erase(it);
    return Record::kRecorded;
  }
  t.last_status = status;
  t.last_response.assign(bytes);
  move_to(entry, &it->first, State::kCompleted, now + timer_j(false));
  return Record::kRecorded;
}

ServerTransactionTable::Record ServerTransactionTable::record_invite_response(
    Map::iterator it, int status, std::string_view bytes, time_point now) {
  Entry& entry = it->second;
  Transaction& t = entry.transaction;
  if (t.state == State::kAccepted && status >= 200 && status < 300) {
    // The TU retransmitting its 2xx (§13.3.1.4; RFC 6026 §8.5: passed to the
    // transport). The transaction keeps its Timer L.
    return Record::kRecorded;
  }
  if (t.state != State::kProceeding) return Record::kAlreadyFinal;

  t.last_status = status;
  t.last_response.assign(bytes);
  if (status < 200) return Record::kRecorded;  // stays in Proceeding, same limit
  if (status < 300) {
    move_to(entry, &it->first, State::kAccepted, now + timer_l());
    return Record::kRecorded;
  }
  move_to(entry, &it->first, State::kCompleted, now + timer_h());
  if (!t.reliable) {
    t.retransmit_interval = options_.t1;
    t.retransmit_at = now + options_.t1;
    entry.retransmit = retransmit_.emplace(t.retransmit_at, &it->first);
  }
  return Record::kRecorded;
}

ServerTransactionTable::Ack ServerTransactionTable::ack(const TransactionKey& key, time_point now) {
  auto it = transactions_.find(key.value);
  if (it == transactions_.end()) return Ack::kNoMatch;
  Entry& entry = it->second;
  Transaction& t = entry.transaction;
  if (!t.invite) return Ack::kAbsorbed;  // cannot happen: ACK keys are INVITE keys
  switch (t.state) {
    case State::kCompleted: {
      stop_retransmitting(entry);
      duration timer_i = this->timer_i(t.reliable);
      if (timer_i == duration::zero()) {
        erase(it);  // reliable: nothing more can arrive
      } else {
        move_to(entry, &it->first, State::kConfirmed, now + timer_i);
      }
      return Ack::kConfirmed;
    }
    case State::kAccepted:
      return Ack::kAccepted;
    default:
      return Ack::kAbsorbed;  // Confirmed: a repeat; Proceeding: an ACK before any final
  }
}

size_t ServerTransactionTable::expire(time_point now) {
  size_t removed = 0;
  for (Timeline* timeline : {&pending_, &answered_}) {
    while (!timeline->empty() && timeline->begin()->first <= now) {
      auto it = transactions_.find(*timeline->begin()->second);
      const Transaction& t = it->second.transaction;
      if (t.invite && t.state == State::kCompleted) ++stats_.ack_timeouts;  // Timer H
      erase(it);
      ++removed;
    }
  }
  stats_.expired += removed;
  return removed;
}

std::optional<ServerTransactionTable::time_point> ServerTransactionTable::next_expiry() const {
  std::optional<time_point> next;
  if (!pending_.empty()) next = pending_.begin()->first;
  if (!answered_.empty() && (!next || answered_.begin()->first < *next))
    next = answered_.begin()->first;
  return next;
}

size_t ServerTransactionTable::retransmit_due(time_point now,
                                              const std::function<void(const Transaction&)>& send) {
  size_t due = 0;
  while (!retransmit_.empty() && retransmit_.begin()->first <= now) {
    const std::string* key = retransmit_.begin()->second;
    Entry& entry = transactions_.find(*key)->second;
    Transaction& t = entry.transaction;
    retransmit_.erase(entry.retransmit);
    send(t);
    ++t.retransmissions;
    ++stats_.retransmitted;
    ++due;
    // Counted from now, not from when it was due: a late timer sends once,
    // not a burst, and every entry moves strictly past `now`.
    t.retransmit_interval = std::min(t.retransmit_interval * 2, options_.t2);
    t.retransmit_at = now + t.retransmit_interval;
    entry.retransmit = retransmit_.emplace(t.retransmit_at, key);
  }
  return due;
}

std::optional<ServerTransactionTable::time_point> ServerTransactionTable::next_retransmission()
    const {
  if (retransmit_.empty()) return std::nullopt;
  return retransmit_.begin()->first;
}

}  // namespace sip::transaction
