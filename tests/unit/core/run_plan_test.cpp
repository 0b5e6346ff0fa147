#include "core/run_plan.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace colo {
namespace {

ExperimentSpec spec_of(const char* yaml) {
  auto s = parse_spec(yaml, "/tmp/plan.yaml");
  EXPECT_TRUE(s) << s.error().what();
  return *s;
}

TEST(RunPlan, SoloBaselinesThenGroupsTimesModesPerRepetition) {
  auto spec = spec_of(R"(
name: p
repeat: 2
stop: {duration: 1s}
modes: [timeslice, {mps: {thread_percent: [25, 50]}}]
workloads:
  - {name: a, cmd: [run-a], copies: [1, 2]}
  - {name: b, cmd: [run-b]}
groups: [[a, b]]
)");
  auto runs = expand_runs(spec);
  ASSERT_TRUE(runs) << runs.error().what();
  // per repetition: 2 solo + a x1 (mps only: 2) + a x2 (3 modes) + a+b (3 modes) = 10
  EXPECT_EQ(runs->size(), 20U);
  std::set<std::string> keys;
  for (const auto& r : *runs) {
    EXPECT_TRUE(keys.insert(r.key).second) << "duplicate key " << r.key;
  }
  EXPECT_TRUE((*runs)[0].is_solo());
  EXPECT_EQ((*runs)[0].group, "a");
  EXPECT_EQ((*runs)[1].group, "b");
  const auto& r = (*runs)[5];
  EXPECT_EQ(r.group, "ax2");
  EXPECT_EQ(r.clients.size(), 2U);
  EXPECT_EQ(r.clients[1].copy, 1);
  EXPECT_EQ((*runs)[10].repetition, 1);
  // The MPS thread percent reaches each client.
  bool saw = false;
  for (const auto& run : *runs) {
    if (run.mode.label() == "mps(tp=25)" && run.group == "a+b") {
      saw = true;
      EXPECT_EQ(run.clients[0].thread_percent, 25);
      EXPECT_EQ(run.clients[1].thread_percent, 25);
    }
  }
  EXPECT_TRUE(saw);
}

TEST(RunPlan, SweepSubstitutesParameters) {
  auto spec = spec_of(R"(
name: p
stop: {duration: 1s}
sweep: {batch: [32, 64]}
workloads:
  - {name: a, cmd: [train, --batch, "{batch}", "{other}"], env: {B: "b{batch}"}, copies: [2]}
)");
  auto runs = expand_runs(spec);
  ASSERT_TRUE(runs);
  ASSERT_EQ(runs->size(), 4U);  // (solo + timeslice x2) per sweep point
  EXPECT_EQ((*runs)[0].clients[0].argv,
            (std::vector<std::string>{"train", "--batch", "32", "{other}"}));
  EXPECT_EQ((*runs)[2].clients[0].argv[2], "64");
  EXPECT_EQ((*runs)[2].clients[0].env.at("B"), "b64");
  EXPECT_EQ((*runs)[2].sweep_label(), "batch=64");
  EXPECT_EQ((*runs)[0].clients[0].cwd, "/tmp");
}

TEST(RunPlan, DefaultGroupIsAllWorkloadsTogether) {
  auto spec = spec_of(
      "name: p\nstop: {duration: 1s}\nworkloads:\n  - {name: a, cmd: [x]}\n"
      "  - {name: b, builtin: cpu}\n");
  auto runs = expand_runs(spec);
  ASSERT_TRUE(runs);
  ASSERT_EQ(runs->size(), 3U);
  EXPECT_EQ((*runs)[2].group, "a+b");
  EXPECT_EQ((*runs)[2].clients[1].argv[0], "@builtin:cpu");
}

TEST(RunPlan, MigLayoutMustMatchGroupSize) {
  auto spec = spec_of(
      "name: p\nstop: {duration: 1s}\nmodes: [{mig: {layout: [3g.40gb]}}]\n"
      "workloads:\n  - {name: a, cmd: [x], copies: [2]}\n");
  auto runs = expand_runs(spec);
  ASSERT_FALSE(runs);
  EXPECT_NE(runs.error().message.find("1 MIG profiles but no group has 1 workloads"),
            std::string::npos)
      << runs.error().message;
  // With several groups, a layout runs with the group of its size only.
  auto mixed = spec_of(
      "name: p\nstop: {duration: 1s}\n"
      "modes: [{mig-equivalent: {layout: [3g.40gb, 3g.40gb]}}]\n"
      "workloads:\n  - {name: a, cmd: [x], copies: [2, 3]}\n");
  auto r2 = expand_runs(mixed);
  ASSERT_TRUE(r2) << r2.error().what();
  ASSERT_EQ(r2->size(), 2U);  // solo a, and ax2 with the layout
  EXPECT_EQ((*r2)[1].group, "ax2");
  EXPECT_EQ((*r2)[1].clients[1].mig_profile, "3g.40gb");
}

TEST(RunPlan, SettingsJsonHoldsEverythingResolved) {
  auto spec = spec_of("name: p\nstop: {duration: 3s}\nworkloads:\n  - {name: a, cmd: [x]}\n");
  auto runs = expand_runs(spec);
  ASSERT_TRUE(runs);
  auto j = (*runs)[0].settings_json(spec);
  EXPECT_EQ(j["stop"]["duration_s"], 3.0);
  EXPECT_EQ(j["clients"][0]["argv"][0], "x");
  EXPECT_EQ(j["mode"], "solo");
}

}  // namespace
}  // namespace colo

