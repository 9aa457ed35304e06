// tests/registrar/binding_fixtures.h — bindings for store and location tests.
#ifndef SWITCHBOARD_TESTS_REGISTRAR_BINDING_FIXTURES_H_
#define SWITCHBOARD_TESTS_REGISTRAR_BINDING_FIXTURES_H_

#include <chrono>
#include <ostream>
#include <string>

#include "registrar/binding.h"

namespace registrar {

// For gtest failure messages.
inline void PrintTo(const Binding& b, std::ostream* os) {
  auto ms = [](WallTime t) {
    return std::chrono::floor<std::chrono::milliseconds>(t.time_since_epoch()).count();
  };
  *os << "Binding{" << b.aor << " -> " << b.contact << ", expires_at=" << ms(b.expires_at)
      << "ms, conn=" << b.connection_id << ", " << b.transport << " " << b.source_ip << ":"
      << b.source_port << ", call_id=" << b.call_id << ", cseq=" << b.cseq << ", q=" << b.q << "}";
}

}  // namespace registrar

namespace registrar::testing {

// A UDP binding of `aor` to `contact` that expires at `expires_at`, with every
// other field set to something plausible (times whole milliseconds, as the
// store keeps them).
inline Binding make_binding(const std::string& aor, const std::string& contact,
                            WallTime expires_at) {
  Binding b;
  b.aor = aor;
  b.realm = aor.substr(aor.find('@') + 1);
  b.contact = contact;
  b.username = aor.substr(0, aor.find('@'));
  b.transport = "udp";
  b.source_ip = "192.0.2.4";
  b.source_port = 5062;
  b.local_address = "udp:127.0.0.1:5060";
  b.call_id = "a84b4c76e66710@pc33.atlanta.example.com";
  b.cseq = 1;
  b.expires_at = expires_at;
  b.user_agent = "Switchboard-Test/1.0";
  b.first_registered = expires_at - std::chrono::seconds(3600);
  b.last_registered = b.first_registered;
  return b;
}

// A fixed wall time, whole milliseconds.
inline WallTime wall_ms(int64_t ms) {
  return WallTime(std::chrono::duration_cast<WallTime::duration>(std::chrono::milliseconds(ms)));
}

}  // namespace registrar::testing

#endif  // SWITCHBOARD_TESTS_REGISTRAR_BINDING_FIXTURES_H_
