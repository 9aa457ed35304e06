// registrar/observer.h — the seam registration events plug into (the gRPC
// WatchRegistrations stream, metrics, logs). reSIProcate-style callbacks.
//
// Threading: called from registrar and location-service threads, several at
// once, after the change is durable. Implementations must be thread-safe and
// must not block (queue the event and return).
#ifndef SWITCHBOARD_REGISTRAR_OBSERVER_H_
#define SWITCHBOARD_REGISTRAR_OBSERVER_H_

#include <string_view>

#include "registrar/binding.h"

namespace registrar {

class RegistrationObserver {
 public:
  virtual ~RegistrationObserver() = default;
  virtual void on_added(const Binding& binding) {}
  virtual void on_refreshed(const Binding& binding) {}
  virtual void on_replaced(const Binding& old_binding, const Binding& new_binding) {}  // RFC 5626 flow
  virtual void on_removed(const Binding& binding) {}   // Expires 0, Contact *, admin delete
  virtual void on_expired(const Binding& binding) {}
  // A REGISTER that failed authentication. `username` as presented (may be empty).
  virtual void on_auth_failed(std::string_view realm, std::string_view username,
                              std::string_view source_ip, std::string_view reason) {}
};

}  // namespace registrar

#endif  // SWITCHBOARD_REGISTRAR_OBSERVER_H_