namespace colo {
namespace {

TEST(RunPlan, ShuffleKeepsRepetitionBlocksAndIsDeterministic) {
  auto spec = spec_of(R"(
name: p
repeat: 3
stop: {duration: 1s}
modes: [timeslice, mps]
sweep: {n: [1, 2]}
workloads:
  - {name: a, cmd: [run-a, '{n}'], copies: [2, 3, 4]}
)");
  auto runs = expand_runs(spec);
  ASSERT_TRUE(runs);
  auto a = *runs;
  auto b = *runs;
  shuffle_runs(a, 9);
  shuffle_runs(b, 9);
  std::vector<std::string> ka;
  std::vector<std::string> kb;
  std::vector<std::string> k0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    ka.push_back(a[i].key);
    kb.push_back(b[i].key);
    k0.push_back((*runs)[i].key);
    // Same (sweep point, repetition) at every position: only the order inside a block changes.
    EXPECT_EQ(a[i].repetition, (*runs)[i].repetition);
    EXPECT_EQ(a[i].sweep_point, (*runs)[i].sweep_point);
  }
  EXPECT_EQ(ka, kb);
  EXPECT_NE(ka, k0);
  EXPECT_EQ(std::multiset<std::string>(ka.begin(), ka.end()),
            std::multiset<std::string>(k0.begin(), k0.end()));
  shuffle_runs(b, 10);
  std::vector<std::string> kc;
  for (const auto& r : b) {
    kc.push_back(r.key);
  }
  EXPECT_NE(kc, ka);
}

TEST(RunPlan, AdaptiveRepeatPlansUpToTheMaximum) {
  auto spec = spec_of(R"(
name: p
repeat: {min: 2, max: 5, ci: 3%}
stop: {duration: 1s}
modes: [timeslice]
workloads:
  - {name: a, cmd: [run-a], copies: [2]}
)");
  auto runs = expand_runs(spec);
  ASSERT_TRUE(runs);
  EXPECT_EQ(runs->size(), 10U);  // 5 x (solo + pair); the engine stores 2 repetitions first
  EXPECT_EQ(runs->back().repetition, 4);
}

// Issue 17: each run carries its GPUs: a solo baseline one (its workload's first, else the
// experiment's first), a pinned group its `gpus:`, other groups all of the experiment's; the
// same mix pinned to two GPUs gets two labels.
TEST(RunPlan, RunsCarryTheirGpus) {
  auto spec = spec_of(R"(
name: p
stop: {duration: 1s}
gpus: [0, 1, 2]
modes: [mps]
workloads:
  - {name: a, cmd: [run-a], gpus: [2, 1]}
  - {name: b, cmd: [run-b], copies: [2]}
groups:
  - {workloads: [a, b], gpus: [1]}
  - {workloads: [a, b], gpus: [2]}
  - [a, a]
)");
  auto runs = expand_runs(spec);
  ASSERT_TRUE(runs) << runs.error().what();
  std::map<std::string, std::vector<int>> gpus;
  std::set<std::string> keys;
  for (const auto& r : *runs) {
    gpus[r.group] = r.gpus;
    EXPECT_TRUE(keys.insert(r.key).second) << "duplicate key " << r.key;
  }
  EXPECT_EQ(gpus["a"], (std::vector<int>{2}));
  EXPECT_EQ(gpus["b"], (std::vector<int>{0}));
  EXPECT_EQ(gpus["bx2"], (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(gpus["a+b@gpu1"], (std::vector<int>{1}));
  EXPECT_EQ(gpus["a+b@gpu2"], (std::vector<int>{2}));
  EXPECT_EQ(gpus["ax2"], (std::vector<int>{0, 1, 2}));
  RunPlan x;
  RunPlan y;
  x.gpus = {0, 1};
  y.gpus = {2};
  EXPECT_FALSE(gpus_overlap(x, y));
  y.gpus = {1, 3};
  EXPECT_TRUE(gpus_overlap(x, y));
  EXPECT_TRUE(gpus_overlap(y, x));
}

}  // namespace
}  // namespace colo
