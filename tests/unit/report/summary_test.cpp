#include "report/summary.hpp"

#include <gtest/gtest.h>

#include "report/export.hpp"

namespace colo {
namespace {

WorkloadRecord wl(const std::string& name, int copy, std::optional<double> tput,
                  ExitClass c = ExitClass::ok, double runtime = 10) {
  WorkloadRecord w;
  w.name = name;
  w.copy = copy;
  w.throughput = tput;
  w.exit_class = c;
  w.runtime_s = runtime;
  return w;
}

RunData run(int rep, const std::string& kind, const std::string& group,
            std::vector<WorkloadRecord> ws, RunStatus st = RunStatus::done) {
  RunData rd;
  rd.run.key = "r" + std::to_string(rep) + "|" + kind + "|" + group;
  rd.run.repetition = rep;
  rd.run.mode = kind;
  rd.run.mode_kind = kind;
  rd.run.group = group;
  rd.run.status = st;
  rd.workloads = std::move(ws);
  return rd;
}

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
  EXPECT_DOUBLE_EQ(*a0.relative, 55.0 / 105.0);
  EXPECT_DOUBLE_EQ(*a0.slowdown_pct, (1.0 - 55.0 / 105.0) * 100.0);
  EXPECT_DOUBLE_EQ(s.workloads[1].rate, 50.0);

  ASSERT_EQ(s.groups.size(), 2U);
  // Per repetition: (60 + 45) / 105 = 1.0 and (50 + 55) / 105 = 1.0.
  EXPECT_DOUBLE_EQ(*s.groups[0].speedup, 105.0 / 105.0);
  EXPECT_EQ(s.groups[0].reps, 2);
  EXPECT_DOUBLE_EQ(s.groups[0].aggregate_rate, 105.0);
  // a+b: 84 / 105 + 40 / 50 = 0.8 + 0.8 = 1.6.
  EXPECT_DOUBLE_EQ(*s.groups[1].speedup, 1.6);
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
  EXPECT_DOUBLE_EQ(*g.speedup, 1.6);  // only the complete repetition
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
  EXPECT_NE(sim.find("1.60x"), std::string::npos);
  auto real = render_text(summarize(exp(false), known()));
  EXPECT_EQ(real.find("SIMULATED"), std::string::npos);
  EXPECT_EQ(real.find("simulated"), std::string::npos);
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
  EXPECT_NE(json.find("\"speedup\": 1.6"), std::string::npos);
}

}  // namespace
}  // namespace colo
