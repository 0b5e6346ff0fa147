#pragma once
// Prometheus text exposition format 0.0.4, written here: Debian 12 has no prometheus-cpp package
// (docs/serve.md). Families are values; render() is pure. Histogram is thread-safe.
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "gpu/gpu_backend.hpp"

namespace colo::serve {

enum class MetricType { counter, gauge, histogram };

struct MetricSample {
  std::string suffix;                         // "", "_bucket", "_sum", "_count"
  std::map<std::string, std::string> labels;  // rendered sorted by name
  double value = 0;
};

struct MetricFamily {
  std::string name;  // colo_...
  std::string help;
  MetricType type = MetricType::gauge;
  std::vector<MetricSample> samples;
};

// The exposition text: "# HELP", "# TYPE" and one line per sample; label values escaped
// (backslash, double quote, newline), +Inf/NaN spelled as Prometheus expects.
std::string render(const std::vector<MetricFamily>& families);

// dcgm-exporter's labels of GPU `gpu`: gpu (index), UUID, modelName, and simulated="true" on
// the simulated GPU.
std::map<std::string, std::string> gpu_labels(int gpu, const std::string& uuid,
                                              const std::string& model, bool simulated);

// One family per DCGM field (DCGM_FI_*) in `telemetry` (values by GPU index; per-process values
// and other names are left out), samples labelled by `labels(gpu)`; gauges but for
// DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION (a counter). `simulated`: HELP says so. Pure.
std::vector<MetricFamily> dcgm_families(
    const std::map<int, std::vector<Metric>>& telemetry,
    const std::function<std::map<std::string, std::string>(int)>& labels, bool simulated);

// A latency histogram with fixed upper bounds (seconds). Thread-safe.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  // The default task-latency buckets: 0.5 ms .. 60 s.
  static std::vector<double> latency_bounds();
  void observe(double v);
  // Appends this histogram's _bucket/_sum/_count samples with `labels` to `family`.
  void append_to(MetricFamily& family, const std::map<std::string, std::string>& labels) const;

 private:
  std::vector<double> m_bounds;
  mutable std::mutex m_mutex;
  std::vector<std::uint64_t> m_counts;  // per bound, not cumulative; last: +Inf
  double m_sum = 0;
  std::uint64_t m_count = 0;
};

}  // namespace colo::serve
