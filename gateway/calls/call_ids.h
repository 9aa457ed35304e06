// gateway/calls/call_ids.h — call resource ids: "c" + 20 lowercase hex digits
// that sort by creation (ListCalls pages by id).
//
// The first 12 hex digits are the wall-clock milliseconds since the Unix
// epoch (good until year 10889), the last 8 a sequence that starts at a
// random value each millisecond and counts up within it. If the wall clock
// steps back, the last millisecond is reused, so ids from one generator
// always increase.
//
// Across replicas (docs/scale-out.md) random starting points are not enough:
// a replica remembers which peer owns a call by its id, and two replicas
// creating calls in the same millisecond would collide about once in 2^31
// pairs — at scale, a few times a year. With a `node` (a number no other
// live replica holds, from the replica directory), the last 8 digits are the
// node (4) and the sequence (4): ids from different nodes never collide.
//
//   CallIdGenerator ids(tags);                     // one process
//   CallIdGenerator ids(tags, 0x002a);             // replica node 42
//   std::string id = ids.next(clock.wall_now());   // "c0195e2a1b3c4002a09bd"
//
// Threading: not thread-safe; the engine uses it on its own thread.
#ifndef SWITCHBOARD_GATEWAY_CALLS_CALL_IDS_H_
#define SWITCHBOARD_GATEWAY_CALLS_CALL_IDS_H_

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "gateway/tag_source.h"

namespace switchboard::calls {

class CallIdGenerator {
 public:
  explicit CallIdGenerator(TagSource tags, std::optional<uint16_t> node = std::nullopt)
      : tags_(std::move(tags)), node_(node) {}
  std::string next(std::chrono::system_clock::time_point now);

 private:
  TagSource tags_;
  std::optional<uint16_t> node_;
  uint64_t last_ms_ = 0;
  uint32_t sequence_ = 0;
};

// True for "c" + 20 lowercase hex digits.
bool valid_call_id(std::string_view id);

}  // namespace switchboard::calls

#endif  // SWITCHBOARD_GATEWAY_CALLS_CALL_IDS_H_
