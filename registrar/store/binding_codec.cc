// registrar/store/binding_codec.cc — see binding_codec.h for the format.
#include "registrar/store/binding_codec.h"

#include <limits>

#include "registrar/store/varint.h"

namespace registrar {
namespace {

// Version 1 lacks the trailing replica (binding_codec.h); still decoded.
constexpr uint8_t kVersionWithoutReplica = 1;
constexpr uint8_t kVersion = 2;
constexpr uint8_t kAorStored = 1 << 0;

}  // namespace

int64_t to_epoch_ms(WallTime t) {
  return std::chrono::floor<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

WallTime from_epoch_ms(int64_t ms) {
  return WallTime(std::chrono::duration_cast<WallTime::duration>(std::chrono::milliseconds(ms)));
}

void encode_binding(const Binding& b, std::string_view row_aor, int64_t base_ms, std::string& out) {
  const bool aor_stored = b.aor != row_aor;
  out.push_back(static_cast<char>(kVersion));
  out.push_back(static_cast<char>(aor_stored ? kAorStored : 0));
  if (aor_stored) put_string(out, b.aor);
  for (const std::string* s :
       {&b.realm, &b.contact, &b.username, &b.transport, &b.source_ip, &b.local_address, &b.path,
        &b.instance_id, &b.call_id, &b.user_agent}) {
    put_string(out, *s);
  }
  put_varint(out, b.source_port);
  put_varint(out, b.connection_id);
  put_varint(out, b.reg_id);
  put_varint(out, b.cseq);
  put_zigzag(out, b.q);
  put_zigzag(out, to_epoch_ms(b.expires_at) - base_ms);
  put_zigzag(out, to_epoch_ms(b.first_registered) - base_ms);
  put_zigzag(out, to_epoch_ms(b.last_registered) - base_ms);
  put_string(out, b.replica);
}

bool decode_binding(std::string_view blob, std::string_view row_aor, int64_t base_ms, Binding& b) {
  VarintReader r(blob);
  const uint8_t version = r.byte();
  if (version != kVersion && version != kVersionWithoutReplica) return false;
  const uint8_t flags = r.byte();
  if ((flags & ~kAorStored) != 0) return false;
  if ((flags & kAorStored) != 0) {
    r.string(b.aor);
  } else {
    b.aor.assign(row_aor);
  }
  for (std::string* s : {&b.realm, &b.contact, &b.username, &b.transport, &b.source_ip,
                         &b.local_address, &b.path, &b.instance_id, &b.call_id, &b.user_agent}) {
    r.string(*s);
  }
  const uint64_t port = r.varint();
  b.connection_id = r.varint();
  const uint64_t reg_id = r.varint(), cseq = r.varint();
  const int64_t q = r.zigzag();
  const int64_t expires = r.zigzag(), first = r.zigzag(), last = r.zigzag();
  if (version == kVersion) {
    r.string(b.replica);
  } else {
    b.replica.clear();
  }
  constexpr uint64_t kMaxU32 = std::numeric_limits<uint32_t>::max();
  if (!r.done_ok() || port > 65535 || reg_id > kMaxU32 || cseq > kMaxU32 ||
      q < std::numeric_limits<int>::min() || q > std::numeric_limits<int>::max()) {
    return false;
  }
  b.source_port = static_cast<uint16_t>(port);
  b.reg_id = static_cast<uint32_t>(reg_id);
  b.cseq = static_cast<uint32_t>(cseq);
  b.q = static_cast<int>(q);
  // Wrapping addition: a corrupt blob must not be undefined behaviour.
  auto at = [base_ms](int64_t delta) {
    return from_epoch_ms(
        static_cast<int64_t>(static_cast<uint64_t>(base_ms) + static_cast<uint64_t>(delta)));
  };
  b.expires_at = at(expires);
  b.first_registered = at(first);
  b.last_registered = at(last);
  return true;
}

}  // namespace registrar
