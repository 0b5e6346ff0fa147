#include "pipeline/loadgen.hpp"

#include <cmath>
#include <thread>

namespace colo::pipeline {

bool is_closed_loop(LoadKind kind) {
  return kind == LoadKind::closed || kind == LoadKind::single_stream;
}

ArrivalProcess::ArrivalProcess(const LoadConfig& load)
    : m_load(load), m_rng(load.seed), m_exp(load.rate > 0 ? load.rate : 1.0) {}

Nanos ArrivalProcess::next() {
  switch (m_load.kind) {
    case LoadKind::poisson:
    case LoadKind::server: {
      // Exponential gaps; the first arrival also after a gap (a Poisson process from t = 0).
      const double gap_s = m_exp(m_rng);
      m_t += Nanos(static_cast<std::int64_t>(std::llround(gap_s * 1e9)));
      return m_t;
    }
    case LoadKind::multi_stream: {
      if (!m_first) {
        m_t += std::chrono::duration_cast<Nanos>(m_load.interval);
      }
      m_first = false;
      return m_t;
    }
    case LoadKind::offline:
    case LoadKind::closed:
    case LoadKind::single_stream:
      return Nanos(0);
  }
  return Nanos(0);
}

bool SteadyWaiter::wait_until(Nanos t, const std::atomic<bool>& stop) {
  // Sleep in slices (stop is honoured within 10 ms) until 200 us before t, then spin.
  constexpr Nanos k_spin{200'000};
  constexpr Nanos k_slice{10'000'000};
  for (;;) {
    if (stop.load(std::memory_order_relaxed)) {
      return false;
    }
    const Nanos left = t - m_clock.now();
    if (left <= Nanos(0)) {
      return true;
    }
    if (left > k_spin) {
      std::this_thread::sleep_for(std::min(left - k_spin, k_slice));
    } else {
      std::this_thread::yield();
    }
  }
}

bool FakeWaiter::wait_until(Nanos t, const std::atomic<bool>& stop) {
  if (stop.load()) {
    return false;
  }
  std::lock_guard lock(m_mutex);
  const Nanos now = m_clock.now();
  if (t > now) {
    m_clock.advance(t - now);
  }
  return true;
}

}  // namespace colo::pipeline
