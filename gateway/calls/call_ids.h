// gateway/calls/call_ids.h — call resource ids: "c" + 20 lowercase hex digits
// that sort by creation (ListCalls pages by id).
//
// The first 12 hex digits are the wall-clock milliseconds since the Unix
// epoch (good until year 10889), the last 8 a sequence that starts at a
// random value each millisecond and counts up within it. If the wall clock
// steps back, the last millisecond is reused, so ids from one generator
// always increase. Random starting points keep ids from two replicas (or two
// restarts within a millisecond) from colliding in practice.
//
//   CallIdGenerator ids(tags);
//   std::string id = ids.next(clock.wall_now());   // "c0195e2a1b3c47f1a09bd"
//
// Threading: not thread-safe; the engine uses it on its own thread.
#ifndef SWITCHBOARD_GATEWAY_CALLS_CALL_IDS_H_
#define SWITCHBOARD_GATEWAY_CALLS_CALL_IDS_H_

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "gateway/tag_source.h"

namespace switchboard::calls {

class CallIdGenerator {
 public:
  explicit CallIdGenerator(TagSource tags) : tags_(std::move(tags)) {}
  std::string next(std::chrono::system_clock::time_point now);

 private:
  TagSource tags_;
  uint64_t last_ms_ = 0;
  uint32_t sequence_ = 0;
};

// True for "c" + 20 lowercase hex digits.
bool valid_call_id(std::string_view id);

}  // namespace switchboard::calls

#endif  // SWITCHBOARD_GATEWAY_CALLS_CALL_IDS_H_
