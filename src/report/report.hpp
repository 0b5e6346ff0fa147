#pragma once
// Reports of one experiment (STYLE.md §3: pure, values in, text out): text, Markdown, CSV,
// JSON and a self-contained HTML page with Vega-Lite charts (the libraries are inlined from
// web/node_modules at build time; the page loads nothing from the network).
// Every format states when results are simulated and when the experiment is still running.
#include <nlohmann/json.hpp>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/records.hpp"
#include "core/result.hpp"
#include "report/summary.hpp"

namespace colo {

enum class ReportFormat { text, markdown, csv, json, html };
Result<ReportFormat> report_format_from(const std::string& name);

struct TimePoint {
  double t = 0;  // run-relative seconds
  double v = 0;
};

// One plotted series of one run: a workload's progress rate (samples/s per 1 s bin) or a GPU
// metric.
struct Timeline {
  std::string run;     // run key
  std::string kind;    // "rate" or "gpu"
  std::string series;  // workload label, or the metric's human name with its unit
  std::string gpu;     // "GPU 0" for kind "gpu"; "" otherwise
  std::string unit;    // of the points' values ("samples/s", "%", "W", "MiB")
  std::vector<TimePoint> points;
};

struct LatencyRow {
  std::string mode;
  std::string group;
  std::string workload;
  int n = 0;
  double p50 = 0;
  double p95 = 0;
  double p99 = 0;
};

// Latency percentiles of a pipeline (docs/pipeline.md), milliseconds.
struct PipelineLatency {
  std::int64_t n = 0;
  double mean = 0;
  double p50 = 0;
  double p90 = 0;
  double p99 = 0;
  double p999 = 0;
};

struct PipelineStageRow {
  std::string name;
  PipelineLatency wait;     // queue wait before the stage
  PipelineLatency service;  // the stage's own time
  std::int64_t failed = 0;
  std::map<int, std::int64_t> batches;  // a batching stage: batch size -> batches sent on
};

// One pipeline workload of one run: end to end (from the scheduled arrival) and per stage.
struct PipelineRow {
  std::string run;  // run key
  std::string mode;
  std::string group;
  std::string workload;  // "name#copy"
  std::int64_t issued = 0;
  std::int64_t completed = 0;
  std::int64_t dropped = 0;
  std::int64_t failed = 0;
  double offered_qps = 0;  // 0 for closed loops (no schedule of their own)
  double achieved_qps = 0;
  PipelineLatency e2e;
  std::vector<PipelineStageRow> stages;
  std::vector<std::pair<double, double>> cdf;  // (latency ms, fraction of completed <=)
  // MLPerf Server's latency bound (latency_bound_ms 0: none): the latency at bound_percentile
  // against the bound.
  double latency_bound_ms = 0;
  double bound_percentile = 0;
  double latency_at_percentile_ms = 0;
  bool bound_met = false;
  std::int64_t events_not_logged = 0;  // counted by the pipeline but not in its event log
  std::int64_t queries_not_logged = 0;
  // Queries scheduled in the run's warm-up (its first warmup_s): in none of the figures above.
  std::int64_t warmup_queries = 0;
  double warmup_s = 0;
};

// One GPU in one run, over the run's samples after its warm-up: the means of the charted
// ratios and of power, the peak memory used, and the energy (J) where the GPU counts it. With
// several GPUs the reports print one row per GPU and run ("GPU telemetry per GPU").
struct GpuTelemetryRow {
  std::string run;  // run key
  std::string mode;
  std::string group;
  int gpu = 0;
  int samples = 0;  // sampling passes that read this GPU
  std::optional<double> sm_active_pct;
  std::optional<double> dram_active_pct;
  std::optional<double> util_pct;
  std::optional<double> power_w;
  std::optional<double> mem_peak_mib;
  std::optional<double> energy_j;
};

struct ReportInput {
  ExperimentRecord exp;
  Summary summary;
  std::vector<RunData> runs;
  std::vector<Timeline> timelines;
  std::vector<LatencyRow> latencies;
  std::vector<PipelineRow> pipelines;      // pipeline workloads of done runs (their event logs)
  std::map<std::string, double> warmup_s;  // run key -> warm-up length (shaded)
  std::vector<GpuTelemetryRow> gpu_rows;   // per run and GPU, in run order
  double max_slowdown_x = 2.0;
  bool partial = false;  // the experiment is still running or was interrupted
};

// One report format. Implementations: text, Markdown, CSV, JSON, HTML (make_reporter).
class Reporter {
 public:
  virtual ~Reporter() = default;
  [[nodiscard]] virtual std::string render(const ReportInput& in) const = 0;
  [[nodiscard]] virtual const char* extension() const = 0;  // "html", "md", "csv", ...
};
std::unique_ptr<Reporter> make_reporter(ReportFormat format);

// make_reporter(format)->render(in).
std::string render_report(const ReportInput& in, ReportFormat format);

// Pieces of colo's self-contained HTML pages (the libraries inlined, no network): the head up
// to and including <body>; the tail renders `charts` (Vega-Lite specs) into the elements with
// id "chart0", "chart1", ... the body provides, and reports progress in #colo-status
// (data-rendered = number of charts, or data-error).
std::string html_page_head(const std::string& title);
std::string html_page_tail(const nlohmann::json& charts);
std::string html_escape(const std::string& v);

// "NAME (driver D); ..." of the experiment's GPUs, "-" when unknown.
std::string gpu_line(const ExperimentRecord& e);

// At most `max_points` points keeping each bucket's minimum and maximum (so peaks survive), in
// time order. Returns the input when it is already small enough.
std::vector<TimePoint> downsample_minmax(const std::vector<TimePoint>& points,
                                         std::size_t max_points);

// Percentile (0..100) by linear interpolation of sorted values; 0 for none.
double percentile(std::vector<double> values, double p);

}  // namespace colo
