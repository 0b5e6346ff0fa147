// The report's arithmetic and formats on known inputs (stats, energy, recommendation,
// downsampling) and the promises every format keeps (simulated and partial banners).
#include "report/report.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <regex>
#include <sstream>
#include <tuple>

#include "report/report_input.hpp"
#include "report/stats.hpp"

namespace colo {
namespace {

TEST(Stats, MeanSdAndConfidenceIntervalOnKnownValues) {
  auto s = stat_of({2, 4, 6});
  EXPECT_EQ(s.n, 3);
  EXPECT_DOUBLE_EQ(s.mean, 4.0);
  EXPECT_DOUBLE_EQ(s.sd, 2.0);
  EXPECT_NEAR(s.ci95_half, 4.303 * 2.0 / std::sqrt(3.0), 1e-9);
  auto one = stat_of({5});
  EXPECT_EQ(one.n, 1);
  EXPECT_DOUBLE_EQ(one.ci95_half, 0.0);
  EXPECT_EQ(stat_of({}).n, 0);
  EXPECT_NEAR(t95(1), 12.706, 1e-9);
  EXPECT_NEAR(t95(100), 1.984, 0.002);
}

TEST(Stats, BeyondNoiseNeedsSeparatedIntervals) {
  EXPECT_TRUE(beyond_noise(stat_of({10, 10.1, 9.9}), stat_of({20, 20.1, 19.9})));
  EXPECT_FALSE(beyond_noise(stat_of({10, 14, 6}), stat_of({12, 16, 8})));
  EXPECT_FALSE(beyond_noise(stat_of({10}), stat_of({20, 21})));  // noise unknown
}

TEST(Energy, DifferenceOfTheCounterInsideTheWindowSummedOverGpus) {
  std::vector<SampleRow> s;
  auto add = [&](int gpu, double t, double mj) {
    s.push_back({1, std::nullopt, gpu, t, "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", mj});
  };
  add(0, 0.5, 1000);  // before the window
  add(0, 1.0, 2000);
  add(0, 3.0, 8000);
  add(1, 1.5, 0);
  add(1, 2.5, 3000);
  add(0, 9.0, 99999);  // after
  auto j = energy_in_window(s, 1.0, 3.0);
  ASSERT_TRUE(j);
  EXPECT_DOUBLE_EQ(*j, 6.0 + 3.0);
  EXPECT_FALSE(energy_in_window(s, 4.0, 5.0));  // no readings
  EXPECT_FALSE(energy_in_window(s, 2.9, 3.0));  // one reading only
}

Summary two_modes() {
  Summary s;
  GroupRow ts;
  ts.mode = "timeslice";
  ts.group = "a+b";
  ts.speedup = 1.5;
  ts.worst_slowdown_x = 1.6;
  GroupRow mps = ts;
  mps.mode = "mps";
  mps.speedup = 1.9;
  mps.worst_slowdown_x = 2.5;  // faster in total, but b is 2.5x slower than alone
  s.groups = {ts, mps};
  return s;
}

TEST(Recommendation, BestSpeedupWithinTheSlowdownBound) {
  auto r = recommendations(two_modes(), 2.0);
  ASSERT_EQ(r.size(), 1U);
  EXPECT_NE(r[0].find("a+b: timeslice"), std::string::npos) << r[0];
  r = recommendations(two_modes(), 3.0);
  // No repetitions behind the speed-ups: the leader is not named a winner.
  EXPECT_NE(r[0].find("a+b: no winner named: mps"), std::string::npos) << r[0];
  r = recommendations(two_modes(), 1.2);
  EXPECT_NE(r[0].find("no mode keeps every workload within 1.2x"), std::string::npos) << r[0];
}

TEST(Downsample, KeepsExtremesAndOrderWithinTheLimit) {
  std::vector<TimePoint> pts;
  for (int i = 0; i < 10000; ++i) {
    pts.push_back({i * 0.01, i == 4321 ? 1000.0 : (i == 777 ? -50.0 : std::sin(i * 0.01))});
  }
  auto d = downsample_minmax(pts, 200);
  EXPECT_LE(d.size(), 200U);
  double mx = -1e9;
  double mn = 1e9;
  for (std::size_t i = 0; i < d.size(); ++i) {
    mx = std::max(mx, d[i].v);
    mn = std::min(mn, d[i].v);
    if (i > 0) {
      EXPECT_LE(d[i - 1].t, d[i].t);
    }
  }
  EXPECT_EQ(mx, 1000.0);
  EXPECT_EQ(mn, -50.0);
  EXPECT_EQ(downsample_minmax({{0, 1}, {1, 2}}, 200).size(), 2U);
}

TEST(Percentile, LinearInterpolation) {
  EXPECT_DOUBLE_EQ(percentile({1, 2, 3, 4, 5}, 50), 3.0);
  EXPECT_DOUBLE_EQ(percentile({1, 2, 3, 4, 5}, 100), 5.0);
  EXPECT_DOUBLE_EQ(percentile({10, 20}, 25), 12.5);
  EXPECT_DOUBLE_EQ(percentile({}, 99), 0.0);
}

ReportInput input(bool simulated, bool partial) {
  ReportInput in;
  in.exp.id = 3;
  in.exp.name = "demo";
  in.exp.simulated = simulated;
  in.exp.status = partial ? "running" : "done";
  in.exp.spec_yaml = "name: demo\n# </script><b>\n";
  in.summary = two_modes();
  in.summary.id = 3;
  in.summary.experiment = "demo";
  in.summary.simulated = simulated;
  in.summary.runs_done = 2;
  in.summary.runs_total = partial ? 5 : 2;
  in.partial = partial;
  return in;
}

TEST(Formats, EverySimulatedReportSaysSo) {
  for (auto f :
       {ReportFormat::text, ReportFormat::markdown, ReportFormat::json, ReportFormat::html}) {
    const auto out = render_report(input(true, false), f);
    EXPECT_NE(out.find("SIMULATED"), std::string::npos) << static_cast<int>(f);
    EXPECT_EQ(render_report(input(false, false), f).find("SIMULATED"), std::string::npos);
  }
  const auto csv = render_report(input(true, false), ReportFormat::csv);
  EXPECT_EQ(csv.rfind("table,experiment,simulated,partial,", 0), 0U);
  EXPECT_NE(csv.find("speedup,demo,1,0,timeslice,a+b"), std::string::npos) << csv;
}

TEST(Formats, PartialExperimentsAreMarked) {
  EXPECT_NE(render_report(input(false, true), ReportFormat::markdown).find("PARTIAL"),
            std::string::npos);
  auto j = nlohmann::json::parse(render_report(input(false, true), ReportFormat::json));
  EXPECT_TRUE(j["partial"].get<bool>());
  EXPECT_EQ(j["groups"].size(), 2U);
}

TEST(Formats, HtmlIsSelfContainedAndEscapesTheSpec) {
  const auto h = render_report(input(false, false), ReportFormat::html);
  EXPECT_NE(h.find("data-lib=\"vega-lite\""), std::string::npos);
  EXPECT_EQ(h.find("<script src="), std::string::npos);  // nothing loaded from elsewhere
  EXPECT_EQ(h.find("cdn.jsdelivr"), std::string::npos);
  EXPECT_NE(h.find("# &lt;/script&gt;&lt;b&gt;"), std::string::npos);
  EXPECT_GT(h.size(), 500000U);  // the libraries are inlined
  EXPECT_LT(h.size(), 5U << 20);
}

TEST(Formats, PipelinesShowEndToEndAndStageLatenciesAndACdf) {
  auto in = input(true, false);
  PipelineRow p;
  p.run = "r0";
  p.mode = "mps";
  p.group = "infer+train";
  p.workload = "infer#0";
  p.completed = 90;
  p.dropped = 3;
  p.offered_qps = 100;
  p.achieved_qps = 90;
  p.e2e = {90, 5, 4.5, 7, 9.25, 12};
  p.stages = {{"pre", {90, 0.1, 0.05, 0.2, 0.3, 0.4}, {90, 1, 1.5, 2, 2.5, 3}, 0, {}},
              {"model", {90, 1, 0.5, 2, 3, 4}, {90, 3, 3.25, 4, 5, 6}, 2, {}}};
  p.cdf = {{1.0, 0.0}, {4.5, 0.5}, {12.0, 1.0}};
  in.pipelines.push_back(p);
  // A second pipeline with a Server bound missed, a batching stage and events not logged.
  PipelineRow s = p;
  s.workload = "server#0";
  s.latency_bound_ms = 8;
  s.bound_percentile = 99;
  s.latency_at_percentile_ms = 9.25;
  s.bound_met = false;
  s.stages[0].batches = {{1, 2}, {4, 22}};
  s.events_not_logged = 1200;
  s.queries_not_logged = 200;
  in.pipelines.push_back(s);
  const auto md = render_report(in, ReportFormat::markdown);
  EXPECT_NE(md.find("## Pipelines: end-to-end latency from the scheduled arrival"),
            std::string::npos);
  EXPECT_NE(md.find("| mps | infer+train | infer#0 | 90.00 | 100.0 | 90 | 3 | 0 | 4.500 | 7.000 | "
                    "9.250 | 12.00 |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| mps | infer+train | infer#0 | model | 0.5000 | 3.000 | 3.250 | 5.000 | 2 |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("## Pipelines: latency bounds, batches, event logs"), std::string::npos);
  EXPECT_NE(md.find("- mps infer+train server#0: latency bound NOT met: p99 9.25 ms > 8 ms"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("server#0: stage pre sent 24 batches, mean size 3.75 (size:batches 1:2 4:22)"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("server#0: 1200 events of 200 queries are NOT in the event log"),
            std::string::npos)
      << md;
  EXPECT_EQ(md.find("infer#0: latency bound"), std::string::npos);  // no bound, no line
  const auto text = render_report(in, ReportFormat::text);
  EXPECT_NE(text.find("Pipeline stages: queue wait vs service time"), std::string::npos);
  EXPECT_NE(text.find("latency bound NOT met"), std::string::npos);
  const auto j = nlohmann::json::parse(render_report(in, ReportFormat::json));
  ASSERT_EQ(j.at("pipelines").size(), 2U);
  EXPECT_TRUE(j["pipelines"][0]["bound_met"].is_null());
  EXPECT_EQ(j["pipelines"][1]["bound_met"], false);
  EXPECT_DOUBLE_EQ(j["pipelines"][1]["latency_at_percentile_ms"].get<double>(), 9.25);
  EXPECT_EQ(j["pipelines"][1]["events_not_logged"], 1200);
  EXPECT_EQ(j["pipelines"][1]["stages"][0]["batches"]["4"], 22);
  EXPECT_DOUBLE_EQ(j["pipelines"][0]["latency_ms"]["p99"].get<double>(), 9.25);
  EXPECT_EQ(j["pipelines"][0]["stages"][1]["name"], "model");
  EXPECT_EQ(j["pipelines"][0]["cdf"].size(), 3U);
  const auto h = render_report(in, ReportFormat::html);
  EXPECT_NE(h.find("Pipeline latency CDF"), std::string::npos);
  EXPECT_NE(h.find("Pipeline stages"), std::string::npos);
  EXPECT_NE(h.find("<li>mps infer+train server#0: latency bound NOT met"), std::string::npos);
  // Without pipelines, none of it.
  EXPECT_EQ(render_report(input(true, false), ReportFormat::markdown).find("Pipelines"),
            std::string::npos);
}

// Issue 17: an experiment on two GPUs. Solo a on GPU 0, solo b on GPU 1, a+b spread over both
// (speed-up 1.6: per GPU 0.8) and ax2 on GPU 0 (speed-up 1.5).
RunData run_of(int id, const std::string& mode, const std::string& group,
               const std::vector<std::tuple<std::string, int, int, double>>& clients) {
  RunData rd;
  rd.run.id = id;
  rd.run.key = "r0||" + mode + "|" + group;
  rd.run.mode = mode;
  rd.run.mode_kind = mode == "solo" ? "solo" : "mps";
  rd.run.group = group;
  rd.run.status = RunStatus::done;
  rd.run.settings_json = R"({"warmup": {"duration_s": 1.0}})";
  for (const auto& [name, copy, gpu, rate] : clients) {
    WorkloadRecord w;
    w.name = name;
    w.copy = copy;
    w.gpu = gpu;
    w.throughput = rate;
    rd.workloads.push_back(w);
  }
  return rd;
}

TEST(Formats, SeveralGpusGetPerGpuRowsPanelsAndTheSpeedupPerGpu) {
  ExperimentRecord exp;
  exp.id = 1;
  exp.name = "two";
  exp.status = "done";
  std::vector<RunData> runs{run_of(1, "solo", "a", {{"a", 0, 0, 100.0}}),
                            run_of(2, "solo", "b", {{"b", 0, 1, 50.0}}),
                            run_of(3, "mps", "a+b", {{"a", 0, 0, 100.0}, {"b", 0, 1, 30.0}}),
                            run_of(4, "mps", "ax2", {{"a", 0, 0, 75.0}, {"a", 1, 0, 75.0}})};
  ReportBuilder b(exp, runs, 2.0);
  std::vector<SampleRow> samples;
  auto add = [&](int gpu, double t, const char* metric, double v) {
    samples.push_back({3, std::nullopt, gpu, t, metric, v});
  };
  for (int gpu : {0, 1}) {
    add(gpu, 0.5, "DCGM_FI_DEV_POWER_USAGE", 999);  // warm-up: left out
    add(gpu, 1.5, "DCGM_FI_DEV_POWER_USAGE", 100 + 100 * gpu);
    add(gpu, 2.5, "DCGM_FI_DEV_POWER_USAGE", 200 + 100 * gpu);
    add(gpu, 1.5, "DCGM_FI_PROF_SM_ACTIVE", 0.5);
    add(gpu, 1.5, "DCGM_FI_DEV_FB_USED", 1000 + gpu);
    add(gpu, 2.5, "DCGM_FI_DEV_FB_USED", 500);
  }
  b.add_run(runs[2], {{}, {}}, samples);
  const auto in = b.finish();
  EXPECT_TRUE(in.summary.multi_gpu);
  ASSERT_EQ(in.gpu_rows.size(), 2U);
  EXPECT_EQ(in.gpu_rows[1].gpu, 1);
  EXPECT_DOUBLE_EQ(*in.gpu_rows[0].power_w, 150.0);
  EXPECT_DOUBLE_EQ(*in.gpu_rows[1].power_w, 250.0);
  EXPECT_DOUBLE_EQ(*in.gpu_rows[0].sm_active_pct, 50.0);
  EXPECT_DOUBLE_EQ(*in.gpu_rows[1].mem_peak_mib, 1001.0);
  EXPECT_EQ(in.gpu_rows[0].samples, 2);
  const GroupRow* spread = nullptr;
  for (const auto& g : in.summary.groups) {
    spread = g.group == "a+b" ? &g : spread;
  }
  ASSERT_NE(spread, nullptr);
  EXPECT_EQ(spread->gpus, (std::vector<int>{0, 1}));
  EXPECT_DOUBLE_EQ(*spread->speedup, 1.6);
  EXPECT_DOUBLE_EQ(*spread->speedup_per_gpu(), 0.8);

  const auto text = render_report(in, ReportFormat::text);
  EXPECT_NE(text.find("per GPU (x)"), std::string::npos) << text;
  EXPECT_NE(text.find("On several GPUs"), std::string::npos);
  EXPECT_NE(text.find("GPU telemetry per GPU"), std::string::npos);
  EXPECT_NE(render_report(in, ReportFormat::markdown).find("## GPU telemetry per GPU"),
            std::string::npos);
  const auto csv = render_report(in, ReportFormat::csv);
  EXPECT_NE(csv.find("speedup,two,0,0,mps,a+b,,,2,1.6,"), std::string::npos) << csv;
  EXPECT_NE(csv.find(",0 1,0.8,,"), std::string::npos) << csv;
  EXPECT_NE(csv.find("gpu,two,0,0,mps,a+b,,r0||mps|a+b,"), std::string::npos) << csv;
  // Every CSV line has the header's number of fields.
  std::istringstream lines(csv);
  std::string line;
  std::getline(lines, line);
  const auto fields = std::count(line.begin(), line.end(), ',');
  while (std::getline(lines, line)) {
    EXPECT_EQ(std::count(line.begin(), line.end(), ','), fields) << line;
  }
  const auto j = nlohmann::json::parse(render_report(in, ReportFormat::json));
  EXPECT_TRUE(j["multi_gpu"].get<bool>());
  EXPECT_EQ(j["gpu_telemetry"].size(), 2U);
  EXPECT_EQ(j["gpu_telemetry"][1]["power_w"].get<double>(), 250.0);
  const auto html = render_report(in, ReportFormat::html);
  EXPECT_NE(html.find("GPU telemetry per GPU"), std::string::npos);
  EXPECT_NE(html.find("\"hconcat\""), std::string::npos);  // a column of panels per GPU
  EXPECT_NE(html.find("GPU 1 run "), std::string::npos);

  // One GPU: none of it.
  std::vector<RunData> one{run_of(1, "solo", "a", {{"a", 0, 0, 100.0}}),
                           run_of(4, "mps", "ax2", {{"a", 0, 0, 75.0}, {"a", 1, 0, 75.0}})};
  ReportBuilder single(exp, one, 2.0);
  const auto in1 = single.finish();
  EXPECT_FALSE(in1.summary.multi_gpu);
  EXPECT_EQ(render_report(in1, ReportFormat::text).find("per GPU"), std::string::npos);
}

TEST(Formats, UnknownFormatIsAClearError) {
  auto f = report_format_from("pdf");
  ASSERT_FALSE(f);
  EXPECT_NE(f.error().message.find("unknown report format 'pdf'"), std::string::npos);
  EXPECT_TRUE(report_format_from("md"));
}

}  // namespace
}  // namespace colo

namespace colo {
namespace {

// The whole Markdown report of a small known experiment, pinned (an output test: a change to
// the format shows up here).
TEST(Formats, MarkdownIsPinned) {
  ReportInput in;
  in.exp.id = 9;
  in.exp.name = "pinned";
  in.exp.backend = "nvml";
  in.exp.colo_version = "0.1.0";
  in.exp.status = "done";
  in.exp.gpu_json = R"([{"name": "NVIDIA H100 80GB HBM3", "driver": "580.159.04"}])";
  in.summary.id = 9;
  in.summary.experiment = "pinned";
  in.summary.runs_done = 3;
  in.summary.runs_total = 3;
  in.summary.wall_s = 61.5;
  SoloRow solo;
  solo.workload = "r18";
  solo.rate = 7000;
  solo.stat = stat_of({6800, 7200});
  solo.reps = 2;
  solo.j_per_sample = 0.02;
  solo.peak_gpu_mem_bytes = 1024.0 * 1024 * 1024;
  in.summary.solo = {solo};
  WorkloadRow w;
  w.mode = "mps";
  w.group = "r18x2";
  w.workload = "r18#0";
  w.base = "r18";
  w.solo = 7000;
  w.stat = stat_of({6300, 6500});
  w.reps = 2;
  w.rate = w.stat.mean;
  // Paired per repetition (solo 6800 then 7200): the slowdown's CI is over these ratios.
  w.ratios = {6300.0 / 6800, 6500.0 / 7200};
  w.relative_stat = stat_of(w.ratios);
  w.relative = w.relative_stat.mean;
  w.slowdown_pct = (1 - *w.relative) * 100;
  in.summary.workloads = {w};
  GroupRow g;
  g.mode = "mps";
  g.group = "r18x2";
  g.clients = 2;
  g.speedup = 1.83;
  g.stat = stat_of({1.8, 1.86});
  g.worst_slowdown_x = 1.09;
  g.j_per_sample = 0.0125;
  in.summary.groups = {g};
  in.latencies = {{"mps", "r18x2", "r18#0", 40, 9.5, 12.25, 14}};
  EXPECT_EQ(make_reporter(ReportFormat::markdown)->extension(), std::string("md"));
  const auto md = render_report(in, ReportFormat::markdown);
  // Lines, not exact numbers (STYLE.md §10): each pattern must match one whole line.
  const char* k_lines[] = {
      R"(# colo report: experiment 9 "pinned")",
      R"(GPU: NVIDIA H100 80GB HBM3 \(driver 580\.159\.04\); backend nvml; colo 0\.1\.0; )"
      R"(3/3 runs done in [0-9.]+ s\.)",
      R"(## Recommendation)",
      R"(- r18x2: mps is the only mode within the bound: mps [0-9.]+x \(worst per-workload )"
      R"(slowdown [0-9.]+%, bound 50% = --max-slowdown 2x\))",
      R"(## Alone .*)",
      R"(\| workload \| rate \| unit \| spread \(σ, min–max\) \| reps \| GPU J/sample \(J\) \| )"
      R"(peak GPU memory \(MiB\) \| notes \|)",
      R"(\| r18 \| [0-9.]+ ± [0-9.]+ \| samples/s \| σ [0-9.]+, [0-9.]+–[0-9.]+ \| 2 \| )"
      R"([0-9.]+ \| 1024 \| 95% CI ±[0-9.]+% \(wider than ±10%\) \|)",
      R"(## Collocated .*)",
      R"(\| mps \| r18x2 \| r18#0 \| samples/s \| 7000 \| [0-9.]+ ± [0-9.]+ \| σ [^|]* \| )"
      R"([0-9.]+ ± [0-9.]+ \| 2 \| .*\|)",
      R"(## Aggregate speed-up .*)",
      R"(\| mps \| r18x2 \| 2 \| [0-9.]+ ± [0-9.]+ \| σ .* \| [0-9.]+ \| [0-9.]+ \| 2 \| .*\|)",
      R"(## Step latency after warm-up)",
      R"(\| mps \| r18x2 \| r18#0 \| 40 \| [0-9.]+ \| [0-9.]+ \| [0-9.]+ \|)",
      R"(Noise: ± is the 95% confidence interval .*)",
  };
  std::vector<std::string> lines;
  std::istringstream split(md);
  for (std::string l; std::getline(split, l);) {
    lines.push_back(l);
  }
  std::size_t at = 0;  // the patterns match in order
  for (const char* pattern : k_lines) {
    const std::regex re(pattern);
    while (at < lines.size() && !std::regex_match(lines[at], re)) {
      ++at;
    }
    EXPECT_LT(at, lines.size()) << "no line matches, in order: " << pattern << "\n" << md;
    at = at < lines.size() ? at + 1 : 0;
  }
  EXPECT_EQ(md.find("What failed"), std::string::npos);
}

}  // namespace
}  // namespace colo
