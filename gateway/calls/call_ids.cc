// gateway/calls/call_ids.cc — see call_ids.h.
#include "gateway/calls/call_ids.h"

namespace switchboard::calls {
namespace {

constexpr char kHex[] = "0123456789abcdef";

void append_hex(std::string& out, uint64_t value, int digits) {
  for (int i = digits - 1; i >= 0; --i) out.push_back(kHex[(value >> (4 * i)) & 0xf]);
}

// 32 bits from the tag source (hex text), 0 when it gives no hex.
uint32_t random32(const TagSource& tags) {
  uint32_t v = 0;
  std::string tag = tags ? tags() : std::string();
  for (size_t i = 0; i < tag.size() && i < 8; ++i) {
    char c = tag[i];
    int d = c >= '0' && c <= '9' ? c - '0' : (c >= 'a' && c <= 'f' ? c - 'a' + 10 : (c >= 'A' && c <= 'F' ? c - 'A' + 10 : 0));
    v = (v << 4) | uint32_t(d);
  }
  return v;
}

}  // namespace

std::string CallIdGenerator::next(std::chrono::system_clock::time_point now) {
  auto ms_signed =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  uint64_t ms = ms_signed < 0 ? 0 : uint64_t(ms_signed) & 0xffffffffffffull;
  // With a node the sequence has 16 bits, else 32.
  const uint32_t limit_mask = node_ ? 0xffffu : 0xffffffffu;
  if (ms > last_ms_) {
    last_ms_ = ms;
    // Start in the lower half so that a burst within one millisecond cannot wrap.
    sequence_ = random32(tags_) & (limit_mask >> 1);
  } else if (sequence_ == limit_mask) {
    // The sequence is used up within one millisecond: borrow the next one
    // rather than repeat.
    ++last_ms_;
    sequence_ = 0;
  } else {
    ++sequence_;
  }
  std::string id = "c";
  id.reserve(21);
  append_hex(id, last_ms_, 12);
  if (node_) {
    append_hex(id, *node_, 4);
    append_hex(id, sequence_, 4);
  } else {
    append_hex(id, sequence_, 8);
  }
  return id;
}

bool valid_call_id(std::string_view id) {
  if (id.size() != 21 || id[0] != 'c') return false;
  for (size_t i = 1; i < id.size(); ++i) {
    char c = id[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace switchboard::calls
