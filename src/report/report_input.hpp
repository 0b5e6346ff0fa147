#pragma once
// Everything a report shows, built from an experiment's records (STYLE.md §3: pure; the CLI reads
// the store and hands the rows in, run by run, so a large store is never held whole).
#include <string>
#include <string_view>
#include <vector>

#include "core/records.hpp"
#include "report/report.hpp"

namespace colo {

// A GPU metric the telemetry chart shows: its human name, unit, and the factor from the stored
// value to that unit (GPM ratios 0..1 are shown in %).
struct MetricInfo {
  std::string_view id;  // DCGM field name as stored
  std::string_view name;
  std::string_view unit;
  double scale = 1;
};
// The charted GPU metrics, in panel order.
const std::vector<MetricInfo>& charted_gpu_metrics();
// The metric's entry, or nullptr when it is not charted.
const MetricInfo* gpu_metric_info(std::string_view id);

class ReportBuilder {
 public:
  ReportBuilder(const ExperimentRecord& exp, std::vector<RunData> runs, double max_slowdown_x);

  // Whether add_run wants this run's series (done runs only).
  [[nodiscard]] static bool wants(const RunData& rd);
  // One run's series: `progress[i]` belongs to rd.workloads[i]; `samples` are the run's
  // telemetry. Progress becomes a rate timeline (samples/s in bins of ~1/100 of the run, 0.1 s
  // to 1 s); latencies after the warm-up feed the percentiles; charted GPU metrics become one
  // timeline per metric and GPU, in the metric's unit. Every series keeps at most 600 points
  // (min/max per bucket, so peaks survive).
  void add_run(const RunData& rd, const std::vector<std::vector<ProgressRow>>& progress,
               const std::vector<SampleRow>& samples);
  // The finished input (latency percentiles computed).
  [[nodiscard]] ReportInput finish();

 private:
  // One GpuTelemetryRow per GPU that `samples` read after the warm-up (`warm` s).
  void add_gpu_rows(const RunData& rd, const std::vector<SampleRow>& samples, double warm);

  ReportInput m_in;
  std::vector<std::tuple<std::string, std::string, std::string, std::vector<double>>> m_latency;
};

// Warm-up length (s) from a run's settings JSON ({"warmup": {"duration_s": ..}}); 0 if none.
double warmup_of(const std::string& settings_json);

// "batch=64,lr=0.1" -> {{"batch","64"},{"lr","0.1"}}; empty for "".
std::vector<std::pair<std::string, std::string>> sweep_params(const std::string& sweep);

}  // namespace colo
