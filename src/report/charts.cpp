#include "report/charts.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <set>

#include "report/report_input.hpp"
#include "report/table.hpp"

namespace colo {
namespace {

using nlohmann::json;

constexpr const char* k_schema = "https://vega.github.io/schema/vega-lite/v6.json";

json title(const std::string& text, const std::string& subtitle) {
  return {{"text", text}, {"subtitle", subtitle}, {"anchor", "start"}};
}

// The runs of `kind` timelines in order, with a run selector parameter.
// A run selector bound to parameter `name` (filters compare datum.run with it).
json run_param(const std::vector<std::string>& runs, const std::string& name = "run",
               const std::string& label = "run ") {
  return {{"name", name},
          {"value", runs.front()},
          {"bind", {{"input", "select"}, {"options", runs}, {"name", label}}}};
}

json warm_layer(const std::string& param = "run") {
  return {{"data", {{"name", "warm"}}},
          {"transform", {{{"filter", "datum.run === " + param}}}},
          {"mark", {{"type", "rect"}, {"color", "#ddd"}, {"opacity", 0.6}}},
          {"encoding",
           {{"x", {{"field", "from"}, {"type", "quantitative"}}}, {"x2", {{"field", "to"}}}}}};
}

// One warm-up interval per run (so that every run's filter finds one), or none at all when no
// run has a warm-up (an empty layer would have no extent).
json warm_rows(const ReportInput& in, const std::set<std::string>& runs) {
  json warm = json::array();
  bool any = false;
  for (const auto& run : runs) {
    auto it = in.warmup_s.find(run);
    const double w = it == in.warmup_s.end() ? 0.0 : it->second;
    any = any || w > 0;
    warm.push_back({{"run", run}, {"from", 0}, {"to", w}});
  }
  return any ? warm : json::array();
}

// The warm-up layer under `line`, when there are warm-up rows.
json layers(const json& warm, const json& line, const std::string& param = "run") {
  return warm.empty() ? json::array({line}) : json::array({warm_layer(param), line});
}

bool is_number(const std::string& v) {
  char* end = nullptr;
  std::strtod(v.c_str(), &end);
  return !v.empty() && end != nullptr && *end == '\0';
}

}  // namespace

json speedup_chart(const Summary& s) {
  json rows = json::array();
  for (const auto& g : s.groups) {
    if (g.stat.n == 0) {
      continue;
    }
    rows.push_back({{"group", group_label(g.group, g.sweep)},
                    {"mode", g.mode},
                    {"speedup", g.stat.mean},
                    {"lo", std::max(0.0, g.stat.mean - g.stat.ci95_half)},
                    {"hi", g.stat.mean + g.stat.ci95_half},
                    {"clients", g.clients},
                    {"n", g.stat.n}});
  }
  if (rows.empty()) {
    return nullptr;
  }
  json bar = {{"mark", "bar"},
              {"encoding",
               {{"x", {{"field", "mode"}, {"type", "nominal"}, {"title", nullptr}}},
                {"y", {{"field", "speedup"}, {"type", "quantitative"}, {"title", "speed-up (x)"}}},
                {"color", {{"field", "mode"}, {"type", "nominal"}}},
                {"tooltip",
                 {{{"field", "mode"}},
                  {{"field", "speedup"}, {"format", ".2f"}, {"title", "speed-up (x)"}},
                  {{"field", "lo"}, {"format", ".2f"}, {"title", "95% CI from"}},
                  {{"field", "hi"}, {"format", ".2f"}, {"title", "95% CI to"}},
                  {{"field", "n"}, {"title", "repetitions"}}}}}}};
  json whisker = {{"mark", {{"type", "rule"}, {"strokeWidth", 2}}},
                  {"encoding",
                   {{"x", {{"field", "mode"}, {"type", "nominal"}}},
                    {"y", {{"field", "lo"}, {"type", "quantitative"}}},
                    {"y2", {{"field", "hi"}}}}}};
  json one = {{"mark", {{"type", "rule"}, {"strokeDash", {4, 3}}, {"color", "#555"}}},
              {"encoding", {{"y", {{"datum", 1}, {"type", "quantitative"}}}}}};
  json n = {{"mark", {{"type", "rule"}, {"strokeDash", {4, 3}}, {"color", "#b00"}}},
            {"encoding",
             {{"y", {{"aggregate", "max"}, {"field", "clients"}, {"type", "quantitative"}}}}}};
  return {
      {"$schema", k_schema},
      {"title", title("Aggregate speed-up vs running alone",
                      "bars: mean over repetitions; whiskers: 95% CI (clipped at 0); dashed: "
                      "1x (no gain, grey) and Nx (N clients without interference, red)")},
      {"data", {{"values", rows}}},
      {"facet", {{"column", {{"field", "group"}, {"type", "nominal"}, {"title", "group"}}}}},
      {"spec", {{"width", {{"step", 40}}}, {"height", 220}, {"layer", {bar, whisker, one, n}}}}};
}

json interference_chart(const Summary& s) {
  json rows = json::array();
  for (const auto& r : s.workloads) {
    if (!r.slowdown_pct) {
      continue;
    }
    rows.push_back({{"group", group_label(r.group, r.sweep)},
                    {"mode", r.mode},
                    {"workload", r.workload},
                    {"slowdown", std::round(*r.slowdown_pct * 10) / 10},
                    {"n", r.reps}});
  }
  if (rows.empty()) {
    return nullptr;
  }
  return {{"$schema", k_schema},
          {"title", title("Interference: slowdown of each workload in its group",
                          "% of its solo rate lost (0 = no interference), every group, per mode")},
          {"data", {{"values", rows}}},
          {"facet", {{"column", {{"field", "group"}, {"type", "nominal"}, {"title", "group"}}}}},
          {"spec",
           {{"width", {{"step", 16}}},
            {"height", 200},
            {"mark", "bar"},
            {"encoding",
             {{"x", {{"field", "workload"}, {"type", "nominal"}, {"title", nullptr}}},
              {"xOffset", {{"field", "mode"}, {"type", "nominal"}}},
              {"y", {{"field", "slowdown"}, {"type", "quantitative"}, {"title", "slowdown (%)"}}},
              {"color", {{"field", "mode"}, {"type", "nominal"}}},
              {"tooltip",
               {{{"field", "workload"}},
                {{"field", "mode"}},
                {{"field", "slowdown"}, {"title", "slowdown (%)"}},
                {{"field", "n"}, {"title", "repetitions"}}}}}}}},
          {"resolve", {{"scale", {{"x", "independent"}}}}}};
}

json rate_chart(const ReportInput& in) {
  json rows = json::array();
  std::vector<std::string> runs;
  std::set<std::string> seen;
  for (const auto& tl : in.timelines) {
    if (tl.kind != "rate") {
      continue;
    }
    if (seen.insert(tl.run).second) {
      runs.push_back(tl.run);
    }
    for (const auto& p : tl.points) {
      rows.push_back({{"run", tl.run}, {"series", tl.series}, {"t", p.t}, {"v", p.v}});
    }
  }
  if (rows.empty()) {
    return nullptr;
  }
  const json warm = warm_rows(in, seen);
  json line = {
      {"data", {{"name", "series"}}},
      {"transform", {{{"filter", "datum.run === run"}}}},
      {"mark", {{"type", "line"}, {"interpolate", "step-after"}}},
      {"encoding",
       {{"x", {{"field", "t"}, {"type", "quantitative"}, {"title", "seconds since start"}}},
        {"y", {{"field", "v"}, {"type", "quantitative"}, {"title", "samples/s"}}},
        {"color", {{"field", "series"}, {"type", "nominal"}, {"title", "workload"}}}}}};
  return {{"$schema", k_schema},
          {"title", title("Progress rate of each workload",
                          "samples/s per time bin; grey: warm-up, not measured; pick the run")},
          {"params", {run_param(runs)}},
          {"datasets", {{"series", rows}, {"warm", warm}}},
          {"width", 640},
          {"height", 220},
          {"layer", layers(warm, line)}};
}

json telemetry_chart(const ReportInput& in) {
  json rows = json::array();
  std::vector<std::string> runs;
  std::set<std::string> seen;
  std::vector<std::string> metrics;  // panel order
  for (const auto& tl : in.timelines) {
    if (tl.kind != "gpu") {
      continue;
    }
    if (seen.insert(tl.run).second) {
      runs.push_back(tl.run);
    }
    auto it = std::find(metrics.begin(), metrics.end(), tl.series);
    const auto m = static_cast<int>(it - metrics.begin());
    if (it == metrics.end()) {
      metrics.push_back(tl.series);
    }
    for (const auto& p : tl.points) {
      rows.push_back({{"run", tl.run}, {"m", m}, {"gpu", tl.gpu}, {"t", p.t}, {"v", p.v}});
    }
  }
  if (rows.empty()) {
    return nullptr;
  }
  const json warm = warm_rows(in, seen);
  const std::string sim = in.summary.simulated ? " (simulated GPU: modelled, not measured)" : "";
  // Several GPUs: one column of panels per GPU, each with its own run selector (concurrent runs
  // are on different GPUs, so each GPU shows the run it had).
  std::map<std::string, std::vector<std::string>> runs_of_gpu;  // "GPU 0" -> runs, in order
  for (const auto& tl : in.timelines) {
    auto& list = runs_of_gpu[tl.gpu];
    if (tl.kind == "gpu" && std::find(list.begin(), list.end(), tl.run) == list.end()) {
      list.push_back(tl.run);
    }
  }
  std::erase_if(runs_of_gpu, [](const auto& kv) { return kv.second.empty(); });
  if (runs_of_gpu.size() > 1) {
    json params = json::array();
    json columns = json::array();
    int k = 0;
    for (const auto& [gpu, gpu_runs] : runs_of_gpu) {
      const std::string param = fmt::format("run{}", k++);
      params.push_back(run_param(gpu_runs, param, gpu + " run "));
      json panels = json::array();
      for (std::size_t i = 0; i < metrics.size(); ++i) {
        json line = {
            {"data", {{"name", "series"}}},
            {"transform",
             {{{"filter", fmt::format("datum.run === {} && datum.m === {} && datum.gpu === '{}'",
                                      param, i, gpu)}}}},
            {"mark", {{"type", "line"}, {"interpolate", "step-after"}}},
            {"encoding",
             {{"x", {{"field", "t"}, {"type", "quantitative"}, {"title", "seconds since start"}}},
              {"y", {{"field", "v"}, {"type", "quantitative"}, {"title", metrics[i]}}}}}};
        panels.push_back({{"title", gpu + ": " + metrics[i]},
                          {"width", 320},
                          {"height", 90},
                          {"layer", layers(warm, line, param)}});
      }
      columns.push_back({{"vconcat", panels}});
    }
    return {{"$schema", k_schema},
            {"title", title("GPU telemetry per GPU" + sim,
                            "one column of panels per GPU, one panel per metric; grey: warm-up; "
                            "pick each GPU's run")},
            {"params", params},
            {"datasets", {{"series", rows}, {"warm", warm}}},
            {"hconcat", columns}};
  }
  json panels = json::array();
  for (std::size_t i = 0; i < metrics.size(); ++i) {
    json line = {
        {"data", {{"name", "series"}}},
        {"transform", {{{"filter", fmt::format("datum.run === run && datum.m === {}", i)}}}},
        {"mark", {{"type", "line"}, {"interpolate", "step-after"}}},
        {"encoding",
         {{"x", {{"field", "t"}, {"type", "quantitative"}, {"title", "seconds since start"}}},
          {"y", {{"field", "v"}, {"type", "quantitative"}, {"title", metrics[i]}}},
          {"color", {{"field", "gpu"}, {"type", "nominal"}, {"title", "GPU"}}}}}};
    panels.push_back(
        {{"title", metrics[i]}, {"width", 640}, {"height", 90}, {"layer", layers(warm, line)}});
  }
  return {{"$schema", k_schema},
          {"title", title("GPU telemetry" + sim,
                          "one panel per metric, one line per GPU; grey: warm-up; pick the run")},
          {"params", {run_param(runs)}},
          {"datasets", {{"series", rows}, {"warm", warm}}},
          {"vconcat", panels}};
}

json latency_chart(const ReportInput& in) {
  json rows = json::array();
  for (const auto& l : in.latencies) {
    for (const auto& [p, v] : {std::pair{"p50", l.p50}, {"p95", l.p95}, {"p99", l.p99}}) {
      rows.push_back(
          {{"who", l.workload + " / " + l.mode + " / " + l.group}, {"percentile", p}, {"ms", v}});
    }
  }
  if (rows.empty()) {
    return nullptr;
  }
  return {{"$schema", k_schema},
          {"title", title("Step latency after warm-up", "p50, p95 and p99 side by side (ms)")},
          {"data", {{"values", rows}}},
          {"mark", "bar"},
          {"encoding",
           {{"y", {{"field", "who"}, {"type", "nominal"}, {"title", nullptr}}},
            {"yOffset", {{"field", "percentile"}, {"type", "nominal"}}},
            {"x",
             {{"field", "ms"},
              {"type", "quantitative"},
              {"stack", nullptr},
              {"title", "latency (ms)"}}},
            {"color", {{"field", "percentile"}, {"type", "nominal"}}},
            {"tooltip", {{{"field", "who"}}, {{"field", "percentile"}}, {{"field", "ms"}}}}}}};
}

json pipeline_cdf_chart(const ReportInput& in) {
  json rows = json::array();
  for (const auto& p : in.pipelines) {
    const std::string who = p.workload + " / " + p.mode + " / " + p.group;
    for (const auto& [ms, q] : p.cdf) {
      rows.push_back({{"who", who}, {"run", p.run}, {"ms", std::max(ms, 1e-3)}, {"fraction", q}});
    }
  }
  if (rows.empty()) {
    return nullptr;
  }
  return {{"$schema", k_schema},
          {"title", title("Pipeline latency CDF",
                          "end to end, from each query's scheduled arrival (log scale)")},
          {"data", {{"values", rows}}},
          {"mark", {{"type", "line"}, {"interpolate", "step-after"}}},
          {"encoding",
           {{"x",
             {{"field", "ms"},
              {"type", "quantitative"},
              {"scale", {{"type", "log"}}},
              {"title", "latency (ms)"}}},
            {"y", {{"field", "fraction"}, {"type", "quantitative"}, {"title", "fraction <="}}},
            {"color", {{"field", "who"}, {"type", "nominal"}, {"title", nullptr}}},
            {"detail", {{"field", "run"}, {"type", "nominal"}}},
            {"tooltip", {{{"field", "who"}}, {{"field", "ms"}}, {{"field", "fraction"}}}}}}};
}

json pipeline_stage_chart(const ReportInput& in) {
  json rows = json::array();
  for (const auto& p : in.pipelines) {
    const std::string who = p.workload + " / " + p.mode + " / " + p.group;
    for (const auto& st : p.stages) {
      rows.push_back(
          {{"who", who}, {"stage", st.name}, {"part", "queue wait"}, {"ms", st.wait.p50}});
      rows.push_back(
          {{"who", who}, {"stage", st.name}, {"part", "service"}, {"ms", st.service.p50}});
    }
  }
  if (rows.empty()) {
    return nullptr;
  }
  return {
      {"$schema", k_schema},
      {"title", title("Pipeline stages", "median queue wait and service time per stage (ms)")},
      {"data", {{"values", rows}}},
      {"mark", "bar"},
      {"encoding",
       {{"y", {{"field", "who"}, {"type", "nominal"}, {"title", nullptr}}},
        {"x", {{"field", "ms"}, {"type", "quantitative"}, {"title", "p50 (ms), stacked"}}},
        {"color", {{"field", "stage"}, {"type", "nominal"}}},
        {"opacity", {{"field", "part"}, {"type", "nominal"}, {"scale", {{"range", {0.45, 1.0}}}}}},
        {"tooltip",
         {{{"field", "who"}}, {{"field", "stage"}}, {{"field", "part"}}, {{"field", "ms"}}}}}}};
}

json sweep_chart(const Summary& s) {
  struct Row {
    std::string param;
    std::string value;
    std::string metric;
    std::string series;
    double v;
  };
  std::vector<Row> rows;
  auto add = [&](const std::string& sweep, const std::string& metric, const std::string& series,
                 double v) {
    for (const auto& [p, val] : sweep_params(sweep)) {
      rows.push_back({p, val, metric, series, v});
    }
  };
  for (const auto& g : s.groups) {
    const auto series = g.mode + " / " + g.group;
    if (g.speedup) {
      add(g.sweep, "speed-up (x)", series, *g.speedup);
    }
    if (g.worst_slowdown_x) {
      add(g.sweep, "worst slowdown (%)", series, (1 - 1 / *g.worst_slowdown_x) * 100);
    }
    add(g.sweep, "aggregate rate (samples/s)", series, g.aggregate_rate);
  }
  for (const auto& r : s.solo) {
    add(r.sweep, fmt::format("solo rate ({})", r.by_wall_time ? "runs/s" : "samples/s"),
        r.workload + " alone", r.rate);
  }
  if (rows.empty()) {
    return nullptr;
  }
  std::vector<std::string> params;
  std::vector<std::string> metrics;
  std::map<std::string, std::vector<std::string>> values;  // param -> values, first seen
  for (const auto& r : rows) {
    if (std::find(params.begin(), params.end(), r.param) == params.end()) {
      params.push_back(r.param);
    }
    if (std::find(metrics.begin(), metrics.end(), r.metric) == metrics.end()) {
      metrics.push_back(r.metric);
    }
    auto& v = values[r.param];
    if (std::find(v.begin(), v.end(), r.value) == v.end()) {
      v.push_back(r.value);
    }
  }
  for (auto& [p, v] : values) {  // numbers in numeric order, anything else as in the spec
    if (std::all_of(v.begin(), v.end(), is_number)) {
      std::sort(v.begin(), v.end(), [](const std::string& a, const std::string& b) {
        return std::strtod(a.c_str(), nullptr) < std::strtod(b.c_str(), nullptr);
      });
    }
  }
  json data = json::array();
  for (const auto& r : rows) {
    const auto& v = values[r.param];
    const auto order = std::find(v.begin(), v.end(), r.value) - v.begin();
    data.push_back({{"param", r.param},
                    {"value", r.value},
                    {"order", order},
                    {"metric", r.metric},
                    {"series", r.series},
                    {"v", r.v}});
  }
  return {
      {"$schema", k_schema},
      {"title", title("Against a swept parameter", "pick the parameter and the metric")},
      {"params",
       {{{"name", "sweep_param"},
         {"value", params.front()},
         {"bind", {{"input", "select"}, {"options", params}, {"name", "parameter "}}}},
        {{"name", "sweep_metric"},
         {"value", metrics.front()},
         {"bind", {{"input", "select"}, {"options", metrics}, {"name", "metric "}}}}}},
      {"data", {{"values", data}}},
      {"transform", {{{"filter", "datum.param === sweep_param && datum.metric === sweep_metric"}}}},
      {"width", 480},
      {"height", 240},
      {"mark", {{"type", "line"}, {"point", true}}},
      {"encoding",
       {{"x",
         {{"field", "value"},
          {"type", "ordinal"},
          {"sort", {{"field", "order"}}},
          {"title", "value of the swept parameter"}}},
        {"y", {{"field", "v"}, {"type", "quantitative"}, {"title", "value of the metric"}}},
        {"color", {{"field", "series"}, {"type", "nominal"}, {"title", nullptr}}},
        {"tooltip", {{{"field", "series"}}, {{"field", "value"}}, {{"field", "v"}}}}}}};
}

std::vector<json> report_charts(const ReportInput& in) {
  std::vector<json> out;
  for (auto c : {speedup_chart(in.summary), interference_chart(in.summary), sweep_chart(in.summary),
                 rate_chart(in), telemetry_chart(in), latency_chart(in), pipeline_cdf_chart(in),
                 pipeline_stage_chart(in)}) {
    if (!c.is_null()) {
      out.push_back(std::move(c));
    }
  }
  return out;
}

}  // namespace colo
