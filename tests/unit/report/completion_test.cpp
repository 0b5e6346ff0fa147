#include "report/completion.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "report/summary.hpp"
#include "unit/report/run_records.hpp"

namespace colo {
namespace {

using test::run;
using test::wl;

// A workload whose measured window (barrier to last step) took `window` s.
WorkloadRecord task(int copy, double window, ExitClass c = ExitClass::ok) {
  auto w = wl("r50", copy, 100, c);
  w.window_s = window;
  return w;
}

RunData steps_run(int rep, const std::string& kind, const std::string& group,
                  std::vector<WorkloadRecord> ws, std::int64_t steps = 20) {
  auto rd = run(rep, kind, group, std::move(ws));
  rd.run.settings_json = nlohmann::json{{"stop", {{"steps", steps}}}}.dump();
  return rd;
}

// Alone 6 and 8 s (mean 7); two time-sliced copies at (14, 15) and (13, 14) s (mean 14).
std::vector<RunData> known() {
  return {steps_run(0, "solo", "r50", {task(0, 6)}),
          steps_run(0, "timeslice", "r50x2", {task(0, 14), task(1, 15)}),
          steps_run(1, "solo", "r50", {task(0, 8)}),
          steps_run(1, "timeslice", "r50x2", {task(0, 13), task(1, 14)})};
}

TEST(Completion, IncreaseOverAloneOnKnownInputs) {
  const auto rows = completion_times(known());
  ASSERT_EQ(rows.size(), 2U);
  EXPECT_EQ(rows[0].mode, "solo");
  EXPECT_DOUBLE_EQ(rows[0].time_s.mean, 7.0);
  EXPECT_EQ(rows[0].reps, 2);
  EXPECT_FALSE(rows[0].increase_pct);
  EXPECT_EQ(rows[1].mode, "timeslice");
  EXPECT_EQ(rows[1].clients, 2);
  EXPECT_EQ(rows[1].time_s.n, 4);
  EXPECT_DOUBLE_EQ(rows[1].time_s.mean, 14.0);
  EXPECT_DOUBLE_EQ(*rows[1].solo_s, 7.0);
  EXPECT_DOUBLE_EQ(*rows[1].increase_pct, 100.0);
  EXPECT_EQ(rows[1].reps, 2);
}

TEST(Completion, OnlyStepStoppedRunsAndOkWorkloads) {
  auto runs = known();
  runs[1].workloads[1] = task(1, 40, ExitClass::killed);  // a killed copy does not count
  auto rows = completion_times(runs);
  ASSERT_EQ(rows.size(), 2U);
  EXPECT_EQ(rows[1].time_s.n, 3);
  EXPECT_DOUBLE_EQ(rows[1].time_s.mean, (14.0 + 13 + 14) / 3);

  for (auto& rd : runs) {
    rd.run.settings_json = nlohmann::json{{"stop", {{"duration_s", 10}, {"steps", 0}}}}.dump();
  }
  EXPECT_TRUE(completion_times(runs).empty());
  runs[0].run.settings_json = "not json";
  EXPECT_TRUE(completion_times(runs).empty());
}

TEST(Completion, SummaryShowsTheTableOnlyForStepStops) {
  ExperimentRecord e;
  e.name = "seed000";
  const auto with = render_text(summarize(e, known()));
  EXPECT_NE(with.find("Completion time"), std::string::npos);
  EXPECT_NE(with.find("+100.0"), std::string::npos);
  auto runs = known();
  for (auto& rd : runs) {
    rd.run.settings_json = "{}";
  }
  EXPECT_EQ(render_text(summarize(e, runs)).find("Completion time"), std::string::npos);
}

}  // namespace
}  // namespace colo
