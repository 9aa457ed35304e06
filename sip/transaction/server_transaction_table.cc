// sip/transaction/server_transaction_table.cc — see server_transaction_table.h.
#include "sip/transaction/server_transaction_table.h"

#include <algorithm>

namespace sip::transaction {

ServerTransactionTable::ServerTransactionTable(Options options) : options_(options) {
  if (options_.max_transactions == 0) options_.max_transactions = 1;
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
  Timeline& timeline = entry.transaction.state == State::kCompleted ? completed_ : pending_;
  entry.timer = timeline.emplace(at, key);
}

void ServerTransactionTable::erase(Map::iterator it) {
  Entry& entry = it->second;
  (entry.transaction.state == State::kCompleted ? completed_ : pending_).erase(entry.timer);
  transactions_.erase(it);
}

bool ServerTransactionTable::make_room(time_point now) {
  if (transactions_.size() < options_.max_transactions) return true;
  expire(now);
  if (transactions_.size() < options_.max_transactions) return true;
  if (completed_.empty()) return false;
  // The Completed transaction nearest its Timer J: it has done its job
  // (answered) and only absorbs retransmissions for a little longer.
  auto it = transactions_.find(*completed_.begin()->second);
  erase(it);
  ++stats_.evicted;
  return true;
}

ServerTransactionTable::Insert ServerTransactionTable::insert(const TransactionKey& key,
                                                              bool reliable, time_point now) {
  if (transactions_.count(key.value) != 0) return Insert::kExists;
  if (!make_room(now)) {
    ++stats_.refused;
    return Insert::kFull;
  }
  auto [it, inserted] = transactions_.try_emplace(key.value);
  Entry& entry = it->second;
  entry.transaction.reliable = reliable;
  schedule(entry, &it->first, now + pending_lifetime());
  ++stats_.inserted;
  return Insert::kInserted;
}

ServerTransactionTable::Record ServerTransactionTable::record_response(const TransactionKey& key,
                                                                       int status,
                                                                       std::string_view bytes,
                                                                       time_point now) {
  auto it = transactions_.find(key.value);
  if (it == transactions_.end()) return Record::kUnknown;
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
  pending_.erase(entry.timer);
  t.state = State::kCompleted;
  t.last_status = status;
  t.last_response.assign(bytes);
  schedule(entry, &it->first, now + timer_j(false));
  return Record::kRecorded;
}

size_t ServerTransactionTable::expire(time_point now) {
  size_t removed = 0;
  for (Timeline* timeline : {&pending_, &completed_}) {
    while (!timeline->empty() && timeline->begin()->first <= now) {
      erase(transactions_.find(*timeline->begin()->second));
      ++removed;
    }
  }
  stats_.expired += removed;
  return removed;
}

std::optional<ServerTransactionTable::time_point> ServerTransactionTable::next_expiry() const {
  std::optional<time_point> next;
  if (!pending_.empty()) next = pending_.begin()->first;
  if (!completed_.empty() && (!next || completed_.begin()->first < *next))
    next = completed_.begin()->first;
  return next;
}

}  // namespace sip::transaction
