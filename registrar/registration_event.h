// registrar/registration_event.h — one change to the location service, as the
// event log stores it and WatchRegistrations delivers it.
//
// Binding events (everything but kAuthFailed) get their sequence from the
// BindingStore in the same transaction that persists the change: sequences are
// strictly increasing, never reused (also across restarts), and a committed
// change always has its event. kAuthFailed events are live only (sequence 0
// when produced): they are not stored, so a password-guessing attacker cannot
// push real binding events out of the retained log.
#ifndef SWITCHBOARD_REGISTRAR_REGISTRATION_EVENT_H_
#define SWITCHBOARD_REGISTRAR_REGISTRATION_EVENT_H_

#include <cstdint>
#include <string>

#include "registrar/binding.h"

namespace registrar {

enum class RegistrationEventType : uint8_t {
  kRegistered = 1,    // a new contact
  kRefreshed = 2,     // a known contact re-registered (same or new expiry)
  kUnregistered = 3,  // Expires: 0, Contact: *, admin delete, closed connection, user deleted
  kExpired = 4,       // not refreshed in time
  kReplaced = 5,      // RFC 5626: same instance + reg-id, new flow
  kAuthFailed = 6,    // a REGISTER that failed authentication (never stored)
};

// "REGISTERED", "REFRESHED", … (the proto enum's names).
const char* to_string(RegistrationEventType type);

struct RegistrationEvent {
  uint64_t sequence = 0;  // assigned by the store at commit; 0 until then
  WallTime time{};        // when the change was made (the Clock's wall time)
  RegistrationEventType type = RegistrationEventType::kRegistered;
  // The binding as it is now (registered, refreshed, replaced) or was
  // (unregistered, expired). For kAuthFailed: realm, aor (may be empty),
  // username as presented, source_ip/source_port, transport, user_agent.
  Binding binding;
  Binding previous;     // kReplaced only: the binding that was replaced
  std::string reason;   // "expires=0", "contact=*", "api", "connection closed",
                        // "credential deleted", "realm deleted", or the auth failure

  friend bool operator==(const RegistrationEvent&, const RegistrationEvent&) = default;
};

}  // namespace registrar

#endif  // SWITCHBOARD_REGISTRAR_REGISTRATION_EVENT_H_
