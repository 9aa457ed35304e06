// gateway/replicas/call_owners.cc — see call_owners.h.
#include "gateway/replicas/call_owners.h"

namespace switchboard::replicas {

CallOwners::CallOwners(CallOwnersOptions options, const sip::Clock& clock)
    : options_(options), clock_(clock) {}

void CallOwners::learn(const std::string& id, const std::string& replica, bool ended) {
  const TimePoint now = clock_.now();
  std::lock_guard lock(mu_);
  expire(now);
  auto it = calls_.find(id);
  // Once ended, a later (reordered) event of the call does not revive it.
  const bool was_ended = it != calls_.end() && it->second.ended;
  const bool now_ended = ended || was_ended;
  if (was_ended && it->second.replica == replica) return;
  const TimePoint expires =
      now + (now_ended ? options_.ended_retention : options_.active_lifetime);
  if (it == calls_.end()) {
    while (calls_.size() >= options_.capacity && !by_expiry_.empty()) {
      // Full: drop the call that would expire first.
      auto first = by_expiry_.begin();
      calls_.erase(first->second);
      by_expiry_.erase(first);
    }
    calls_.emplace(id, Entry{replica, expires, now_ended});
  } else {
    unindex(id, it->second.expires);
    it->second = Entry{replica, expires, now_ended};
  }
  by_expiry_.emplace(expires, id);
}

void CallOwners::unindex(const std::string& id, TimePoint expires) {
  auto [first, last] = by_expiry_.equal_range(expires);
  for (auto i = first; i != last; ++i)
    if (i->second == id) {
      by_expiry_.erase(i);
      return;
    }
}

std::optional<std::string> CallOwners::owner(std::string_view id) {
  const TimePoint now = clock_.now();
  std::lock_guard lock(mu_);
  expire(now);
  auto it = calls_.find(std::string(id));
  if (it == calls_.end()) return std::nullopt;
  return it->second.replica;
}

size_t CallOwners::size() const {
  std::lock_guard lock(mu_);
  return calls_.size();
}

void CallOwners::expire(TimePoint now) {
  while (!by_expiry_.empty() && by_expiry_.begin()->first <= now) {
    auto first = by_expiry_.begin();
    calls_.erase(first->second);
    by_expiry_.erase(first);
  }
}

}  // namespace switchboard::replicas
