// registrar/store/binding_codec.cc — see binding_codec.h for the format.
#include "registrar/store/binding_codec.h"

#include <limits>

namespace registrar {
namespace {

constexpr uint8_t kVersion = 1;
constexpr uint8_t kAorStored = 1 << 0;

void put_varint(std::string& out, uint64_t n) {
  while (n >= 0x80) {
    out.push_back(static_cast<char>((n & 0x7f) | 0x80));
    n >>= 7;
  }
  out.push_back(static_cast<char>(n));
}

void put_zigzag(std::string& out, int64_t n) {
  put_varint(out, (static_cast<uint64_t>(n) << 1) ^ static_cast<uint64_t>(n >> 63));
}

void put_string(std::string& out, std::string_view s) {
  put_varint(out, s.size());
  out.append(s);
}

// Reads from a blob, remembering the first failure.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}

  uint64_t varint() {
    uint64_t n = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= in_.size()) return fail();
      const auto byte = static_cast<unsigned char>(in_[pos_++]);
      n |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) return n;
    }
    return fail();  // more than 10 bytes
  }
  int64_t zigzag() {
    const uint64_t z = varint();
    return static_cast<int64_t>(z >> 1) ^ -static_cast<int64_t>(z & 1);
  }
  uint8_t byte() {
    if (pos_ >= in_.size()) return static_cast<uint8_t>(fail());
    return static_cast<uint8_t>(in_[pos_++]);
  }
  void string(std::string& out) {
    const uint64_t n = varint();
    if (!ok_ || n > in_.size() - pos_) {
      fail();
      return;
    }
    out.assign(in_.substr(pos_, n));
    pos_ += n;
  }
  bool done_ok() const { return ok_ && pos_ == in_.size(); }

 private:
  uint64_t fail() {
    ok_ = false;
    pos_ = in_.size();
    return 0;
  }
  std::string_view in_;
  size_t pos_ = 0;
  bool ok_ = true;
};

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
}

bool decode_binding(std::string_view blob, std::string_view row_aor, int64_t base_ms, Binding& b) {
  Reader r(blob);
  if (r.byte() != kVersion) return false;
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
