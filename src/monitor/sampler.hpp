#pragma once
// The monitor: one thread sampling, at a fixed period, host CPU % and RSS of each target
// process group (/proc) and the telemetry of each GPU (GpuBackend::sample). Samples are
// buffered; the owner drains them (typically every ~100 ms) and stores them.
// Thread-safety: set_targets(), drain() and stop() may be called from any one other thread.
#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.hpp"
#include "gpu/gpu_backend.hpp"

namespace colo {

struct MonitorSample {
  double t = 0;               // Clock::now() in seconds
  std::optional<int> target;  // index given in set_targets, for host metrics
  std::optional<int> gpu;     // device index, for GPU metrics
  std::string metric;
  double value = 0;
};

class Sampler {
 public:
  // `backend` may be null (no GPU telemetry). `period` >= 10 ms.
  Sampler(GpuBackend* backend, const Clock& clock, Seconds period, std::vector<int> gpus,
          std::string proc_root = "/proc");
  ~Sampler();
  Sampler(const Sampler&) = delete;
  Sampler& operator=(const Sampler&) = delete;

  // Process groups to watch: target index -> pgid.
  void set_targets(std::map<int, pid_t> targets);
  void start();
  void stop();
  std::vector<MonitorSample> drain();
  // Number of sampling passes so far and the errors met (a lost GPU, ...).
  [[nodiscard]] long passes() const { return m_passes.load(); }
  std::vector<std::string> errors();

  // One pass, synchronously (used by the thread, and by tests with a FakeClock).
  void sample_once();

 private:
  void loop();

  GpuBackend* m_backend;
  const Clock& m_clock;
  Seconds m_period;
  std::vector<int> m_gpus;
  std::string m_proc_root;

  std::mutex m_mutex;
  std::condition_variable m_cv;
  bool m_stop = false;
  std::map<int, pid_t> m_targets;
  std::map<int, std::pair<double, double>> m_last_cpu;  // target -> (t, cpu seconds)
  std::vector<MonitorSample> m_buffer;
  std::vector<std::string> m_errors;
  std::atomic<long> m_passes{0};
  std::thread m_thread;
};

}  // namespace colo
