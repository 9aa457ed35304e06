// sip/clock.h — the injected clock. Everything that expires (transactions,
// nonces, bindings) asks a Clock, so tests advance a ManualClock instead of
// sleeping.
//
//   sip::ManualClock clock;
//   table.insert(..., clock.now());
//   clock.advance(std::chrono::seconds(33));   // past Timer J
#ifndef SWITCHBOARD_SIP_CLOCK_H_
#define SWITCHBOARD_SIP_CLOCK_H_

#include <atomic>
#include <chrono>

namespace sip {

class Clock {
 public:
  using duration = std::chrono::steady_clock::duration;
  using time_point = std::chrono::steady_clock::time_point;
  virtual ~Clock() = default;
  // Monotonic time, for timers and expiry. Thread-safe.
  virtual time_point now() const = 0;
  // Wall-clock time, for Date headers and stored timestamps. Thread-safe.
  virtual std::chrono::system_clock::time_point wall_now() const = 0;
};

class SystemClock final : public Clock {
 public:
  time_point now() const override { return std::chrono::steady_clock::now(); }
  std::chrono::system_clock::time_point wall_now() const override {
    return std::chrono::system_clock::now();
  }
};

// A clock that moves only when told to. Thread-safe.
class ManualClock final : public Clock {
 public:
  ManualClock() : wall_start_(std::chrono::system_clock::from_time_t(1'790'000'000)) {}
  time_point now() const override { return time_point(duration(ticks_.load())); }
  std::chrono::system_clock::time_point wall_now() const override {
    return wall_start_ + std::chrono::duration_cast<std::chrono::system_clock::duration>(
                             duration(ticks_.load()));
  }
  void advance(duration d) { ticks_ += d.count(); }

 private:
  std::atomic<duration::rep> ticks_{duration(std::chrono::hours(1)).count()};
  std::chrono::system_clock::time_point wall_start_;
};

}  // namespace sip

#endif  // SWITCHBOARD_SIP_CLOCK_H_
