// registrar/auth_throttle.h — failed-authentication throttling per source IP
// and per username over a sliding window (svcrack and friends).
//
// After `max_failures` failures within `window`, a source IP is blocked for
// `cooldown`: every REGISTER from it gets 403 (or is dropped). A username
// under attack from many addresses is blocked too, but only for addresses
// that have themselves failed for it: the legitimate device at another
// address keeps registering while the attack goes on.
//
//   if (throttle.blocked(ip, username)) return forbid_or_drop();
//   ... on a failed digest: throttle.record_failure(ip, username);
//
// Threading: all methods may be called from any thread. Memory is bounded by
// max_tracked (oldest entries are forgotten first).
#ifndef SWITCHBOARD_REGISTRAR_AUTH_THROTTLE_H_
#define SWITCHBOARD_REGISTRAR_AUTH_THROTTLE_H_

#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sip/clock.h"

namespace registrar {

struct AuthThrottleOptions {
  uint32_t max_failures = 10;
  std::chrono::seconds window{60};
  std::chrono::seconds cooldown{300};
  bool drop = false;          // silently drop instead of 403 while blocked
  size_t max_tracked = 100'000;
};

class AuthThrottle {
 public:
  AuthThrottle(const sip::Clock& clock, AuthThrottleOptions options = {});

  // True when a request from `ip` presenting `username` ("" when none) must be refused.
  bool blocked(std::string_view ip, std::string_view username);
  void record_failure(std::string_view ip, std::string_view username);
  bool drop() const { return options_.drop; }

 private:
  using Time = sip::Clock::time_point;
  struct Entry {
    std::deque<Time> failures;  // within the window, oldest first (at most max_failures kept)
    Time blocked_until{};
    std::vector<std::string> failed_ips;  // username entries: addresses that failed (bounded)
  };
  bool over_limit(Entry& e, Time now);
  Entry& entry(std::unordered_map<std::string, Entry>& map, std::string_view key);

  const sip::Clock& clock_;
  AuthThrottleOptions options_;
  std::mutex mu_;
  std::unordered_map<std::string, Entry> by_ip_;
  std::unordered_map<std::string, Entry> by_user_;
};

}  // namespace registrar

#endif  // SWITCHBOARD_REGISTRAR_AUTH_THROTTLE_H_
