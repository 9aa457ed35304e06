// gateway/api/watch_encoding.h — RegistrationEvent messages converted and
// serialized once per event, whatever the number of WatchRegistrations
// streams: every stream writes the same bytes (a shared, immutable
// grpc::ByteBuffer; gRPC only takes a reference to its slice per write).
//
//   EncodedEvents encoded;                              // one per server (WatchStreams has it)
//   std::shared_ptr<const grpc::ByteBuffer> bytes = encoded.get(event);   // a SharedEvent
//   reactor->StartWrite(bytes.get());                  // keep `bytes` until OnWriteDone
//
// Keyed by the hub's shared copy of a live event (its address; an entry holds
// the event, so the address cannot be reused while it is cached). The last
// `capacity` events stay cached, first in first out: a stream further behind
// than that encodes for itself (same bytes, more work). A backlog event (each
// subscription reads its own copy from the store) is encoded by the stream
// that reads it.
//
// Threading: every method from any thread; encoding happens outside the lock
// (two streams missing the same event at once may both encode it: harmless).
#ifndef SWITCHBOARD_GATEWAY_API_WATCH_ENCODING_H_
#define SWITCHBOARD_GATEWAY_API_WATCH_ENCODING_H_

#include <grpcpp/support/byte_buffer.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "registrar/event_hub.h"
#include "registrar/registration_event.h"

namespace switchboard::api {

// The serialized switchboard.v1.RegistrationEvent for `event` (to_proto with
// `auth_failed_sequence`, see convert.h).
std::shared_ptr<const grpc::ByteBuffer> encode_event(const registrar::RegistrationEvent& event,
                                                     uint64_t auth_failed_sequence);

struct EncodedEventStats {
  uint64_t encoded = 0;  // events converted and serialized (cache misses)
  uint64_t reused = 0;   // writes that reused an encoding (cache hits)
};

class EncodedEvents {
 public:
  static constexpr size_t kDefaultCapacity = 1024;
  explicit EncodedEvents(size_t capacity = kDefaultCapacity);

  // `event`'s message, serialized. An AUTH_FAILED event carries the hub's
  // latest stored sequence (it is stamped before it is shared), so its bytes
  // are the same for every stream too.
  std::shared_ptr<const grpc::ByteBuffer> get(const registrar::SharedEvent& event);

  EncodedEventStats stats() const;

 private:
  struct Entry {
    registrar::SharedEvent event;  // keeps the key's address from being reused
    std::shared_ptr<const grpc::ByteBuffer> bytes;
  };

  const size_t capacity_;
  mutable std::mutex mu_;
  std::unordered_map<const registrar::RegistrationEvent*, Entry> entries_;
  std::deque<const registrar::RegistrationEvent*> order_;  // oldest first
  EncodedEventStats stats_;
};

}  // namespace switchboard::api

#endif  // SWITCHBOARD_GATEWAY_API_WATCH_ENCODING_H_
