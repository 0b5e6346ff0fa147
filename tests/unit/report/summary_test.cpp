#include "report/summary.hpp"

#include <gtest/gtest.h>

#include "report/export.hpp"
#include "unit/report/run_records.hpp"

namespace colo {
namespace {

using test::run;
using test::wl;

ExperimentRecord exp(bool simulated) {
  ExperimentRecord e;
  e.id = 7;
  e.name = "known";
  e.simulated = simulated;
  e.backend = simulated ? "sim" : "nvml";
  e.wall_s = 42;
  return e;
}

// Known inputs: solo a = 100 and 110 (mean 105), b = 50; two copies of a time-sliced at
// (60, 45) and (50, 55); a+b under mps at (84, 40).
std::vector<RunData> known() {
  return {run(0, "solo", "a", {wl("a", 0, 100)}),
          run(1, "solo", "a", {wl("a", 0, 110)}),
          run(0, "solo", "b", {wl("b", 0, 50)}),
          run(0, "timeslice", "ax2", {wl("a", 0, 60), wl("a", 1, 45)}),
          run(1, "timeslice", "ax2", {wl("a", 0, 50), wl("a", 1, 55)}),
          run(0, "mps", "a+b", {wl("a", 0, 84), wl("b", 0, 40)})};
}

TEST(Summary, ArithmeticOnKnownInputs) {
  auto s = summarize(exp(false), known());
  ASSERT_EQ(s.solo.size(), 2U);
  EXPECT_DOUBLE_EQ(s.solo[0].rate, 105.0);
  EXPECT_EQ(s.solo[0].reps, 2);
  EXPECT_DOUBLE_EQ(s.solo[1].rate, 50.0);

  ASSERT_EQ(s.workloads.size(), 4U);
  const auto& a0 = s.workloads[0];
  EXPECT_EQ(a0.workload, "a#0");
  EXPECT_DOUBLE_EQ(a0.rate, 55.0);
  // Paired per repetition: 60 / 100 and 50 / 110 (not the mean 55 over the mean solo 105).
  EXPECT_EQ(a0.ratios, (std::vector<double>{0.6, 50.0 / 110.0}));
  EXPECT_DOUBLE_EQ(*a0.relative, (0.6 + 50.0 / 110.0) / 2);
  EXPECT_DOUBLE_EQ(*a0.slowdown_pct, (1.0 - (0.6 + 50.0 / 110.0) / 2) * 100.0);
  EXPECT_EQ(a0.relative_stat.n, 2);
  EXPECT_EQ(a0.unpaired_reps, 0);
  EXPECT_DOUBLE_EQ(s.workloads[1].rate, 50.0);

  ASSERT_EQ(s.groups.size(), 2U);
  // Paired per repetition: (60 + 45) / 100 = 1.05 and (50 + 55) / 110 = 0.9545.
  EXPECT_DOUBLE_EQ(*s.groups[0].speedup, (1.05 + 105.0 / 110.0) / 2);
  EXPECT_EQ(s.groups[0].values, (std::vector<double>{1.05, 105.0 / 110.0}));
  EXPECT_EQ(s.groups[0].unpaired_reps, 0);
  EXPECT_EQ(s.groups[0].reps, 2);
  EXPECT_DOUBLE_EQ(s.groups[0].aggregate_rate, 105.0);
  // a+b, repetition 0: 84 / 100 + 40 / 50 = 0.84 + 0.8 = 1.64.
  EXPECT_DOUBLE_EQ(*s.groups[1].speedup, 1.64);
  EXPECT_EQ(s.runs_done, 6);
}

TEST(Summary, FailedWorkloadsAreCountedNotAveraged) {
  auto runs = known();
  runs.push_back(run(1, "mps", "a+b", {wl("a", 0, 10), wl("b", 0, std::nullopt, ExitClass::oom)}));
  auto s = summarize(exp(false), runs);
  ASSERT_EQ(s.failures.size(), 1U);
  EXPECT_EQ(s.failures[0].exit_class, "oom");
  const auto& g = s.groups[1];
  EXPECT_EQ(g.reps, 2);
  EXPECT_EQ(g.failed_reps, 1);
  EXPECT_DOUBLE_EQ(*g.speedup, 1.64);  // only the complete repetition
}

TEST(Summary, UnfinishedRunsAreLeftOut) {
  auto runs = known();
  runs.push_back(run(2, "solo", "a", {wl("a", 0, 1000)}, RunStatus::interrupted));
  auto s = summarize(exp(false), runs);
  EXPECT_DOUBLE_EQ(s.solo[0].rate, 105.0);
  EXPECT_EQ(s.runs_total, 7);
  EXPECT_EQ(s.runs_done, 6);
}

TEST(Summary, WallTimeWhenNoProgressIsReported) {
  std::vector<RunData> runs{run(0, "solo", "a", {wl("a", 0, std::nullopt, ExitClass::ok, 10)}),
                            run(0, "timeslice", "ax2",
                                {wl("a", 0, std::nullopt, ExitClass::ok, 20),
                                 wl("a", 1, std::nullopt, ExitClass::ok, 20)})};
  auto s = summarize(exp(false), runs);
  ASSERT_EQ(s.groups.size(), 1U);
  EXPECT_TRUE(s.solo[0].by_wall_time);
  EXPECT_DOUBLE_EQ(*s.groups[0].speedup, 1.0);  // 2 x (1/20) / (1/10)
}

TEST(Summary, TextSaysSimulatedWhenItIs) {
  auto sim = render_text(summarize(exp(true), known()));
  EXPECT_EQ(sim.rfind("*** SIMULATED GPU", 0), 0U);
  EXPECT_NE(sim.find("speed-up (x)"), std::string::npos) << sim;
  EXPECT_NE(sim.find("  1.64  "), std::string::npos) << sim;
  auto real = render_text(summarize(exp(false), known()));
  EXPECT_EQ(real.find("SIMULATED"), std::string::npos);
  EXPECT_EQ(real.find("simulated"), std::string::npos);
}

// The solo baseline drifts 100 -> 200 between repetitions while the collocated pair keeps pace:
// paired ratios are exactly 1.0 each (zero spread), the mean-solo ratios would be 0.67 and 1.33.
TEST(Summary, SpeedupIsPairedPerRepetition) {
  std::vector<RunData> runs{run(0, "solo", "a", {wl("a", 0, 100)}),
                            run(0, "timeslice", "ax2", {wl("a", 0, 50), wl("a", 1, 50)}),
                            run(1, "solo", "a", {wl("a", 0, 200)}),
                            run(1, "timeslice", "ax2", {wl("a", 0, 100), wl("a", 1, 100)})};
  auto s = summarize(exp(false), runs);
  ASSERT_EQ(s.groups.size(), 1U);
  EXPECT_DOUBLE_EQ(*s.groups[0].speedup, 1.0);
  EXPECT_DOUBLE_EQ(s.groups[0].stat.sd, 0.0);
  EXPECT_EQ(s.groups[0].unpaired_reps, 0);
  // A third repetition without its own solo run falls back to the mean solo (150) and says so.
  runs.push_back(run(2, "timeslice", "ax2", {wl("a", 0, 75), wl("a", 1, 75)}));
  s = summarize(exp(false), runs);
  EXPECT_EQ(s.groups[0].unpaired_reps, 1);
  EXPECT_DOUBLE_EQ(s.groups[0].values[2], 1.0);
  EXPECT_NE(render_text(s).find("unpaired"), std::string::npos) << render_text(s);
}

// Issue 10: the per-workload slowdown is paired like the aggregate. The solo rate drifts
// 100 -> 200 and the collocated copy keeps pace at half of it: each repetition lost exactly 50%,
// so the paired CI is zero, where rates over mean solo rates would read 33% and 67% lost.
TEST(Summary, SlowdownIsPairedPerRepetition) {
  std::vector<RunData> runs{run(0, "solo", "a", {wl("a", 0, 100)}),
                            run(0, "timeslice", "ax2", {wl("a", 0, 50), wl("a", 1, 50)}),
                            run(1, "solo", "a", {wl("a", 0, 200)}),
                            run(1, "timeslice", "ax2", {wl("a", 0, 100), wl("a", 1, 100)})};
  auto s = summarize(exp(false), runs);
  ASSERT_EQ(s.workloads.size(), 2U);
  const auto& a0 = s.workloads[0];
  EXPECT_EQ(a0.ratios, (std::vector<double>{0.5, 0.5}));
  EXPECT_DOUBLE_EQ(*a0.slowdown_pct, 50.0);
  EXPECT_DOUBLE_EQ(a0.relative_stat.sd, 0.0);
  EXPECT_DOUBLE_EQ(a0.relative_stat.ci95_half, 0.0);
  EXPECT_EQ(a0.unpaired_reps, 0);
  EXPECT_NE(render_text(s).find("  50.0 ± 0.0  "), std::string::npos) << render_text(s);
  // Where ratio of means and mean of ratios differ: 80 / 100 and 100 / 200 -> mean 0.65 (the
  // mean rate over the mean solo rate would be 90 / 150 = 0.6).
  runs[1] = run(0, "timeslice", "ax2", {wl("a", 0, 80), wl("a", 1, 50)});
  s = summarize(exp(false), runs);
  EXPECT_DOUBLE_EQ(*s.workloads[0].relative, 0.65);
  EXPECT_DOUBLE_EQ(*s.workloads[0].slowdown_pct, 35.0);
  // A third repetition without its own solo run: divided by the mean solo (150) and flagged.
  runs.push_back(run(2, "timeslice", "ax2", {wl("a", 0, 75), wl("a", 1, 75)}));
  s = summarize(exp(false), runs);
  EXPECT_EQ(s.workloads[0].unpaired_reps, 1);
  EXPECT_DOUBLE_EQ(s.workloads[0].ratios[2], 0.5);
  const auto text = render_text(s);
  const auto row = text.find("a#0");
  ASSERT_NE(row, std::string::npos) << text;
  EXPECT_NE(text.substr(row, text.find('\n', row) - row).find("1 unpaired"), std::string::npos)
      << text;
}

TEST(Summary, RecommendationNamesNoWinnerWithinNoise) {
  // timeslice 2.0, 2.2 and mps 2.1, 2.1: within noise of each other.
  std::vector<RunData> runs;
  for (int rep = 0; rep < 2; ++rep) {
    runs.push_back(run(rep, "solo", "a", {wl("a", 0, 100)}));
    runs.push_back(run(rep, "timeslice", "ax2", {wl("a", 0, 100 + rep * 20), wl("a", 1, 100)}));
    runs.push_back(run(rep, "mps", "ax2", {wl("a", 0, 105), wl("a", 1, 105)}));
  }
  auto rec = recommendations(summarize(exp(false), runs), 2.0);
  ASSERT_EQ(rec.size(), 1U);
  EXPECT_NE(rec[0].find("no winner beyond noise"), std::string::npos) << rec[0];
  EXPECT_EQ(rec[0].find("gives the best"), std::string::npos) << rec[0];
  // mps clearly ahead on both repetitions (paired): named.
  runs.clear();
  for (int rep = 0; rep < 3; ++rep) {
    runs.push_back(run(rep, "solo", "a", {wl("a", 0, 100)}));
    runs.push_back(run(rep, "timeslice", "ax2", {wl("a", 0, 60 + rep), wl("a", 1, 60)}));
    runs.push_back(run(rep, "mps", "ax2", {wl("a", 0, 90 + rep), wl("a", 1, 90)}));
  }
  rec = recommendations(summarize(exp(false), runs), 2.0);
  ASSERT_EQ(rec.size(), 1U);
  EXPECT_NE(rec[0].find("mps gives the best aggregate speed-up"), std::string::npos) << rec[0];
  EXPECT_NE(rec[0].find("paired t"), std::string::npos) << rec[0];
  // One repetition: noise unknown, no winner.
  runs.resize(3);
  rec = recommendations(summarize(exp(false), runs), 2.0);
  EXPECT_NE(rec[0].find("no winner named"), std::string::npos) << rec[0];
}

TEST(Summary, CpuOnlyIsNotSimulatedAndHasNoGpuEnergy) {
  auto cpu = [](const std::string& name) {
    auto w = wl(name, 0, 100);
    w.argv_json = R"(["/opt/colo/bin/colo-cpu-work","--ms","5"])";
    w.samples = 100;
    return w;
  };
  std::vector<RunData> runs{run(0, "solo", "a", {cpu("a")})};
  runs[0].energy_j = 50;
  auto s = summarize(exp(true), runs);
  EXPECT_TRUE(s.cpu_only);
  EXPECT_FALSE(s.simulated);
  EXPECT_FALSE(s.solo[0].j_per_sample.has_value());
  EXPECT_EQ(render_text(s).find("imulated"), std::string::npos) << render_text(s);
  runs[0].workloads[0].argv_json = R"(["/opt/colo/bin/colo-sim-gpu"])";
  s = summarize(exp(true), runs);
  EXPECT_TRUE(s.simulated);
  EXPECT_DOUBLE_EQ(*s.solo[0].j_per_sample, 0.5);
}

TEST(Export, CsvHasOneRowPerWorkloadAndTheSimulatedFlag) {
  auto csv = export_csv(exp(true), known());
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 1 + 9);
  EXPECT_NE(csv.find("experiment_id,experiment,simulated"), std::string::npos);
  EXPECT_NE(csv.find("7,known,1,"), std::string::npos);
  auto e = exp(false);
  e.gpu_json = "[]";
  auto json = export_json(e, known(), summarize(e, known()));
  EXPECT_NE(json.find("\"simulated\": false"), std::string::npos);
  EXPECT_NE(json.find("\"speedup\": 1.64"), std::string::npos);
}

}  // namespace
}  // namespace colo
