// gateway/tag_source.cc — see tag_source.h.
#include "gateway/tag_source.h"

#include <random>

namespace switchboard {

TagSource random_tag_source() {
  return [] {
    thread_local std::mt19937_64 engine{[] {
      std::random_device device;
      std::seed_seq seed{device(), device(), device(), device()};
      return std::mt19937_64(seed);
    }()};
    static constexpr char kHex[] = "0123456789abcdef";
    uint64_t bits = engine();
    std::string tag(16, '0');
    for (char& c : tag) {
      c = kHex[bits & 0xf];
      bits >>= 4;
    }
    return tag;
  };
}

}  // namespace switchboard
