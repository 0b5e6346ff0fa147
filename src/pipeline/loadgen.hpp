#pragma once
// Load generation: when each query is scheduled to arrive. Open-loop generators (Poisson,
// Server, MultiStream, Offline) are a pure sequence of scheduled arrival times drawn from a
// seeded stream, so that a run is reproducible and a unit test needs no clock; closed-loop
// generators (closed, SingleStream) have no schedule: the runner issues a query when one ends.
// Latency is measured from the scheduled time, never from when the query was actually issued,
// so that a slow system cannot hide its queueing (no coordinated omission).
#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <random>

#include "core/clock.hpp"
#include "pipeline/config.hpp"

namespace colo::pipeline {

// True for the generators that issue on completion (closed, single_stream).
bool is_closed_loop(LoadKind kind);

// The scheduled arrival times of an open-loop generator, as offsets from the start.
// Not thread-safe (one load-generator thread owns it).
class ArrivalProcess {
 public:
  explicit ArrivalProcess(const LoadConfig& load);
  // The next query's scheduled arrival (non-decreasing). Closed-loop kinds: always 0.
  Nanos next();

 private:
  LoadConfig m_load;
  std::mt19937_64 m_rng;
  std::exponential_distribution<double> m_exp;
  Nanos m_t{0};
  bool m_first = true;
};

// Waits until a time of a Clock. The runner's only way to pass time, so unit tests run on a
// FakeClock. wait_until returns early (false) when `stop` becomes true.
class Waiter {
 public:
  virtual ~Waiter() = default;
  virtual bool wait_until(Nanos t, const std::atomic<bool>& stop) = 0;
};

// On a SteadyClock: sleeps until shortly before `t`, then spins (yielding) for the last stretch,
// which keeps the scheduling jitter in microseconds. Thread-safe.
class SteadyWaiter final : public Waiter {
 public:
  explicit SteadyWaiter(const Clock& clock) : m_clock(clock) {}
  bool wait_until(Nanos t, const std::atomic<bool>& stop) override;

 private:
  const Clock& m_clock;
};

// On a FakeClock: advances it to `t` at once when it is behind. Thread-safe.
class FakeWaiter final : public Waiter {
 public:
  explicit FakeWaiter(FakeClock& clock) : m_clock(clock) {}
  bool wait_until(Nanos t, const std::atomic<bool>& stop) override;

 private:
  FakeClock& m_clock;
  std::mutex m_mutex;
};

}  // namespace colo::pipeline
