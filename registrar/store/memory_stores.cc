#include "registrar/store/memory_stores.h"

#include "sip/lex.h"

namespace registrar {

MemoryBindingStore::MemoryBindingStore(EventRetention retention, const sip::Clock* clock)
    : retention_(retention), clock_(clock) {}

void MemoryBindingStore::replace_aor(std::string aor, std::vector<Binding> bindings,
                                     std::vector<RegistrationEvent> events,
                                     std::function<void(const StoreResult&)> done) {
  std::lock_guard lock(mu_);
  ++writes_;
  StoreResult result;
  for (const Binding& b : bindings) {
    if (b.aor != aor) result = {false, "replace_aor('" + aor + "'): a binding of '" + b.aor + "'"};
  }
  for (const RegistrationEvent& e : events) {
    if (e.type == RegistrationEventType::kAuthFailed)
      result = {false, "replace_aor('" + aor + "'): AUTH_FAILED events are not stored"};
  }
  if (result.ok) {
    if (bindings.empty()) {
      rows_.erase(aor);
    } else {
      rows_[aor] = std::move(bindings);
    }
    if (!events.empty()) {
      result.first_sequence = next_sequence_;
      for (RegistrationEvent& e : events) {
        e.sequence = next_sequence_++;
        events_.push_back(std::move(e));
      }
      trim_events();
    }
  }
  if (done) done(result);  // under the lock: callbacks run in sequence order
}

void MemoryBindingStore::trim_events() {
  if (retention_.max_events > 0) {
    while (events_.size() > retention_.max_events) events_.pop_front();
  }
  if (retention_.max_age.count() > 0 && !events_.empty()) {
    const WallTime now = clock_ != nullptr ? clock_->wall_now() : events_.back().time;
    const WallTime cutoff = now - retention_.max_age;
    while (!events_.empty() && events_.front().time < cutoff) events_.pop_front();
  }
}

std::vector<RegistrationEvent> MemoryBindingStore::read_events(uint64_t after, size_t limit) {
  std::lock_guard lock(mu_);
  std::vector<RegistrationEvent> out;
  if (events_.empty()) return out;
  const uint64_t oldest = events_.front().sequence;
  const size_t first = after < oldest ? 0 : static_cast<size_t>(after - oldest + 1);
  for (size_t i = first; i < events_.size() && out.size() < limit; ++i) out.push_back(events_[i]);
  return out;
}

EventLogState MemoryBindingStore::event_log_state() {
  std::lock_guard lock(mu_);
  return EventLogState{
      .oldest_retained = events_.empty() ? next_sequence_ : events_.front().sequence,
      .next_sequence = next_sequence_};
}

std::vector<Binding> MemoryBindingStore::load_unexpired(WallTime now) {
  std::lock_guard lock(mu_);
  std::vector<Binding> out;
  for (const auto& [aor, list] : rows_)
    for (const Binding& b : list)
      if (b.expires_at > now) out.push_back(b);
  return out;
}

size_t MemoryBindingStore::purge_expired(WallTime now) {
  std::lock_guard lock(mu_);
  size_t n = 0;
  for (auto it = rows_.begin(); it != rows_.end();) {
    auto& list = it->second;
    size_t before = list.size();
    std::erase_if(list, [&](const Binding& b) { return b.expires_at <= now; });
    n += before - list.size();
    it = list.empty() ? rows_.erase(it) : std::next(it);
  }
  return n;
}

size_t MemoryBindingStore::writes() const {
  std::lock_guard lock(mu_);
  return writes_;
}

std::vector<Binding> MemoryBindingStore::stored(const std::string& aor) const {
  std::lock_guard lock(mu_);
  auto it = rows_.find(aor);
  return it == rows_.end() ? std::vector<Binding>() : it->second;
}

std::string MemoryCredentialStore::key(std::string_view realm) {
  std::string k(realm);
  for (char& c : k) c = sip::lex::to_lower(c);
  return k;
}

std::optional<Realm> MemoryCredentialStore::find_realm(std::string_view name) const {
  std::shared_lock lock(mu_);
  auto it = realms_.find(key(name));
  if (it == realms_.end()) return std::nullopt;
  return it->second;
}

std::vector<Realm> MemoryCredentialStore::list_realms() const {
  std::shared_lock lock(mu_);
  std::vector<Realm> out;
  for (const auto& [k, r] : realms_) out.push_back(r);
  return out;
}

StoreResult MemoryCredentialStore::put_realm(const Realm& realm) {
  std::unique_lock lock(mu_);
  realms_[key(realm.name)] = realm;
  return {};
}

bool MemoryCredentialStore::remove_realm(std::string_view name) {
  std::unique_lock lock(mu_);
  std::string k = key(name);
  std::erase_if(credentials_, [&](const auto& e) { return e.first.first == k; });
  return realms_.erase(k) > 0;
}

std::optional<Credential> MemoryCredentialStore::find_credential(std::string_view realm,
                                                                 std::string_view username) const {
  std::shared_lock lock(mu_);
  auto it = credentials_.find({key(realm), std::string(username)});
  if (it == credentials_.end()) return std::nullopt;
  return it->second;
}

std::vector<Credential> MemoryCredentialStore::list_credentials(std::string_view realm) const {
  std::shared_lock lock(mu_);
  std::vector<Credential> out;
  std::string k = key(realm);
  for (const auto& [id, c] : credentials_)
    if (id.first == k) out.push_back(c);
  return out;
}

StoreResult MemoryCredentialStore::put_credential(const Credential& credential) {
  std::unique_lock lock(mu_);
  std::string k = key(credential.realm());
  if (!realms_.count(k)) return {false, "realm " + credential.realm() + " does not exist"};
  credentials_.insert_or_assign({k, credential.username()}, credential);
  return {};
}

bool MemoryCredentialStore::remove_credential(std::string_view realm, std::string_view username) {
  std::unique_lock lock(mu_);
  return credentials_.erase({key(realm), std::string(username)}) > 0;
}

}  // namespace registrar
