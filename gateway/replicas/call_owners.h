// gateway/replicas/call_owners.h — which replica runs a call this replica
// does not: learned from the CreateCalls it forwarded and from the events
// its peers stream to it, so that GetCall, HangupCall, SendDtmf, AnswerCall
// and RejectCall of that call can be carried to the owner.
//
//   CallOwners owners({.ended_retention = 300s, .capacity = 11000}, clock);
//   owners.learn("c0195…", "sb-0", /*ended=*/false);
//   owners.owner("c0195…");   // "sb-0"
//
// Bounded: at most `capacity` calls (the one that expires first is dropped
// first). A call is remembered `ended_retention` after it was learned
// ended — as long as its owner keeps it for GetCall — and `active_lifetime`
// after it was last heard of while not ended (a call whose end we never
// hear of, because nobody here watched, does not stay for ever).
//
// Threading: every method from any thread at once.
#ifndef SWITCHBOARD_GATEWAY_REPLICAS_CALL_OWNERS_H_
#define SWITCHBOARD_GATEWAY_REPLICAS_CALL_OWNERS_H_

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "sip/clock.h"

namespace switchboard::replicas {

struct CallOwnersOptions {
  std::chrono::seconds ended_retention{300};     // calls.ended_retention
  std::chrono::seconds active_lifetime{86'400};  // not ended, not heard of
  size_t capacity = 11'000;                      // calls.max_calls + calls.max_ended
};

class CallOwners {
 public:
  // `clock` must outlive this.
  CallOwners(CallOwnersOptions options, const sip::Clock& clock);

  // Call `id` runs at `replica`; `ended`: it is over (kept for the retention).
  void learn(const std::string& id, const std::string& replica, bool ended);
  // The replica that runs call `id`, when known and not expired.
  std::optional<std::string> owner(std::string_view id);
  size_t size() const;

 private:
  using TimePoint = sip::Clock::time_point;
  struct Entry {
    std::string replica;
    TimePoint expires;
    bool ended = false;
  };
  void expire(TimePoint now);
  void unindex(const std::string& id, TimePoint expires);

  const CallOwnersOptions options_;
  const sip::Clock& clock_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> calls_;
  std::multimap<TimePoint, std::string> by_expiry_;  // one entry per call
};

}  // namespace switchboard::replicas

#endif  // SWITCHBOARD_GATEWAY_REPLICAS_CALL_OWNERS_H_
