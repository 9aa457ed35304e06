// registrar/random.cc — OpenSSL-backed and deterministic random sources.
#include "registrar/random.h"

#include <openssl/rand.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>

namespace registrar {

void SystemRandom::fill(std::span<uint8_t> out) {
  while (!out.empty()) {
    const size_t n = std::min<size_t>(out.size(), INT_MAX);
    if (RAND_bytes(out.data(), static_cast<int>(n)) != 1) {
      std::fprintf(stderr, "registrar/random: RAND_bytes failed\n");
      std::abort();
    }
    out = out.subspan(n);
  }
}

void SeededRandom::fill(std::span<uint8_t> out) {
  std::lock_guard<std::mutex> lock(mu_);
  size_t i = 0;
  while (i < out.size()) {
    // SplitMix64 (Steele, Lea, Flood 2014).
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    for (int b = 0; b < 8 && i < out.size(); ++b, ++i) {
      out[i] = static_cast<uint8_t>(z >> (8 * b));
    }
  }
}

}  // namespace registrar
