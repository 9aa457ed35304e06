// gateway/metrics/registrar_metrics.cc — see registrar_metrics.h.
#include "gateway/metrics/registrar_metrics.h"

#include "registrar/location_service.h"

namespace switchboard::metrics {

RegistrarMetrics::RegistrarMetrics(Registry& registry)
    : events_(registry.counter("switchboard_registration_events_total",
                               "Committed binding changes, by event type.", {"type"})),
      auth_failures_(registry.counter("switchboard_auth_failures_total",
                                      "Failed digest or source authentications.",
                                      {"realm", "reason"})) {
  registry.gauge("switchboard_registrations_active", "Bindings registered now, per realm.",
                 {"realm"}, [this](GaugeWriter& w) {
                   std::lock_guard lock(mu_);
                   for (const auto& [realm, count] : active_) w.set({realm}, double(count));
                 });
}

void RegistrarMetrics::seed(const registrar::LocationService& location) {
  std::map<std::string, int64_t, std::less<>> counts;
  std::string after;
  for (;;) {
    registrar::LocationService::Page page = location.list("", after, 10'000);
    for (const registrar::Binding& b : page.bindings) ++counts[b.realm];
    if (page.next_aor.empty()) break;
    after = page.next_aor;
  }
  std::lock_guard lock(mu_);
  active_ = std::move(counts);
}

void RegistrarMetrics::add_realm(const std::string& realm) {
  std::lock_guard lock(mu_);
  active_.emplace(realm, 0);
}

std::string_view RegistrarMetrics::reason_label(std::string_view reason) {
  // The call layer prefixes the method ("INVITE: wrong credentials").
  if (size_t colon = reason.find(": "); colon != std::string_view::npos && colon <= 10 &&
                                        reason.substr(0, colon).find(' ') == std::string_view::npos)
    reason.remove_prefix(colon + 2);
  if (reason == "wrong credentials") return "wrong_credentials";
  if (reason == "nonce count replayed") return "replay";
  if (reason == "too many failed attempts") return "throttled";
  if (reason == "source address is not trusted by the realm") return "untrusted_source";
  if (reason == "nonce not issued by this registrar" || reason == "nonce expired")
    return "stale_or_foreign_nonce";
  if (reason == "qop is required by the realm") return "qop_required";
  if (reason == "digest algorithm not offered") return "algorithm_not_offered";
  if (reason.find("Digest credentials") != std::string_view::npos ||
      reason.find("qop") != std::string_view::npos || reason.find("nc ") == 0 ||
      reason.find("digest uri") == 0)
    return "bad_request";
  return "other";
}

void RegistrarMetrics::on_event(const registrar::RegistrationEvent& event) {
  using Type = registrar::RegistrationEventType;
  if (event.type == Type::kAuthFailed) {
    auth_failures_.with({event.binding.realm, reason_label(event.reason)}).inc();
    return;
  }
  events_.with({registrar::to_string(event.type)}).inc();
  int delta = event.type == Type::kRegistered                                   ? 1
              : event.type == Type::kUnregistered || event.type == Type::kExpired ? -1
                                                                                  : 0;
  if (delta == 0) return;
  std::lock_guard lock(mu_);
  auto it = active_.find(event.binding.realm);
  if (it == active_.end()) it = active_.emplace(event.binding.realm, 0).first;
  it->second += delta;
  if (it->second < 0) it->second = 0;  // never negative, even if an event raced seed()
}

}  // namespace switchboard::metrics
