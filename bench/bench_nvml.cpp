// NVML sampling cost on GPU 0: wall time of each query colo's sampler makes (median and p99 over
// many calls), and of one whole NvmlBackend::sample() (every device metric, per-process memory,
// GPM). Target: the whole set < 500 us per sample per device. Needs an NVIDIA GPU (or
// COLO_NVML_LIBRARY pointing at another NVML, e.g. the test fake, whose numbers mean nothing).
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "gpu/nvml/nvml_backend.hpp"
#include "gpu/nvml/nvml_library.hpp"

namespace {

struct Stat {
  double median_us = 0;
  double p99_us = 0;
};

Stat time_it(int reps, const std::function<void()>& f) {
  std::vector<double> us;
  us.reserve(static_cast<std::size_t>(reps));
  for (int i = 0; i < reps; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    us.push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(us.begin(), us.end());
  return {us[us.size() / 2], us[us.size() * 99 / 100]};
}

}  // namespace

int main() {
  using namespace colo::nvml;  // NOLINT
  auto lib = Library::load();
  if (!lib) {
    fmt::print(stderr, "bench_nvml: {}\n", lib.error().what());
    return 1;
  }
  auto& L = **lib;
  Device d = nullptr;
  L.nvmlDeviceGetHandleByIndex_v2(0, &d);
  char name[96] = {};
  L.nvmlDeviceGetName(d, name, sizeof(name));
  constexpr int k_reps = 2000;
  std::vector<std::pair<std::string, std::function<void()>>> queries = {
      {"utilization",
       [&] {
         Utilization u{};
         L.nvmlDeviceGetUtilizationRates(d, &u);
       }},
      {"memory",
       [&] {
         Memory m{};
         L.nvmlDeviceGetMemoryInfo(d, &m);
       }},
      {"power",
       [&] {
         unsigned int v = 0;
         L.nvmlDeviceGetPowerUsage(d, &v);
       }},
      {"total energy",
       [&] {
         unsigned long long v = 0;
         L.nvmlDeviceGetTotalEnergyConsumption(d, &v);
       }},
      {"SM clock",
       [&] {
         unsigned int v = 0;
         L.nvmlDeviceGetClockInfo(d, k_clock_sm, &v);
       }},
      {"memory clock",
       [&] {
         unsigned int v = 0;
         L.nvmlDeviceGetClockInfo(d, k_clock_mem, &v);
       }},
      {"temperature",
       [&] {
         unsigned int v = 0;
         L.nvmlDeviceGetTemperature(d, k_temperature_gpu, &v);
       }},
  };
  if (L.nvmlDeviceGetCurrentClocksEventReasons) {
    queries.push_back({"clock event reasons", [&] {
                         unsigned long long v = 0;
                         L.nvmlDeviceGetCurrentClocksEventReasons(d, &v);
                       }});
  }
  if (L.nvmlDeviceGetComputeRunningProcesses_v3) {
    queries.push_back({"running processes", [&] {
                         static ProcessInfo p[128];
                         unsigned int n = 128;
                         L.nvmlDeviceGetComputeRunningProcesses_v3(d, &n, p);
                       }});
  }
  GpmSample a = nullptr;
  GpmSample b = nullptr;
  GpmSupport sup{k_gpm_support_version, 0};
  const bool gpm = L.nvmlGpmQueryDeviceSupport && L.nvmlGpmQueryDeviceSupport(d, &sup) == 0 &&
                   sup.isSupportedDevice && L.nvmlGpmSampleAlloc(&a) == 0 &&
                   L.nvmlGpmSampleAlloc(&b) == 0;
  if (gpm) {
    L.nvmlGpmSampleGet(d, a);
    queries.push_back({"GPM sample", [&] { L.nvmlGpmSampleGet(d, b); }});
    queries.push_back({"GPM metrics (11)", [&] {
                         static GpmMetricsGet g;
                         g.version = k_gpm_metrics_get_version;
                         g.numMetrics = 11;
                         g.sample1 = a;
                         g.sample2 = b;
                         const unsigned int ids[] = {2, 3, 5, 10, 11, 12, 13, 20, 21, 60, 61};
                         for (unsigned int i = 0; i < 11; ++i) {
                           g.metrics[i].metricId = ids[i];
                         }
                         L.nvmlGpmMetricsGet(&g);
                       }});
  }
  const char* other = std::getenv("COLO_NVML_LIBRARY");
  fmt::print(
      "NVML query cost on GPU 0 ({}), {} calls each{}\n", name, k_reps,
      other ? fmt::format(" -- NVML from {}, not the driver's: not a measurement", other) : "");
  double sum = 0;
  for (const auto& [q, f] : queries) {
    const auto st = time_it(k_reps, f);
    sum += st.median_us;
    fmt::print("  {:<22} median {:8.1f} us   p99 {:8.1f} us\n", q, st.median_us, st.p99_us);
  }
  fmt::print("  {:<22} {:8.1f} us (sum of medians)\n", "all queries", sum);
  if (gpm) {
    L.nvmlGpmSampleFree(a);
    L.nvmlGpmSampleFree(b);
  }
  auto backend = colo::NvmlBackend::create();
  if (!backend) {
    fmt::print(stderr, "bench_nvml: {}\n", backend.error().what());
    return 1;
  }
  (void)(*backend)->sample(0);  // GPM needs a previous sample
  // sample() reads the energy counter at most once a second: time both kinds of sample.
  std::vector<double> plain;
  std::vector<double> with_energy;
  for (int i = 0; i < 60; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    auto m = (*backend)->sample(0);
    const double us =
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
    const bool energy = m && std::any_of(m->begin(), m->end(), [](const colo::Metric& x) {
                          return x.name == "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION";
                        });
    (energy ? with_energy : plain).push_back(us);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the 10 Hz monitor's pace
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0.0 : v[v.size() / 2];
  };
  const double p = median(plain);
  const double e = median(with_energy);
  const double per_s =
      (p * static_cast<double>(plain.size()) + e * static_cast<double>(with_energy.size())) / 6.0;
  fmt::print(
      "  NvmlBackend::sample() at 10 Hz for 6 s: {} samples median {:.1f} us; {} with the "
      "energy counter median {:.1f} us; {:.0f} us per second of monitoring\n",
      plain.size(), p, with_energy.size(), e, per_s);
  fmt::print("  target < 500 us per sample (without the 1/s energy read): {}\n",
             p < 500 ? "met" : "NOT met");
  return 0;
}
