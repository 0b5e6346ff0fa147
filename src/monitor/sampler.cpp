#include "monitor/sampler.hpp"

#include <unistd.h>

#include <cmath>
#include <set>

#include "monitor/proc_stats.hpp"

namespace colo {

Sampler::Sampler(GpuBackend* backend, const Clock& clock, Seconds period, std::vector<int> gpus,
                 std::string proc_root)
    : m_backend(backend),
      m_clock(clock),
      m_period(period),
      m_gpus(std::move(gpus)),
      m_proc_root(std::move(proc_root)) {}

Sampler::~Sampler() {
  stop();
}

void Sampler::set_targets(std::map<int, pid_t> targets) {
  std::lock_guard lock(m_mutex);
  m_targets = std::move(targets);
  m_last_cpu.clear();
}

void Sampler::start() {
  std::lock_guard lock(m_mutex);
  if (m_thread.joinable()) {
    return;
  }
  m_stop = false;
  m_thread = std::thread([this] { loop(); });
}

void Sampler::stop() {
  {
    std::lock_guard lock(m_mutex);
    m_stop = true;
  }
  m_cv.notify_all();
  if (m_thread.joinable()) {
    m_thread.join();
  }
}

std::vector<MonitorSample> Sampler::drain() {
  std::lock_guard lock(m_mutex);
  std::vector<MonitorSample> out;
  out.swap(m_buffer);
  return out;
}

std::vector<std::string> Sampler::errors() {
  std::lock_guard lock(m_mutex);
  std::vector<std::string> out;
  out.swap(m_errors);
  return out;
}

void Sampler::sample_once() {
  std::map<int, pid_t> targets;
  {
    std::lock_guard lock(m_mutex);
    targets = m_targets;
  }
  std::set<pid_t> pgids;
  for (const auto& [i, pg] : targets) {
    pgids.insert(pg);
  }
  const double t = to_seconds(m_clock.now());
  auto groups = read_process_groups(pgids, m_proc_root);
  std::vector<MonitorSample> out;
  std::vector<std::string> errs;
  for (const auto& [i, pg] : targets) {
    auto it = groups.find(pg);
    if (it == groups.end()) {
      continue;
    }
    out.push_back(
        {t, i, std::nullopt, "host.rss_bytes", static_cast<double>(it->second.rss_bytes)});
    out.push_back(
        {t, i, std::nullopt, "host.processes", static_cast<double>(it->second.processes)});
    std::lock_guard lock(m_mutex);
    auto last = m_last_cpu.find(i);
    if (last != m_last_cpu.end() && t > last->second.first) {
      const double pct =
          100.0 * (it->second.cpu_seconds - last->second.second) / (t - last->second.first);
      out.push_back({t, i, std::nullopt, "host.cpu_percent", std::max(0.0, pct)});
    }
    m_last_cpu[i] = {t, it->second.cpu_seconds};
  }
  if (m_backend) {
    for (int g : m_gpus) {
      auto metrics = m_backend->sample(g);
      if (!metrics) {
        errs.push_back(metrics.error().what());
        continue;
      }
      for (const auto& m : *metrics) {
        if (!std::isfinite(m.value)) {
          continue;  // a metric the device could not compute this period
        }
        if (m.pid == 0) {
          out.push_back({t, std::nullopt, g, m.name, m.value});
          continue;
        }
        // A process's GPU memory belongs to the workload whose process group holds it.
        const pid_t pg = ::getpgid(m.pid);
        for (const auto& [i, tpg] : targets) {
          if (tpg == pg) {
            out.push_back({t, i, g, "gpu.mem_bytes", m.value});
          }
        }
      }
    }
  }
  std::lock_guard lock(m_mutex);
  m_buffer.insert(m_buffer.end(), out.begin(), out.end());
  for (auto& e : errs) {
    if (m_errors.size() < 100) {
      m_errors.push_back(std::move(e));
    }
  }
  ++m_passes;
}

void Sampler::loop() {
  auto next = std::chrono::steady_clock::now();
  const auto period = std::chrono::duration_cast<std::chrono::steady_clock::duration>(m_period);
  for (;;) {
    sample_once();
    next += period;
    std::unique_lock lock(m_mutex);
    if (m_cv.wait_until(lock, next, [this] { return m_stop; })) {
      return;
    }
  }
}

}  // namespace colo
