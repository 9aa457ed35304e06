#include "registrar/auth_throttle.h"

#include <algorithm>

namespace registrar {

AuthThrottle::AuthThrottle(const sip::Clock& clock, AuthThrottleOptions options)
    : clock_(clock), options_(options) {}

AuthThrottle::Entry& AuthThrottle::entry(std::unordered_map<std::string, Entry>& map,
                                         std::string_view key) {
  auto it = map.find(std::string(key));
  if (it != map.end()) return it->second;
  if (map.size() >= options_.max_tracked) {
    // Forget entries that are neither blocked nor recently failing; if none,
    // forget an arbitrary one. Bounded memory beats perfect memory here.
    Time now = clock_.now();
    for (auto i = map.begin(); i != map.end();) {
      bool idle = i->second.blocked_until <= now &&
                  (i->second.failures.empty() || i->second.failures.back() + options_.window <= now);
      i = idle ? map.erase(i) : std::next(i);
    }
    if (map.size() >= options_.max_tracked) map.erase(map.begin());
  }
  return map.emplace(std::string(key), Entry{}).first->second;
}

bool AuthThrottle::over_limit(Entry& e, Time now) {
  while (!e.failures.empty() && e.failures.front() + options_.window <= now) e.failures.pop_front();
  return e.failures.size() >= options_.max_failures;
}

bool AuthThrottle::blocked(std::string_view ip, std::string_view username) {
  std::lock_guard lock(mu_);
  Time now = clock_.now();
  if (auto it = by_ip_.find(std::string(ip)); it != by_ip_.end() && it->second.blocked_until > now)
    return true;
  if (username.empty()) return false;
  auto it = by_user_.find(std::string(username));
  if (it == by_user_.end() || it->second.blocked_until <= now) return false;
  const auto& ips = it->second.failed_ips;
  return std::find(ips.begin(), ips.end(), ip) != ips.end();
}

void AuthThrottle::record_failure(std::string_view ip, std::string_view username) {
  std::lock_guard lock(mu_);
  Time now = clock_.now();
  Entry& e = entry(by_ip_, ip);
  e.failures.push_back(now);
  if (e.failures.size() > options_.max_failures) e.failures.pop_front();
  if (over_limit(e, now)) e.blocked_until = now + options_.cooldown;
  if (username.empty()) return;
  Entry& u = entry(by_user_, username);
  u.failures.push_back(now);
  if (u.failures.size() > options_.max_failures) u.failures.pop_front();
  if (std::find(u.failed_ips.begin(), u.failed_ips.end(), ip) == u.failed_ips.end()) {
    if (u.failed_ips.size() >= 256) u.failed_ips.erase(u.failed_ips.begin());
    u.failed_ips.emplace_back(ip);
  }
  if (over_limit(u, now)) u.blocked_until = now + options_.cooldown;
}

}  // namespace registrar
