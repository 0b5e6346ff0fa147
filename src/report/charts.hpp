#pragma once
// The Vega-Lite charts of the HTML report (pure: values in, chart specs out). Each returns null
// when it has nothing to draw.
#include <nlohmann/json.hpp>

#include "report/report.hpp"

namespace colo {

// Aggregate speed-up per group and mode: bars (mean), whiskers (95% CI, clipped at 0), dashed
// reference lines at 1x (no gain) and Nx (N clients without interference).
nlohmann::json speedup_chart(const Summary& s);
// Interference: the slowdown (% of its solo rate lost) of every workload of every group, per
// mode, one panel per group (groups of any size).
nlohmann::json interference_chart(const Summary& s);
// Progress rate of each workload over time, one run at a time (a selector lists every run),
// warm-up shaded.
nlohmann::json rate_chart(const ReportInput& in);
// GPU telemetry: one panel per metric (human name, unit), one line per GPU, warm-up shaded, a
// selector for the run; with several GPUs, one column of panels per GPU, each with a selector
// of the runs that GPU had.
nlohmann::json telemetry_chart(const ReportInput& in);
// Step latency percentiles, bars side by side (never stacked) per workload, mode and group.
nlohmann::json latency_chart(const ReportInput& in);
// Any of speed-up, worst slowdown, aggregate rate and solo rates against a swept parameter
// (selectors for the parameter and the metric); null without a sweep.
nlohmann::json sweep_chart(const Summary& s);
// Pipelines: end-to-end latency CDFs (log x), and per-stage median queue wait vs service time.
nlohmann::json pipeline_cdf_chart(const ReportInput& in);
nlohmann::json pipeline_stage_chart(const ReportInput& in);

// Every chart above that has something to draw, in page order.
std::vector<nlohmann::json> report_charts(const ReportInput& in);

}  // namespace colo
