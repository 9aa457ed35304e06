// registrar/store/binding_codec.h — a Binding as a small binary blob, for the
// SQLite store's event log (the bindings table keeps one column per field;
// an event keeps one or two bindings in one BLOB each) and for the Redis
// store's values and events (redis/redis_codec.h).
//
//   std::string blob;
//   encode_binding(b, row_aor, base_ms, blob);
//   Binding back;
//   if (!decode_binding(blob, row_aor, base_ms, back)) …   // malformed
//
// Format, version 2 (all integers LEB128 varints; "zz" = zigzag-encoded):
//   u8   version (2)
//   u8   flags: bit 0 = the binding's aor differs from `row_aor` and follows
//   str  [aor] realm contact username transport source_ip local_address path
//        instance_id call_id user_agent          (str = varint length + bytes)
//   var  source_port connection_id reg_id cseq
//   zz   q
//   zz   expires_at, first_registered, last_registered: milliseconds since the
//        epoch minus `base_ms` (the event's time: small numbers, 3-5 bytes)
//   str  replica                                 (version 2 only)
// Version 1 is version 2 without the trailing replica: blobs written before
// replicas existed (SQLite event logs, Redis values) still decode, with
// replica "". The encoder always writes version 2.
// Times keep whole milliseconds, like every time in switchboard.db. A typical
// UDP phone's binding takes ~150 bytes (its strings plus ~25).
#ifndef SWITCHBOARD_REGISTRAR_STORE_BINDING_CODEC_H_
#define SWITCHBOARD_REGISTRAR_STORE_BINDING_CODEC_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "registrar/binding.h"

namespace registrar {

// Milliseconds since the epoch (sub-millisecond parts dropped, towards the past).
int64_t to_epoch_ms(WallTime t);
WallTime from_epoch_ms(int64_t ms);

// Appends `b` to `out`, in the current format (version 2).
void encode_binding(const Binding& b, std::string_view row_aor, int64_t base_ms, std::string& out);
// Decodes a whole blob of version 1 or 2 into `b`; false (b unspecified) when
// it is malformed or of another version.
[[nodiscard]] bool decode_binding(std::string_view blob, std::string_view row_aor, int64_t base_ms,
                                  Binding& b);

}  // namespace registrar

#endif  // SWITCHBOARD_REGISTRAR_STORE_BINDING_CODEC_H_
