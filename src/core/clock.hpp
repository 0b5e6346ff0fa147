#pragma once
// Time sources. Code that needs "now" takes a Clock& so tests can use FakeClock.
// Thread-safety: SteadyClock is stateless; FakeClock is safe for concurrent reads and advances.
#include <atomic>
#include <chrono>

namespace colo {

using Seconds = std::chrono::duration<double>;
using Nanos = std::chrono::nanoseconds;

inline double to_seconds(Nanos d) {
  return std::chrono::duration<double>(d).count();
}

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic time since an arbitrary epoch.
  [[nodiscard]] virtual Nanos now() const = 0;
  // Wall-clock time, seconds since the Unix epoch (for stored timestamps only).
  [[nodiscard]] virtual double unix_now() const = 0;
};

class SteadyClock final : public Clock {
 public:
  [[nodiscard]] Nanos now() const override;
  [[nodiscard]] double unix_now() const override;
};

class FakeClock final : public Clock {
 public:
  [[nodiscard]] Nanos now() const override { return Nanos(m_now.load()); }
  [[nodiscard]] double unix_now() const override { return 1.7e9 + to_seconds(now()); }
  void advance(Nanos d) { m_now += d.count(); }

 private:
  std::atomic<long long> m_now{0};
};

}  // namespace colo
