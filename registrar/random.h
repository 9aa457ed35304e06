// registrar/random.h — where nonce randomness and generated secrets come from.
//
// Injected, so tests get the same bytes on every run while production draws
// from OpenSSL's CSPRNG.
//
//   registrar::SystemRandom random;          // production
//   registrar::SeededRandom random(42);      // tests: same bytes every run
//   std::array<uint8_t, 12> salt;
//   random.fill(salt);
//
// Threading: fill() may be called from any thread at once on both
// implementations, and must be on any other.
#ifndef SWITCHBOARD_REGISTRAR_RANDOM_H_
#define SWITCHBOARD_REGISTRAR_RANDOM_H_

#include <cstdint>
#include <mutex>
#include <span>

namespace registrar {

class RandomSource {
 public:
  virtual ~RandomSource() = default;
  // Fills `out` entirely. Never fails: an implementation that cannot produce
  // bytes of the promised quality aborts the process instead of returning
  // predictable ones.
  virtual void fill(std::span<uint8_t> out) = 0;
};

// OpenSSL's CSPRNG (RAND_bytes), seeded from the operating system.
class SystemRandom final : public RandomSource {
 public:
  void fill(std::span<uint8_t> out) override;
};

// A deterministic stream (SplitMix64) for tests. NOT for production: anyone
// who knows the seed predicts every byte.
class SeededRandom final : public RandomSource {
 public:
  explicit SeededRandom(uint64_t seed) : state_(seed) {}
  void fill(std::span<uint8_t> out) override;

 private:
  std::mutex mu_;
  uint64_t state_;  // guarded by mu_
};

}  // namespace registrar

#endif  // SWITCHBOARD_REGISTRAR_RANDOM_H_
