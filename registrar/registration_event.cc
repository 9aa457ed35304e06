// registrar/registration_event.cc — names of the event types.
#include "registrar/registration_event.h"

namespace registrar {

const char* to_string(RegistrationEventType type) {
  switch (type) {
    case RegistrationEventType::kRegistered:
      return "REGISTERED";
    case RegistrationEventType::kRefreshed:
      return "REFRESHED";
    case RegistrationEventType::kUnregistered:
      return "UNREGISTERED";
    case RegistrationEventType::kExpired:
      return "EXPIRED";
    case RegistrationEventType::kReplaced:
      return "REPLACED";
    case RegistrationEventType::kAuthFailed:
      return "AUTH_FAILED";
  }
  return "TYPE_UNSPECIFIED";
}

}  // namespace registrar
