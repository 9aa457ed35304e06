// registrar/store/binding_store.h — durable storage of the location service.
//
// The unit of persistence is an AOR's whole binding set: a REGISTER changes
// one AOR atomically (RFC 3261 §10.3 step 8), so the store replaces that set
// in one go. Implementations batch concurrent writes into one transaction
// (group commit) and call `done` only after the batch is durable, so the
// registrar sends its 200 OK only for changes that survive a crash.
//
//   store.replace_aor("alice@acme.test", {b1, b2}, [reply](const StoreResult& r) {
//     r.ok ? reply.ok() : reply.fail(500);
//   });
//   ...after a restart:
//   for (Binding& b : store.load_unexpired(clock.wall_now())) cache.insert(std::move(b));
//
// Threading: every method may be called from any thread. `done` runs on the
// store's writer thread: it must not block.
#ifndef SWITCHBOARD_REGISTRAR_STORE_BINDING_STORE_H_
#define SWITCHBOARD_REGISTRAR_STORE_BINDING_STORE_H_

#include <functional>
#include <string>
#include <vector>

#include "registrar/binding.h"

namespace registrar {

struct StoreResult {
  bool ok = true;
  std::string error;  // for logs; set iff !ok
};

class BindingStore {
 public:
  virtual ~BindingStore() = default;

  // Replaces every stored binding of `aor` by `bindings` (empty: deletes the
  // AOR). Writes issued in order for one AOR are applied in that order.
  // REQUIRES: every binding's aor equals `aor`.
  virtual void replace_aor(std::string aor, std::vector<Binding> bindings,
                           std::function<void(const StoreResult&)> done) = 0;

  // Every stored binding with expires_at > now. Called at start-up.
  virtual std::vector<Binding> load_unexpired(WallTime now) = 0;

  // Deletes stored bindings with expires_at <= now (housekeeping; loads
  // filter them anyway). Returns how many went.
  virtual size_t purge_expired(WallTime now) = 0;

  // Blocks until every write issued before the call is durable.
  virtual void flush() = 0;
};

}  // namespace registrar

#endif  // SWITCHBOARD_REGISTRAR_STORE_BINDING_STORE_H_
