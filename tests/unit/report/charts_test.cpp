// The HTML report's chart specs on known inputs: what each chart promises (reference lines,
// clipped whiskers, every group, human metric names, side-by-side latency bars, sweep axis) and
// the pure ReportBuilder that feeds them. Rendering itself is tested in Chromium
// (tests/browser).
#include "report/charts.hpp"

#include <gtest/gtest.h>

#include "report/report_input.hpp"

namespace colo {
namespace {

using nlohmann::json;

GroupRow group(const std::string& mode, const std::string& name, int clients,
               std::vector<double> values, const std::string& sweep = "") {
  GroupRow g;
  g.mode = mode;
  g.group = name;
  g.sweep = sweep;
  g.clients = clients;
  g.values = std::move(values);
  g.stat = stat_of(g.values);
  g.speedup = g.stat.mean;
  g.worst_slowdown_x = 1.25;
  return g;
}

TEST(Charts, SpeedupHasReferenceLinesAndWhiskersClippedAtZero) {
  Summary s;
  s.groups = {group("timeslice", "ax4", 4, {0.1, 0.9, 0.2}), group("mps", "ax4", 4, {3.5, 3.7})};
  const auto c = speedup_chart(s);
  ASSERT_FALSE(c.is_null());
  for (const auto& r : c["data"]["values"]) {
    EXPECT_GE(r["lo"].get<double>(), 0.0) << r;
    EXPECT_LE(r["lo"].get<double>(), r["speedup"].get<double>());
    EXPECT_EQ(r["clients"], 4);
  }
  const auto& layers = c["spec"]["layer"];
  ASSERT_EQ(layers.size(), 4U);
  EXPECT_EQ(layers[2]["encoding"]["y"]["datum"], 1) << "1x reference";
  EXPECT_EQ(layers[3]["encoding"]["y"]["field"], "clients") << "Nx reference";
  EXPECT_TRUE(speedup_chart(Summary{}).is_null());
}

TEST(Charts, InterferenceShowsEveryGroupWhateverItsSize) {
  Summary s;
  for (const auto& [g, n] : {std::pair{"pair", 2}, {"triple", 3}, {"five", 5}}) {
    for (int i = 0; i < n; ++i) {
      WorkloadRow r;
      r.mode = "mps";
      r.group = g;
      r.workload = "w#" + std::to_string(i);
      r.slowdown_pct = 10.0 * i;
      s.workloads.push_back(r);
    }
  }
  const auto c = interference_chart(s);
  std::map<std::string, int> per_group;
  for (const auto& r : c["data"]["values"]) {
    ++per_group[r["group"].get<std::string>()];
  }
  EXPECT_EQ(per_group, (std::map<std::string, int>{{"pair", 2}, {"triple", 3}, {"five", 5}}));
}

TEST(Charts, LatencyBarsAreSideBySidePerGroup) {
  ReportInput in;
  in.latencies = {{"mps", "g1", "a#0", 10, 1, 2, 3}, {"mps", "g2", "a#0", 10, 4, 5, 6}};
  const auto c = latency_chart(in);
  EXPECT_TRUE(c["encoding"]["x"]["stack"].is_null());
  EXPECT_EQ(c["encoding"]["yOffset"]["field"], "percentile");
  std::set<std::string> who;
  for (const auto& r : c["data"]["values"]) {
    who.insert(r["who"].get<std::string>());
  }
  EXPECT_EQ(who.size(), 2U) << "the same workload and mode in two groups are two bars";
}

TEST(Charts, SweepChartOrdersNumbersNumerically) {
  Summary s;
  for (const auto& b : {"64", "128", "256", "32"}) {
    s.groups.push_back(group("mps", "ax2", 2, {1.5, 1.6}, std::string("batch=") + b + ",lr=0.1"));
  }
  const auto c = sweep_chart(s);
  ASSERT_FALSE(c.is_null());
  std::map<std::string, int> order;
  for (const auto& r : c["data"]["values"]) {
    if (r["param"] == "batch") {
      order[r["value"].get<std::string>()] = r["order"].get<int>();
    }
  }
  EXPECT_EQ(order, (std::map<std::string, int>{{"32", 0}, {"64", 1}, {"128", 2}, {"256", 3}}));
  EXPECT_EQ(c["params"][0]["bind"]["options"], json({"batch", "lr"}));
  EXPECT_TRUE(sweep_chart(Summary{}).is_null());
}

TEST(ReportBuilder, TelemetryHasHumanNamesUnitsAndOneSeriesPerGpu) {
  ExperimentRecord e;
  e.status = "done";
  RunData rd;
  rd.run.key = "r0|timeslice|ab";
  rd.run.status = RunStatus::done;
  rd.run.settings_json = R"({"warmup": {"duration_s": 2}})";
  std::vector<SampleRow> samples;
  for (int gpu = 0; gpu < 2; ++gpu) {
    for (int t = 0; t < 5; ++t) {
      samples.push_back({0, std::nullopt, gpu, double(t), "DCGM_FI_PROF_SM_ACTIVE", 0.5});
      samples.push_back({0, std::nullopt, gpu, double(t), "DCGM_FI_DEV_POWER_USAGE", 300});
      samples.push_back({0, std::nullopt, gpu, double(t), "DCGM_FI_DEV_SM_CLOCK", 1900});
    }
  }
  ReportBuilder b(e, {rd}, 2.0);
  b.add_run(rd, {}, samples);
  const auto in = b.finish();
  EXPECT_DOUBLE_EQ(in.warmup_s.at(rd.run.key), 2.0);
  std::set<std::pair<std::string, std::string>> seen;
  for (const auto& tl : in.timelines) {
    ASSERT_EQ(tl.kind, "gpu");
    seen.insert({tl.series, tl.gpu});
    if (tl.series == "SM active (%)") {
      EXPECT_DOUBLE_EQ(tl.points[0].v, 50.0) << "ratio shown in %";
    }
  }
  EXPECT_EQ(seen, (std::set<std::pair<std::string, std::string>>{{"SM active (%)", "GPU 0"},
                                                                 {"SM active (%)", "GPU 1"},
                                                                 {"power (W)", "GPU 0"},
                                                                 {"power (W)", "GPU 1"}}));
  // Issue 17: one column of panels per GPU (one panel per metric in each), each GPU with its
  // own run selector.
  const auto c = telemetry_chart(in);
  ASSERT_EQ(c["hconcat"].size(), 2U) << "one column per GPU";
  for (int g = 0; g < 2; ++g) {
    const auto& column = c["hconcat"][g]["vconcat"];
    ASSERT_EQ(column.size(), 2U) << "one panel per metric";
    EXPECT_EQ(column[0]["title"], "GPU " + std::to_string(g) + ": SM active (%)");
    EXPECT_EQ(column[0]["layer"].size(), 2U) << "warm-up shaded";
    EXPECT_NE(column[1]["layer"][1]["transform"][0]["filter"].get<std::string>().find(
                  "datum.gpu === 'GPU " + std::to_string(g) + "'"),
              std::string::npos);
    EXPECT_EQ(c["params"][g]["name"], "run" + std::to_string(g));
  }
  EXPECT_EQ(c["datasets"]["warm"].size(), 1U) << "warm-up shaded";
  EXPECT_EQ(c.dump().find("DCGM_FI"), std::string::npos) << "no raw DCGM ids";
  // One GPU: one column, one line per panel, one run selector.
  std::erase_if(samples, [](const SampleRow& x) { return x.gpu != 0; });
  ReportBuilder one(e, {rd}, 2.0);
  one.add_run(rd, {}, samples);
  const auto c1 = telemetry_chart(one.finish());
  ASSERT_EQ(c1["vconcat"].size(), 2U) << "one panel per metric";
  EXPECT_EQ(c1["vconcat"][0]["title"], "SM active (%)");
  EXPECT_EQ(c1["vconcat"][0]["layer"][1]["encoding"]["color"]["field"], "gpu");
}

TEST(ReportBuilder, EveryRunIsSelectableAndLatencyIsAfterWarmup) {
  ExperimentRecord e;
  std::vector<RunData> runs(2);
  for (int i = 0; i < 2; ++i) {
    runs[i].run.key = "run" + std::to_string(i);
    runs[i].run.mode = "mps";
    runs[i].run.group = "a";
    runs[i].run.status = RunStatus::done;
    runs[i].run.settings_json = R"({"warmup": {"duration_s": 1}})";
    WorkloadRecord w;
    w.name = "a";
    runs[i].workloads = {w};
  }
  ReportBuilder b(e, runs, 2.0);
  for (const auto& rd : runs) {
    std::vector<ProgressRow> prog;
    for (int t = 0; t < 20; ++t) {
      prog.push_back({0, t * 0.1, t, 10, std::nullopt, t * 0.1 > 1 ? 5.0 : 500.0});
    }
    b.add_run(rd, {prog}, {});
  }
  const auto in = b.finish();
  const auto c = rate_chart(in);
  EXPECT_EQ(c["params"][0]["bind"]["options"], json({"run0", "run1"}));
  ASSERT_EQ(in.latencies.size(), 1U);
  EXPECT_DOUBLE_EQ(in.latencies[0].p99, 5.0) << "warm-up latencies left out";
  EXPECT_EQ(in.latencies[0].n, 2 * 9);
}

}  // namespace
}  // namespace colo
