// registrar/observer.h — the seam registration events plug into (the gRPC
// WatchRegistrations stream, metrics, logs). reSIProcate-style callbacks.
//
// Threading: binding events come from the store's commit path (its writer
// thread, or the caller's thread for the memory store) one at a time, in
// sequence order, after the change is durable; kAuthFailed events come from
// registrar threads, several at once. Implementations must be thread-safe and
// must not block (queue the event and return), nor call into the
// LocationService.
#ifndef SWITCHBOARD_REGISTRAR_OBSERVER_H_
#define SWITCHBOARD_REGISTRAR_OBSERVER_H_

#include <string_view>

#include "registrar/registration_event.h"

namespace registrar {

class RegistrationObserver {
 public:
  virtual ~RegistrationObserver() = default;
  // A committed binding change (its sequence set by the store), or a failed
  // authentication (kAuthFailed, sequence 0, never stored). Binding events
  // arrive in sequence order, one at a time.
  virtual void on_event(const RegistrationEvent& event) = 0;
};

}  // namespace registrar

#endif  // SWITCHBOARD_REGISTRAR_OBSERVER_H_
