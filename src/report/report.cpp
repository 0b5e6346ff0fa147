#include "report/report.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <set>

#include "report/assets.hpp"
#include "report/charts.hpp"
#include "report/export.hpp"
#include "report/stats.hpp"
#include "report/table.hpp"

namespace colo {
namespace {

using nlohmann::json;

std::string opt(const std::optional<double>& v, const char* f) {
  return v ? fmt::format(fmt::runtime(f), *v) : std::string("-");
}

}  // namespace

std::string gpu_line(const ExperimentRecord& e) {
  try {
    const auto j = json::parse(e.gpu_json.empty() ? "[]" : e.gpu_json);
    std::string out;
    for (const auto& d : j) {
      out += fmt::format("{}{} (driver {})", out.empty() ? "" : "; ", d.value("name", "?"),
                         d.value("driver", d.value("driver_version", std::string("?"))));
    }
    return out.empty() ? "-" : out;
  } catch (const std::exception&) {
    return "-";
  }
}

namespace {

// The GPU line of a report: none for CPU-only experiments (whatever backend was open).
std::string gpu_text(const ReportInput& in) {
  return in.summary.cpu_only ? "none used (CPU-only workloads: measured on the host)"
                             : gpu_line(in.exp);
}

constexpr const char* k_noise_note =
    "Noise: ± is the 95% confidence interval of the mean over repetitions (Student t); notes "
    "flag intervals wider than ±10% and outlier runs (modified z-score > 3.5, Iglewicz-Hoaglin).";

std::vector<std::string> banners(const ReportInput& in) {
  std::vector<std::string> b;
  if (in.summary.simulated) {
    b.emplace_back(
        "SIMULATED GPU: these numbers come from colo's contention model, not from a real GPU.");
  }
  if (in.partial) {
    b.push_back(fmt::format("PARTIAL: experiment status is '{}'; {} of {} runs are done.",
                            in.exp.status, in.summary.runs_done, in.summary.runs_total));
  }
  if (in.summary.runs_done == 0) {
    b.emplace_back("No run finished: there are no results to compare yet.");
  }
  if (!in.summary.failures.empty()) {
    b.push_back(
        fmt::format("FAILED WORKLOADS: {} workload run(s) did not end ok; {} of {} done "
                    "runs are affected (see What failed).",
                    in.summary.failures.size(), in.summary.runs_failed, in.summary.runs_done));
  }
  return b;
}

TextTable latency_table(const ReportInput& in) {
  TextTable t;
  t.head = {"mode", "group", "workload", "steps (n)", "p50 (ms)", "p95 (ms)", "p99 (ms)"};
  t.right = {false, false, false, true, true, true, true};
  for (const auto& l : in.latencies) {
    t.rows.push_back({l.mode, l.group, l.workload, std::to_string(l.n), fixed4(l.p50),
                      fixed4(l.p95), fixed4(l.p99)});
  }
  return t;
}

// Pipelines end to end, and their stages (queue wait vs service time).
std::pair<TextTable, TextTable> pipeline_tables(const ReportInput& in) {
  TextTable e2e;
  e2e.head = {"mode",    "group",  "pipeline", "q/s",      "offered q/s", "completed",
              "dropped", "failed", "p50 (ms)", "p90 (ms)", "p99 (ms)",    "p99.9 (ms)"};
  e2e.right = {false, false, false, true, true, true, true, true, true, true, true, true};
  TextTable stages;
  stages.head = {"mode",          "group",         "pipeline",         "stage",
                 "wait p50 (ms)", "wait p99 (ms)", "service p50 (ms)", "service p99 (ms)",
                 "failed"};
  stages.right = {false, false, false, false, true, true, true, true, true};
  for (const auto& p : in.pipelines) {
    e2e.rows.push_back({p.mode, p.group, p.workload, fixed4(p.achieved_qps),
                        p.offered_qps > 0 ? fixed4(p.offered_qps) : std::string("-"),
                        std::to_string(p.completed), std::to_string(p.dropped),
                        std::to_string(p.failed), fixed4(p.e2e.p50), fixed4(p.e2e.p90),
                        fixed4(p.e2e.p99), fixed4(p.e2e.p999)});
    for (const auto& st : p.stages) {
      stages.rows.push_back({p.mode, p.group, p.workload, st.name, fixed4(st.wait.p50),
                             fixed4(st.wait.p99), fixed4(st.service.p50), fixed4(st.service.p99),
                             std::to_string(st.failed)});
    }
  }
  return {e2e, stages};
}

// What the tables do not show, one line per pipeline and run: the Server scenario's latency
// bound met or not, a batching stage's batch sizes, events left out of the event log.
std::vector<std::string> pipeline_notes(const ReportInput& in) {
  std::vector<std::string> out;
  for (const auto& p : in.pipelines) {
    const std::string who = fmt::format("{} {} {}", p.mode, p.group, p.workload);
    if (p.latency_bound_ms > 0) {
      out.push_back(
          p.latency_at_percentile_ms > 0 || p.completed > 0
              ? fmt::format("{}: latency bound {}: p{:g} {:.4g} ms {} {:.4g} ms", who,
                            p.bound_met ? "met" : "NOT met", p.bound_percentile,
                            p.latency_at_percentile_ms, p.bound_met ? "<=" : ">",
                            p.latency_bound_ms)
              : fmt::format("{}: latency bound NOT met: no query completed (bound {:.4g} ms)", who,
                            p.latency_bound_ms));
    }
    for (const auto& st : p.stages) {
      if (st.batches.empty()) {
        continue;
      }
      std::string sizes;
      std::int64_t batches = 0;
      std::int64_t queries = 0;
      for (const auto& [size, n] : st.batches) {
        sizes += fmt::format(" {}:{}", size, n);
        batches += n;
        queries += n * size;
      }
      out.push_back(fmt::format(
          "{}: stage {} sent {} batches, mean size {:.3g} (size:batches{})", who, st.name, batches,
          static_cast<double>(queries) / static_cast<double>(batches), sizes));
    }
    if (p.events_not_logged > 0) {
      out.push_back(
          fmt::format("{}: {} events of {} queries are NOT in the event log (its "
                      "max_events cap): the latencies are of the logged queries",
                      who, p.events_not_logged, p.queries_not_logged));
    }
    if (p.warmup_queries > 0) {
      out.push_back(
          fmt::format("{}: {} queries scheduled in the first {:.3g} s (the warm-up) are "
                      "not counted",
                      who, p.warmup_queries, p.warmup_s));
    }
  }
  return out;
}

// Whether the experiment's telemetry covers several GPUs: then the reports have per-GPU rows.
bool several_gpus(const ReportInput& in) {
  std::set<int> gpus;
  for (const auto& r : in.gpu_rows) {
    gpus.insert(r.gpu);
  }
  return gpus.size() > 1;
}

constexpr const char* k_gpu_title =
    "GPU telemetry per GPU (each run's samples after its warm-up: means, peak memory, energy)";

TextTable gpu_table(const ReportInput& in) {
  TextTable t;
  t.head = {"mode",
            "group",
            "GPU",
            "SM active (%)",
            "DRAM active (%)",
            "GPU util (%)",
            "power (W)",
            "peak memory (MiB)",
            "energy (J)",
            "samples"};
  t.right = {false, false, true, true, true, true, true, true, true, true};
  for (const auto& r : in.gpu_rows) {
    t.rows.push_back({r.mode, r.group, std::to_string(r.gpu), opt(r.sm_active_pct, "{:.1f}"),
                      opt(r.dram_active_pct, "{:.1f}"), opt(r.util_pct, "{:.1f}"),
                      opt(r.power_w, "{:.1f}"), opt(r.mem_peak_mib, "{:.0f}"),
                      opt(r.energy_j, "{:.1f}"), std::to_string(r.samples)});
  }
  return t;
}

constexpr const char* k_pipeline_title = "Pipelines: end-to-end latency from the scheduled arrival";
constexpr const char* k_notes_title = "Pipelines: latency bounds, batches, event logs";
constexpr const char* k_stage_title = "Pipeline stages: queue wait vs service time";

std::string markdown(const ReportInput& in) {
  const auto& s = in.summary;
  std::string out = fmt::format("# colo report: experiment {} \"{}\"\n\n", s.id, s.experiment);
  for (const auto& b : banners(in)) {
    out += fmt::format("> **{}**\n\n", b);
  }
  out += fmt::format("GPU: {}; backend {}{}; colo {}; {} in {:.1f} s.\n\n", gpu_text(in),
                     in.exp.backend, s.simulated ? " (simulated)" : "", in.exp.colo_version,
                     runs_line(s), s.wall_s);
  if (!s.failures.empty()) {
    out += fmt::format("## What failed ({} workload(s) did not end ok)\n\n", s.failures.size());
    for (const auto& f : s.failures) {
      out += fmt::format("- `{}` {}: **{}**: {}\n", f.run_key, f.workload, f.exit_class,
                         f.message.empty() ? "(no message)" : f.message);
    }
    out += "\n";
  }
  const auto rec = recommendations(s, in.max_slowdown_x);
  if (!rec.empty()) {
    out += "## Recommendation\n\n";
    for (const auto& r : rec) {
      out += "- " + r + "\n";
    }
    out += "\n";
  }
  for (const auto& t : summary_tables(s)) {
    out += "## " + t.title + "\n\n" + t.table.markdown() + "\n";
  }
  if (several_gpus(in)) {
    out += fmt::format("## {}\n\n{}\n", k_gpu_title, gpu_table(in).markdown());
  }
  if (!in.latencies.empty()) {
    out += "## Step latency after warm-up\n\n" + latency_table(in).markdown() + "\n";
  }
  if (!in.pipelines.empty()) {
    const auto [e2e, stages] = pipeline_tables(in);
    out += fmt::format("## {}\n\n{}\n## {}\n\n{}\n", k_pipeline_title, e2e.markdown(),
                       k_stage_title, stages.markdown());
    const auto notes = pipeline_notes(in);
    if (!notes.empty()) {
      out += fmt::format("## {}\n\n", k_notes_title);
      for (const auto& n : notes) {
        out += "- " + n + "\n";
      }
      out += "\n";
    }
  }
  out += k_noise_note + std::string("\n");
  return out;
}

std::string csv(const ReportInput& in) {
  const auto& s = in.summary;
  std::string out =
      "table,experiment,simulated,partial,mode,group,sweep,workload,clients,mean,ci95_half,sd,n,"
      "solo,slowdown_pct,worst_slowdown_x,j_per_sample,peak_gpu_mem_bytes,min,max,outliers,"
      "unpaired_reps,gpus,speedup_per_gpu,gpu,sm_active_pct,dram_active_pct,util_pct,power_w,"
      "mem_peak_mib,energy_j\n";
  auto row = [&](const std::string& table, const std::string& mode, const std::string& group,
                 const std::string& sweep, const std::string& workload, int clients, const Stat& st,
                 const std::optional<double>& solo, const std::optional<double>& slow,
                 const std::optional<double>& worst, const std::optional<double>& j, double mem,
                 int unpaired, const std::string& tail = ",,,,,,,,") {
    out += fmt::format("{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
                       table, csv_field(s.experiment), in.summary.simulated ? 1 : 0,
                       in.partial ? 1 : 0, csv_field(mode), csv_field(group), csv_field(sweep),
                       csv_field(workload), clients, st.mean, st.ci95_half, st.sd, st.n,
                       opt(solo, "{}"), opt(slow, "{}"), opt(worst, "{}"), opt(j, "{}"), mem,
                       st.min, st.max, st.outliers, unpaired, tail);
  };
  for (const auto& r : s.solo) {
    row("solo", "solo", r.workload, r.sweep, r.workload, 1, r.stat, std::nullopt, std::nullopt,
        std::nullopt, r.j_per_sample, r.peak_gpu_mem_bytes, 0);
  }
  for (const auto& r : s.workloads) {
    row("workload", r.mode, r.group, r.sweep, r.workload, 0, r.stat, r.solo, r.slowdown_pct,
        std::nullopt, std::nullopt, r.peak_gpu_mem_bytes, r.unpaired_reps);
  }
  for (const auto& g : s.groups) {
    row("speedup", g.mode, g.group, g.sweep, "", g.clients, g.stat, std::nullopt, std::nullopt,
        g.worst_slowdown_x, g.j_per_sample, 0, g.unpaired_reps,
        fmt::format("{},{},,,,,,,", csv_field(fmt::format("{}", fmt::join(g.gpus, " "))),
                    opt(g.speedup_per_gpu(), "{}")));
  }
  if (several_gpus(in)) {
    for (const auto& r : in.gpu_rows) {
      Stat none;
      none.n = r.samples;
      row("gpu", r.mode, r.group, "", r.run, 0, none, std::nullopt, std::nullopt, std::nullopt,
          r.energy_j, 0, 0,
          fmt::format(",,{},{},{},{},{},{},{}", r.gpu, opt(r.sm_active_pct, "{}"),
                      opt(r.dram_active_pct, "{}"), opt(r.util_pct, "{}"), opt(r.power_w, "{}"),
                      opt(r.mem_peak_mib, "{}"), opt(r.energy_j, "{}")));
    }
  }
  return out;
}

json stat_json(const Stat& s) {
  return {{"mean", s.mean},
          {"ci95_half", s.ci95_half},
          {"sd", s.sd},
          {"n", s.n},
          {"min", s.min},
          {"max", s.max},
          {"outliers", s.outliers},
          {"warnings", noise_warnings(s)}};
}

json tables_json(const ReportInput& in) {
  const auto& s = in.summary;
  json j = {{"experiment", s.experiment},
            {"id", s.id},
            {"simulated", in.summary.simulated},
            {"partial", in.partial},
            {"notices", banners(in)},
            {"status", in.exp.status},
            {"backend", in.exp.backend},
            {"gpu", gpu_text(in)},
            {"colo_version", in.exp.colo_version},
            {"runs_done", s.runs_done},
            {"runs_with_failed_workloads", s.runs_failed},
            {"cpu_only", s.cpu_only},
            {"runs_total", s.runs_total},
            {"max_slowdown_x", in.max_slowdown_x},
            {"recommendations", recommendations(s, in.max_slowdown_x)},
            {"solo", json::array()},
            {"workloads", json::array()},
            {"groups", json::array()},
            {"latency_ms", json::array()},
            {"pipelines", json::array()},
            {"completion", json::array()},
            {"failures", json::array()}};
  auto o = [](const std::optional<double>& v) { return v ? json(*v) : json(nullptr); };
  for (const auto& r : s.solo) {
    j["solo"].push_back({{"workload", r.workload},
                         {"sweep", r.sweep},
                         {"rate", stat_json(r.stat)},
                         {"by_wall_time", r.by_wall_time},
                         {"j_per_sample", o(r.j_per_sample)},
                         {"peak_gpu_mem_bytes", r.peak_gpu_mem_bytes}});
  }
  for (const auto& r : s.workloads) {
    j["workloads"].push_back({{"mode", r.mode},
                              {"group", r.group},
                              {"sweep", r.sweep},
                              {"workload", r.workload},
                              {"solo", o(r.solo)},
                              {"rate", stat_json(r.stat)},
                              {"relative", o(r.relative)},
                              {"slowdown_pct", o(r.slowdown_pct)},
                              {"relative_paired", stat_json(r.relative_stat)},
                              {"ratios", r.ratios},
                              {"unpaired_reps", r.unpaired_reps},
                              {"failed", r.failed},
                              {"peak_gpu_mem_bytes", r.peak_gpu_mem_bytes}});
  }
  for (const auto& g : s.groups) {
    j["groups"].push_back({{"mode", g.mode},
                           {"group", g.group},
                           {"sweep", g.sweep},
                           {"clients", g.clients},
                           {"speedup", stat_json(g.stat)},
                           {"incomplete_reps", g.failed_reps},
                           {"unpaired_reps", g.unpaired_reps},
                           {"values", g.values},
                           {"worst_slowdown_x", o(g.worst_slowdown_x)},
                           {"j_per_sample", o(g.j_per_sample)},
                           {"gpus", g.gpus},
                           {"speedup_per_gpu", o(g.speedup_per_gpu())}});
  }
  j["multi_gpu"] = s.multi_gpu;
  if (s.multi_gpu) {
    j["speedup_note"] = k_multi_gpu_speedup_note;
  }
  j["gpu_telemetry"] = json::array();
  for (const auto& r : in.gpu_rows) {
    j["gpu_telemetry"].push_back({{"run", r.run},
                                  {"mode", r.mode},
                                  {"group", r.group},
                                  {"gpu", r.gpu},
                                  {"samples", r.samples},
                                  {"sm_active_pct", o(r.sm_active_pct)},
                                  {"dram_active_pct", o(r.dram_active_pct)},
                                  {"util_pct", o(r.util_pct)},
                                  {"power_w", o(r.power_w)},
                                  {"mem_peak_mib", o(r.mem_peak_mib)},
                                  {"energy_j", o(r.energy_j)}});
  }
  for (const auto& c : s.completion) {
    j["completion"].push_back({{"mode", c.mode},
                               {"group", c.group},
                               {"sweep", c.sweep},
                               {"workload", c.workload},
                               {"clients", c.clients},
                               {"time_s", stat_json(c.time_s)},
                               {"reps", c.reps},
                               {"solo_s", o(c.solo_s)},
                               {"increase_pct", o(c.increase_pct)}});
  }
  for (const auto& l : in.latencies) {
    j["latency_ms"].push_back({{"mode", l.mode},
                               {"group", l.group},
                               {"workload", l.workload},
                               {"n", l.n},
                               {"p50", l.p50},
                               {"p95", l.p95},
                               {"p99", l.p99}});
  }
  auto lat = [](const PipelineLatency& l) {
    return json{{"n", l.n},     {"mean", l.mean}, {"p50", l.p50},
                {"p90", l.p90}, {"p99", l.p99},   {"p999", l.p999}};
  };
  for (const auto& p : in.pipelines) {
    json stages = json::array();
    for (const auto& st : p.stages) {
      json batches = json::object();
      for (const auto& [size, n] : st.batches) {
        batches[std::to_string(size)] = n;
      }
      stages.push_back({{"name", st.name},
                        {"wait_ms", lat(st.wait)},
                        {"service_ms", lat(st.service)},
                        {"failed", st.failed},
                        {"batches", batches}});
    }
    j["pipelines"].push_back({{"run", p.run},
                              {"mode", p.mode},
                              {"group", p.group},
                              {"workload", p.workload},
                              {"issued", p.issued},
                              {"completed", p.completed},
                              {"dropped", p.dropped},
                              {"failed", p.failed},
                              {"offered_qps", p.offered_qps},
                              {"achieved_qps", p.achieved_qps},
                              {"latency_ms", lat(p.e2e)},
                              {"stages", stages},
                              {"cdf", p.cdf},
                              {"latency_bound_ms", p.latency_bound_ms},
                              {"bound_percentile", p.bound_percentile},
                              {"latency_at_percentile_ms", p.latency_at_percentile_ms},
                              {"bound_met", p.latency_bound_ms > 0 ? json(p.bound_met) : json()},
                              {"events_not_logged", p.events_not_logged},
                              {"queries_not_logged", p.queries_not_logged},
                              {"warmup_queries", p.warmup_queries},
                              {"warmup_s", p.warmup_s}});
  }
  for (const auto& f : s.failures) {
    j["failures"].push_back({{"run", f.run_key},
                             {"workload", f.workload},
                             {"exit_class", f.exit_class},
                             {"message", f.message}});
  }
  return j;
}

// ---- HTML -------------------------------------------------------------------------------

std::string esc(const std::string& v) {
  std::string o;
  for (char c : v) {
    switch (c) {
      case '&':
        o += "&amp;";
        break;
      case '<':
        o += "&lt;";
        break;
      case '>':
        o += "&gt;";
        break;
      case '"':
        o += "&quot;";
        break;
      default:
        o += c;
    }
  }
  return o;
}

// JSON safe inside <script>: no "</" sequences.
std::string script_json(const json& j) {
  std::string s = j.dump();
  std::string o;
  for (std::size_t i = 0; i < s.size(); ++i) {
    o += s[i];
    if (s[i] == '<') {
      o += "\\u003c";
      o.pop_back();
      o.pop_back();
      o += "\\u003c";
    }
  }
  return o;
}

std::string html_table(const std::vector<std::string>& head,
                       const std::vector<std::vector<std::string>>& rows) {
  std::string o = "<table><thead><tr>";
  for (const auto& h : head) {
    o += "<th>" + esc(h) + "</th>";
  }
  o += "</tr></thead><tbody>";
  for (const auto& r : rows) {
    o += "<tr>";
    for (const auto& c : r) {
      o += "<td>" + esc(c) + "</td>";
    }
    o += "</tr>";
  }
  return o + "</tbody></table>\n";
}

std::string html(const ReportInput& in) {
  const auto& s = in.summary;
  std::string o = html_page_head("colo report: " + s.experiment);
  o += fmt::format("<h1>Experiment {} “{}”</h1>", s.id, esc(s.experiment));
  for (const auto& b : banners(in)) {
    const char* cls = b.rfind("SIMULATED", 0) == 0 ? "sim"
                      : b.rfind("FAILED", 0) == 0  ? "failed"
                                                   : "partial";
    o += fmt::format("<div class=\"banner {}\">{}</div>", cls, esc(b));
  }
  o += fmt::format(
      "<p>GPU: {} &middot; backend {}{} &middot; colo {} &middot; host {} &middot; {} in {:.1f} "
      "s</p>",
      esc(gpu_text(in)), esc(in.exp.backend), s.simulated ? " (simulated)" : "",
      esc(in.exp.colo_version), esc(in.exp.host), esc(runs_line(s)), s.wall_s);
  if (!s.failures.empty()) {
    std::vector<std::vector<std::string>> rows;
    for (const auto& f : s.failures) {
      rows.push_back({f.run_key, f.workload, f.exit_class, f.message});
    }
    o += "<h2 id=\"failed\">What failed</h2>" +
         html_table({"run", "workload", "exit", "message"}, rows);
  }
  const auto rec = recommendations(s, in.max_slowdown_x);
  if (!rec.empty()) {
    o += "<div class=\"rec\"><b>Recommendation</b><ul>";
    for (const auto& r : rec) {
      o += "<li>" + esc(r) + "</li>";
    }
    o += "</ul></div>";
  }
  for (const auto& t : summary_tables(s)) {
    o += "<h2>" + esc(t.title) + "</h2>" + html_table(t.table.head, t.table.rows);
  }
  if (several_gpus(in)) {
    const auto t = gpu_table(in);
    o += "<h2>" + esc(k_gpu_title) + "</h2>" + html_table(t.head, t.rows);
  }
  if (!in.latencies.empty()) {
    const auto t = latency_table(in);
    o += "<h2>Step latency after warm-up</h2>" + html_table(t.head, t.rows);
  }
  if (!in.pipelines.empty()) {
    const auto [e2e, stages] = pipeline_tables(in);
    o += "<h2>" + esc(k_pipeline_title) + "</h2>" + html_table(e2e.head, e2e.rows);
    o += "<h2>" + esc(k_stage_title) + "</h2>" + html_table(stages.head, stages.rows);
    const auto notes = pipeline_notes(in);
    if (!notes.empty()) {
      o += "<h2>" + esc(k_notes_title) + "</h2><ul>";
      for (const auto& n : notes) {
        o += "<li>" + esc(n) + "</li>";
      }
      o += "</ul>";
    }
  }
  o += "<p class=\"note\">" + esc(k_noise_note) + "</p>";
  json charts = json::array();
  for (auto& c : report_charts(in)) {
    charts.push_back(std::move(c));
  }
  o += "<h2>Charts</h2>";
  for (std::size_t i = 0; i < charts.size(); ++i) {
    o += fmt::format("<div class=\"chart\" id=\"chart{}\"></div>", i);
  }
  if (charts.empty()) {
    o += "<p>No finished runs to plot.</p>";
  }
  o += "<h2>Spec</h2><pre>" + esc(in.exp.spec_yaml) + "</pre>";
  o += html_page_tail(charts);
  return o;
}

}  // namespace

std::string html_page_head(const std::string& title) {
  std::string o =
      "<!doctype html><html><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">";
  o += fmt::format("<title>{}</title>", esc(title));
  o += R"(<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;max-width:1200px;color:#222}
table{border-collapse:collapse;margin:8px 0 20px}th,td{border:1px solid #ccc;padding:3px 8px;text-align:left}
th{background:#f3f3f3}.banner{padding:8px 12px;margin:8px 0;font-weight:600;border-radius:4px}
.sim{background:#fde2e2;color:#8a1010}.failed{background:#8a1010;color:#fff}.note{color:#555;font-size:12px}.partial{background:#fff3cd;color:#6b5200}
.rec{background:#e6f4ea;padding:8px 12px;border-radius:4px}pre{background:#f7f7f7;padding:8px;overflow:auto}
.chart{margin:12px 0 28px}#colo-status{color:#888;font-size:12px}
</style>)";
  for (const char* tag : {"vega", "vega-lite", "vega-embed"}) {
    const auto js = std::string(tag) == "vega"        ? asset_vega_js()
                    : std::string(tag) == "vega-lite" ? asset_vega_lite_js()
                                                      : asset_vega_embed_js();
    o += fmt::format("<script data-lib=\"{}\">", tag);
    o.append(js.data(), js.size());
    o += "</script>";
  }
  o += "</head><body>";
  return o;
}

std::string html_page_tail(const nlohmann::json& charts) {
  std::string o;
  o += "<p id=\"colo-status\">rendering…</p>";
  o += "<script>const coloCharts=" + script_json(charts) + ";\n";
  o += R"(const st=document.getElementById('colo-status');
window.addEventListener('error',e=>{st.dataset.error='1';st.textContent='error: '+e.message;});
Promise.all(coloCharts.map((c,i)=>vegaEmbed('#chart'+i,c,{actions:false,renderer:'svg'})))
 .then(()=>{st.textContent='rendered '+coloCharts.length+' charts';st.dataset.rendered=coloCharts.length;})
 .catch(e=>{st.textContent='error: '+e;st.dataset.error='1';console.error(e);});
</script></body></html>
)";
  return o;
}

std::string html_escape(const std::string& v) {
  return esc(v);
}

Result<ReportFormat> report_format_from(const std::string& name) {
  if (name == "text") {
    return ReportFormat::text;
  }
  if (name == "md" || name == "markdown") {
    return ReportFormat::markdown;
  }
  if (name == "csv") {
    return ReportFormat::csv;
  }
  if (name == "json") {
    return ReportFormat::json;
  }
  if (name == "html") {
    return ReportFormat::html;
  }
  return fail(ErrorCode::invalid_argument,
              fmt::format("unknown report format '{}' (html, md, csv, json, text)", name));
}

namespace {

std::string text(const ReportInput& in) {
  std::string out;
  for (const auto& b : banners(in)) {
    out += b + "\n";
  }
  out += render_text(in.summary);
  if (several_gpus(in)) {
    out += fmt::format("\n{}\n{}", k_gpu_title, gpu_table(in).render());
  }
  if (!in.pipelines.empty()) {
    const auto [e2e, stages] = pipeline_tables(in);
    out += fmt::format("\n{}\n{}\n{}\n{}", k_pipeline_title, e2e.render(), k_stage_title,
                       stages.render());
    const auto notes = pipeline_notes(in);
    if (!notes.empty()) {
      out += fmt::format("\n{}\n", k_notes_title);
      for (const auto& n : notes) {
        out += "  " + n + "\n";
      }
    }
  }
  for (const auto& r : recommendations(in.summary, in.max_slowdown_x)) {
    out += "recommendation: " + r + "\n";
  }
  return out;
}

// A Reporter from a rendering function.
class FnReporter final : public Reporter {
 public:
  FnReporter(std::string (*fn)(const ReportInput&), const char* ext) : m_fn(fn), m_ext(ext) {}
  [[nodiscard]] std::string render(const ReportInput& in) const override { return m_fn(in); }
  [[nodiscard]] const char* extension() const override { return m_ext; }

 private:
  std::string (*m_fn)(const ReportInput&);
  const char* m_ext;
};

std::string json_text(const ReportInput& in) {
  return tables_json(in).dump(2) + "\n";
}

}  // namespace

std::unique_ptr<Reporter> make_reporter(ReportFormat format) {
  switch (format) {
    case ReportFormat::text:
      return std::make_unique<FnReporter>(&text, "txt");
    case ReportFormat::markdown:
      return std::make_unique<FnReporter>(&markdown, "md");
    case ReportFormat::csv:
      return std::make_unique<FnReporter>(&csv, "csv");
    case ReportFormat::json:
      return std::make_unique<FnReporter>(&json_text, "json");
    case ReportFormat::html:
      break;
  }
  return std::make_unique<FnReporter>(&html, "html");
}

std::string render_report(const ReportInput& in, ReportFormat format) {
  return make_reporter(format)->render(in);
}

std::vector<TimePoint> downsample_minmax(const std::vector<TimePoint>& points,
                                         std::size_t max_points) {
  if (points.size() <= max_points || max_points < 4) {
    return points;
  }
  const std::size_t buckets = max_points / 2;
  const double per = static_cast<double>(points.size()) / static_cast<double>(buckets);
  std::vector<TimePoint> out;
  out.reserve(max_points);
  for (std::size_t b = 0; b < buckets; ++b) {
    const auto lo = static_cast<std::size_t>(static_cast<double>(b) * per);
    const auto hi =
        std::min(points.size(), static_cast<std::size_t>(static_cast<double>(b + 1) * per));
    if (lo >= hi) {
      continue;
    }
    auto [mn, mx] =
        std::minmax_element(points.begin() + static_cast<std::ptrdiff_t>(lo),
                            points.begin() + static_cast<std::ptrdiff_t>(hi),
                            [](const TimePoint& a, const TimePoint& c) { return a.v < c.v; });
    if (mn->t <= mx->t) {
      out.push_back(*mn);
      if (mx != mn) {
        out.push_back(*mx);
      }
    } else {
      out.push_back(*mx);
      out.push_back(*mn);
    }
  }
  return out;
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) {
    return 0;
  }
  std::sort(values.begin(), values.end());
  const double pos = p / 100.0 * static_cast<double>(values.size() - 1);
  const auto i = static_cast<std::size_t>(pos);
  const double frac = pos - static_cast<double>(i);
  return i + 1 < values.size() ? values[i] * (1 - frac) + values[i + 1] * frac : values[i];
}

}  // namespace colo
