// registrar/store/varint.h — the primitives of the stores' binary encodings
// (binding_codec.h, redis/redis_codec.h): LEB128 varints, zigzag for signed
// numbers, length-prefixed strings, and a reader that remembers its first
// failure so a decoder checks once at the end.
//
//   std::string out;
//   put_varint(out, 300); put_string(out, "alice");
//   VarintReader r(out);
//   uint64_t n = r.varint(); std::string_view s = r.string();
//   if (!r.done_ok()) …   // malformed, or bytes left over
//
// Threading: plain values.
#ifndef SWITCHBOARD_REGISTRAR_STORE_VARINT_H_
#define SWITCHBOARD_REGISTRAR_STORE_VARINT_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace registrar {

inline void put_varint(std::string& out, uint64_t n) {
  while (n >= 0x80) {
    out.push_back(static_cast<char>((n & 0x7f) | 0x80));
    n >>= 7;
  }
  out.push_back(static_cast<char>(n));
}

inline void put_zigzag(std::string& out, int64_t n) {
  put_varint(out, (static_cast<uint64_t>(n) << 1) ^ static_cast<uint64_t>(n >> 63));
}

inline void put_string(std::string& out, std::string_view s) {
  put_varint(out, s.size());
  out.append(s);
}

// Reads what the put_* functions wrote. After the first failure every read
// returns 0 / "" and ok() stays false.
class VarintReader {
 public:
  explicit VarintReader(std::string_view in) : in_(in) {}

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
  // A length-prefixed string, viewing the input.
  std::string_view string() {
    const uint64_t n = varint();
    if (!ok_ || n > in_.size() - pos_) {
      fail();
      return {};
    }
    std::string_view s = in_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  void string(std::string& out) { out.assign(string()); }

  bool ok() const { return ok_; }
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

}  // namespace registrar

#endif  // SWITCHBOARD_REGISTRAR_STORE_VARINT_H_
