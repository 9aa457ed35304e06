// gateway/metrics/registrar_metrics.h — registrar figures for Prometheus,
// kept by observing registration events (registrar/observer.h):
//
//   switchboard_registrations_active{realm}         bindings now registered
//   switchboard_registration_events_total{type}     REGISTERED, REFRESHED, …
//   switchboard_auth_failures_total{realm,reason}   failed authentications
//
// Why an observer rather than counting at scrape time: walking a million
// bindings per scrape would cost more than the scrape interval allows; the
// events already say exactly what changed. Seeded once from the location
// service at start (seed()), before traffic.
//
// `reason` is a fixed vocabulary (wrong_credentials, replay, throttled,
// untrusted_source, stale_or_foreign_nonce, qop_required, bad_request,
// algorithm_not_offered, other) so no client input becomes a label value;
// realms are the served ones.
//
// Threading: on_event() is called from the store's commit thread and from
// registrar threads (auth failures); seed() before traffic; the gauge reads
// under a mutex at scrape time.
#ifndef SWITCHBOARD_GATEWAY_METRICS_REGISTRAR_METRICS_H_
#define SWITCHBOARD_GATEWAY_METRICS_REGISTRAR_METRICS_H_

#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "gateway/metrics/metrics.h"
#include "registrar/observer.h"
#include "registrar/registration_event.h"

namespace registrar {
class LocationService;
}

namespace switchboard::metrics {

class RegistrarMetrics final : public registrar::RegistrationObserver {
 public:
  explicit RegistrarMetrics(Registry& registry);

  // Counts the bindings the location service holds now, per realm.
  void seed(const registrar::LocationService& location);
  // Makes `realm` appear (at 0) before its first binding: a served realm
  // with no devices is worth seeing on a dashboard.
  void add_realm(const std::string& realm);

  void on_event(const registrar::RegistrationEvent& event) override;

  // The label value for an authentication failure's reason text.
  static std::string_view reason_label(std::string_view reason);

 private:
  Family<Counter>& events_;
  Family<Counter>& auth_failures_;
  std::mutex mu_;
  std::map<std::string, int64_t, std::less<>> active_;  // realm → bindings
};

}  // namespace switchboard::metrics

#endif  // SWITCHBOARD_GATEWAY_METRICS_REGISTRAR_METRICS_H_
