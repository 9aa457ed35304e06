// registrar/store/redis/redis_codec.h — the values the Redis stores keep.
//
// An AOR's binding set (the value of `{p}aor:{aor}`), format "sb2":
//   "sb2 " <decimal stamp> " " <decimal length of R> "\n" R  body
//   stamp = the write's (AorGuard; the Lua script compares it as a string)
//   (format "sb1" — "sb1 " <length of R> "\n" R body — is still read, as stamp 0)
//   R    = the set's distinct realms joined by '\0' (read by the Lua script,
//          which removes the AOR from the old realms' indexes)
//   body = varint base_ms, varint count, count × (varint length, binding blob)
//   binding blob = binding_codec.h's, with row_aor = the AOR and base_ms.
// An event (the 'e' field of a `{p}events` stream entry; the entry also has
// 't' = its time in ms, for trimming by age, and 'a' = the AOR):
//   u8 version (1), u8 type, str reason, str binding blob, str previous blob
//   ("" = none; str = varint length + bytes); blobs based on the event time.
// Decoders return false on anything malformed (hostile values are skipped).
#ifndef SWITCHBOARD_REGISTRAR_STORE_REDIS_REDIS_CODEC_H_
#define SWITCHBOARD_REGISTRAR_STORE_REDIS_REDIS_CODEC_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "registrar/binding.h"
#include "registrar/registration_event.h"

namespace registrar {

std::string encode_binding_set(std::string_view aor, const std::vector<Binding>& bindings,
                               uint64_t stamp = 0);
// `stamp` (optional) receives the set's stamp.
[[nodiscard]] bool decode_binding_set(std::string_view value, std::string_view aor,
                                      std::vector<Binding>& out, uint64_t* stamp = nullptr);
// The realms R of a binding set as stored ('\0'-joined, sorted, distinct).
std::string binding_set_realms(const std::vector<Binding>& bindings);

std::string encode_event(std::string_view aor, const RegistrationEvent& e);
// Fills type, reason, binding, previous (time and sequence are the caller's).
[[nodiscard]] bool decode_event(std::string_view blob, std::string_view aor, int64_t time_ms,
                                RegistrationEvent& e);

}  // namespace registrar

#endif  // SWITCHBOARD_REGISTRAR_STORE_REDIS_REDIS_CODEC_H_
