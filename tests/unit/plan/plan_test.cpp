// src/plan: profiles, jobs files, the interference model, the planner and spec emission. Pure:
// no GPU, no clock; the fit test reads the committed observations under bench/results.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "gpu/mig/mig_profiles.hpp"
#include "plan/emit.hpp"
#include "plan/jobs.hpp"
#include "plan/model.hpp"
#include "plan/planner.hpp"
#include "plan/profile.hpp"

namespace colo::plan {
namespace {

constexpr double k_gib = 1024.0 * 1024 * 1024;

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A profile whose speed is linear up to `knee` of the SMs, then flat.
Profile make_profile(const std::string& name, double util, double mem_gib, double knee = 0.5,
                     double solo = 1000) {
  Profile p;
  p.workload = name;
  p.key = name;
  p.gpu_model = "NVIDIA H200";
  p.device_sms = 132;
  p.device_memory_bytes = static_cast<std::uint64_t>(141 * k_gib);
  for (double s : {0.1, 0.2, 0.3, 0.5, 0.7, 1.0}) {
    p.mps_curve.push_back({s, solo * std::min(1.0, s / knee)});
  }
  p.peak_mem_bytes = mem_gib * k_gib;
  p.gpu_util = util;
  p.sm_active = util * 0.5;
  p.dram_active = 0.05;
  return p;
}

GpuSlot h200(int index, bool mig = false) {
  GpuSlot g;
  g.index = index;
  g.model = "NVIDIA H200";
  g.memory_bytes = static_cast<std::uint64_t>(141 * k_gib);
  g.sms = 132;
  g.mig_enabled = mig;
  g.mig_table = *mig_profiles_for("NVIDIA H200");
  return g;
}

PlanJob job(const std::string& name, Profile p, Isolation iso = Isolation::none) {
  PlanJob j;
  j.job.name = name;
  j.job.workload = p.workload;
  j.job.isolation = iso;
  j.profile = std::move(p);
  return j;
}

PlanOptions opts() {
  PlanOptions o;
  o.params = {0.9, 0.9, 1.0, 0.01, 0.01};
  return o;
}

TEST(PlanProfile, SpeedInterpolatesAndCapsAtOne) {
  auto p = make_profile("a", 0.3, 1, 0.5);
  EXPECT_NEAR(p.speed_at(0.25), 0.5, 1e-9);
  EXPECT_NEAR(p.speed_at(0.05), 0.1, 1e-9);  // through (0, 0)
  EXPECT_NEAR(p.speed_at(0.6), 1.0, 1e-9);
  EXPECT_NEAR(p.speed_at(2.0), 1.0, 1e-9);
  EXPECT_DOUBLE_EQ(p.solo_throughput(), 1000);
  auto back = profile_from_json(to_json(p));
  ASSERT_TRUE(back) << back.error().what();
  EXPECT_EQ(back->mps_curve.size(), 6U);
  EXPECT_EQ(back->gpu_util, p.gpu_util);
  EXPECT_FALSE(back->latency_ms);
  EXPECT_FALSE(
      profile_from_json(nlohmann::json{{"workload", "x"}, {"key", "k"}, {"gpu_model", "m"}}));
}

TEST(PlanProfile, WorkloadKeyIsCommandArgsAndEnv) {
  WorkloadSpec a;
  a.name = "a";
  a.builtin = "sim-gpu";
  a.args = {{"duty", "0.5"}};
  WorkloadSpec b = a;
  b.name = "b";
  b.copies = {2};
  EXPECT_EQ(workload_key(a), workload_key(b));
  b.args["duty"] = "0.6";
  EXPECT_NE(workload_key(a), workload_key(b));
  WorkloadSpec c = a;
  c.env["X"] = "1";
  EXPECT_NE(workload_key(a), workload_key(c));
}

TEST(PlanJobs, ParsesAndNamesLines) {
  const std::string text =
      "workloads: w.yaml\nmax_slowdown: 2\njobs:\n"
      "  - {name: a, workload: r18, kind: training, min_throughput: 100}\n"
      "  - {name: b, workload: r50, kind: inference, latency_slo: 20ms, isolation: fault}\n";
  auto f = parse_jobs(text, "jobs.yaml", "/d");
  ASSERT_TRUE(f) << f.error().what();
  EXPECT_EQ(f->spec, "/d/w.yaml");
  ASSERT_EQ(f->jobs.size(), 2U);
  EXPECT_EQ(f->jobs[1].kind, JobKind::inference);
  EXPECT_NEAR(*f->jobs[1].latency_slo_ms, 20, 1e-9);
  EXPECT_EQ(f->jobs[1].isolation, Isolation::fault);
  EXPECT_EQ(f->jobs[1].line, 5);
  EXPECT_DOUBLE_EQ(*f->max_slowdown, 2);

  auto bad = [](const std::string& t) {
    auto r = parse_jobs(t, "jobs.yaml", "/d");
    EXPECT_FALSE(r);
    return r ? std::string() : r.error().message;
  };
  {
    EXPECT_NE(bad("workloads: w.yaml\njobs:\n  - {name: a, workload: r, colour: red}\n")
                  .find("jobs.yaml:3: jobs[0]: unknown field 'colour'"),
              std::string::npos);
    EXPECT_NE(bad("workloads: w.yaml\njobs:\n  - {name: a, workload: r, latency_slo: 5ms}\n")
                  .find("latency_slo is for inference jobs"),
              std::string::npos);
    EXPECT_NE(bad("workloads: w.yaml\njobs:\n  - {name: a, workload: r, max_slowdown: 0.5}\n")
                  .find("below 1"),
              std::string::npos);
    EXPECT_NE(bad("workloads: w.yaml\njobs:\n  - {name: a, workload: r}\n  - {name: a, "
                  "workload: r}\n")
                  .find("'a' is used twice"),
              std::string::npos);
    EXPECT_NE(bad("jobs:\n  - {name: a, workload: r}\n").find("workloads:"), std::string::npos);
    EXPECT_NE(bad("workloads: w.yaml\njobs:\n  - {name: a, workload: r, isolation: full}\n")
                  .find("isolation 'full'"),
              std::string::npos);
  }
}

TEST(PlanModel, TimesliceStretchesBySummedBusyTime) {
  ModelParams p{1.0, 1.0, 1.0, 0.0, 0.0};
  std::vector<Member> two{{0.4, 0.2, 0.0, 1.0}, {0.4, 0.2, 0.0, 1.0}};
  auto light = predict(Mechanism::timeslice, two, p);
  EXPECT_DOUBLE_EQ(light.speed[0], 1.0);
  EXPECT_EQ(light.bound, Bound::none);
  std::vector<Member> heavy{{0.8, 0.6, 0.0, 1.0}, {0.8, 0.6, 0.0, 1.0}};
  auto h = predict(Mechanism::timeslice, heavy, p);
  EXPECT_NEAR(h.speed[0], 1.0 / 1.6, 1e-9);
  EXPECT_EQ(h.bound, Bound::sms);
  // MPS is bounded by SM activity (1.2 > 1) and by DRAM when that dominates.
  EXPECT_NEAR(predict(Mechanism::mps, heavy, p).speed[1], 1.0 / 1.2, 1e-9);
  std::vector<Member> bw{{0.5, 0.2, 0.7, 1.0}, {0.5, 0.2, 0.7, 1.0}};
  EXPECT_EQ(predict(Mechanism::mps, bw, p).bound, Bound::bandwidth);
  // MIG: each instance alone at its partition's speed.
  std::vector<Member> mig{{1, 1, 1, 0.4}, {1, 1, 1, 0.6}};
  EXPECT_DOUBLE_EQ(predict(Mechanism::mig, mig, p).speed[1], 0.6);
  EXPECT_DOUBLE_EQ(predict(Mechanism::sequential, mig, p).speed[0], 0.5);
}

TEST(PlanPlanner, LightJobsShareHeavyJobsDoNot) {
  std::vector<PlanJob> light{job("a", make_profile("a", 0.3, 10)),
                             job("b", make_profile("b", 0.3, 10))};
  auto p = make_plan(light, {h200(0)}, opts());
  ASSERT_TRUE(p) << p.error().what();
  ASSERT_EQ(p->groups.size(), 1U);
  EXPECT_GT(p->aggregate, 1.5);
  EXPECT_NE(p->groups[0].mechanism, Mechanism::sequential);

  // Two jobs that each keep the whole GPU busy and need all of its SMs: sharing is predicted
  // below running them one at a time, so the plan says do not collocate.
  std::vector<PlanJob> heavy{job("a", make_profile("a", 1.0, 10, 1.0)),
                             job("b", make_profile("b", 1.0, 10, 1.0))};
  heavy[0].profile.sm_active = 1.0;
  heavy[1].profile.sm_active = 1.0;
  auto q = make_plan(heavy, {h200(0)}, opts());
  ASSERT_TRUE(q) << q.error().what();
  EXPECT_EQ(q->groups[0].mechanism, Mechanism::sequential);
  EXPECT_NE(q->groups[0].why.find("do not collocate"), std::string::npos);
  EXPECT_NEAR(q->aggregate, 1.0, 1e-9);

  // Two GPUs: one job each, nothing to collocate.
  auto r = make_plan(heavy, {h200(0), h200(1)}, opts());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->groups.size(), 2U);
  EXPECT_NEAR(r->aggregate, 2.0, 1e-9);
}

TEST(PlanPlanner, MemoryGuardRefusesWithNumbers) {
  std::vector<PlanJob> jobs{job("a", make_profile("a", 0.2, 90)),
                            job("b", make_profile("b", 0.2, 90))};
  auto p = make_plan(jobs, {h200(0)}, opts());
  ASSERT_TRUE(p) << p.error().what();
  EXPECT_EQ(p->groups[0].mechanism, Mechanism::sequential);
  EXPECT_EQ(p->groups[0].binding, "memory");
  EXPECT_NE(p->groups[0].why.find("180.0 GiB exceeds NVIDIA H200 (141.0 GiB)"), std::string::npos)
      << p->groups[0].why;
  // A job larger than every GPU fits nowhere.
  std::vector<PlanJob> huge{job("big", make_profile("big", 0.2, 200))};
  auto q = make_plan(huge, {h200(0)}, opts());
  ASSERT_FALSE(q);
  EXPECT_NE(q.error().message.find("job 'big' fits no GPU even alone"), std::string::npos);
}

TEST(PlanPlanner, FaultIsolationAvoidsMpsAndMemoryIsolationNeedsMig) {
  std::vector<PlanJob> jobs{job("a", make_profile("a", 0.3, 10), Isolation::fault),
                            job("b", make_profile("b", 0.3, 10))};
  auto p = make_plan(jobs, {h200(0)}, opts());
  ASSERT_TRUE(p) << p.error().what();
  const auto m = p->groups[0].mechanism;
  EXPECT_TRUE(m == Mechanism::timeslice || m == Mechanism::sequential) << to_string(m);
  EXPECT_EQ(p->groups[0].blast_radius, 1);

  jobs[0].job.isolation = Isolation::memory;
  auto q = make_plan(jobs, {h200(0, /*mig=*/true)}, opts());
  ASSERT_TRUE(q) << q.error().what();
  EXPECT_EQ(q->groups[0].mechanism, Mechanism::mig);
  for (const auto& jp : q->groups[0].jobs) {
    ASSERT_TRUE(jp.mig_profile);
  }
  auto placed = place_mig_layout(
      h200(0).mig_table, {*q->groups[0].jobs[0].mig_profile, *q->groups[0].jobs[1].mig_profile});
  EXPECT_TRUE(placed);
}

TEST(PlanPlanner, AGpuInMigModeRunsMigInstancesOnly) {
  std::vector<PlanJob> jobs{job("a", make_profile("a", 0.3, 10)),
                            job("b", make_profile("b", 0.3, 10))};
  auto p = make_plan(jobs, {h200(0, /*mig=*/true)}, opts());
  ASSERT_TRUE(p) << p.error().what();
  const auto m = p->groups[0].mechanism;
  EXPECT_TRUE(m == Mechanism::mig || m == Mechanism::sequential) << to_string(m);
  EXPECT_TRUE(p->groups[0].alternatives.empty());
  auto q = make_plan(jobs, {h200(0)}, opts());
  ASSERT_TRUE(q);
  ASSERT_EQ(q->groups[0].alternatives.size(), 3U);
  EXPECT_EQ(q->groups[0].alternatives[0].mechanism, Mechanism::timeslice);
  EXPECT_EQ(q->groups[0].alternatives[2].jobs[0].thread_percent, 50);
}

TEST(PlanPlanner, SloBindsAndMinThroughputImpossibleIsAnError) {
  std::vector<PlanJob> jobs{job("a", make_profile("a", 0.7, 10, 1.0)),
                            job("b", make_profile("b", 0.7, 10, 1.0))};
  jobs[0].profile.sm_active = 0.7;
  jobs[1].profile.sm_active = 0.7;
  jobs[0].job.max_slowdown = 1.05;  // every sharing mechanism slows it more: one at a time
  auto p = make_plan(jobs, {h200(0)}, opts());
  ASSERT_TRUE(p) << p.error().what();
  EXPECT_EQ(p->groups[0].binding, "SLO");
  EXPECT_EQ(p->groups[0].mechanism, Mechanism::sequential);
  jobs[0].job.max_slowdown.reset();
  jobs[0].job.min_throughput = 5000;  // solo is 1000 samples/s
  auto q = make_plan(jobs, {h200(0)}, opts());
  ASSERT_FALSE(q);
  EXPECT_NE(q.error().message.find("job 'a' fits no GPU"), std::string::npos);
  EXPECT_NE(q.error().message.find("min_throughput"), std::string::npos);
}

TEST(PlanPlanner, PacksManyJobsAndRoundTripsJson) {
  std::vector<PlanJob> jobs;
  std::vector<GpuSlot> gpus;
  for (int i = 0; i < 12; ++i) {
    jobs.push_back(job("j" + std::to_string(i),
                       make_profile("w" + std::to_string(i), 0.15 + 0.05 * (i % 4), 8 + i)));
  }
  for (int g = 0; g < 3; ++g) {
    gpus.push_back(h200(g));
  }
  auto p = make_plan(jobs, gpus, opts());
  ASSERT_TRUE(p) << p.error().what();
  int placed = 0;
  for (const auto& g : p->groups) {
    placed += static_cast<int>(g.jobs.size());
  }
  EXPECT_EQ(placed, 12);
  EXPECT_GT(p->aggregate, 3.0);  // more than one job per GPU's worth
  auto back = plan_from_json(to_json(*p));
  ASSERT_TRUE(back) << back.error().what();
  EXPECT_EQ(to_json(*back), to_json(*p));
  EXPECT_NE(render_text(*p).find("aggregate"), std::string::npos);
}

TEST(PlanPlanner, RightSizeFindsSmallestShares) {
  auto j = job("a", make_profile("a", 0.5, 10, 0.5));
  auto r = right_size(j, h200(0), 0.10);
  ASSERT_TRUE(r.thread_percent);
  EXPECT_EQ(*r.thread_percent, 50);  // the smallest profiled share at >= 0.9 (1.0 at the knee)
  ASSERT_TRUE(r.unmeasured_percent);
  EXPECT_EQ(*r.unmeasured_percent, 45);  // 0.9 on the line from 30% (0.6) to 50% (1.0)
  EXPECT_NEAR(*r.unmeasured_speed, 0.9, 1e-9);
  ASSERT_TRUE(r.mig_profile);
  EXPECT_EQ(*r.mig_profile, "4g.71gb");  // 4/7 = 57%: profiled 50% keeps it; 3g (43%): 30%, no
  EXPECT_FALSE(r.green_sms);
  EXPECT_FALSE(r.green_profiled);
  EXPECT_NE(render_text(r).find("profile that share before using it"), std::string::npos);
  // The answer's JSON reads back (colo serve's right_size takes it).
  auto back = right_size_from_json(to_json(r));
  ASSERT_TRUE(back) << back.error().what();
  EXPECT_EQ(to_json(*back), to_json(r));
  EXPECT_FALSE(right_size_from_json(nlohmann::json{{"job", "a"}}));
}

// A kernel whose grid is sized to every SM (measured on the H200: triad 0.72 from 50% to 90% of
// the SMs, 1.00 at 100%): no share below 100% keeps it within 10%, whatever a line would say.
TEST(PlanPlanner, RightSizeNeverAnswersBetweenProfiledShares) {
  auto p = make_profile("triad", 0.99, 4);
  p.mps_curve = {{0.25, 360}, {0.5, 720}, {1.0, 1000}};
  auto r = right_size(job("t", p), h200(0), 0.10);
  ASSERT_TRUE(r.thread_percent);
  EXPECT_EQ(*r.thread_percent, 100);
  EXPECT_DOUBLE_EQ(*r.mps_speed, 1.0);
  ASSERT_TRUE(r.unmeasured_percent);  // the line from (50%, 0.72) to (100%, 1) crosses 0.9 at 83%
  EXPECT_EQ(*r.unmeasured_percent, 83);
  ASSERT_TRUE(r.mig_profile);
  EXPECT_EQ(*r.mig_profile, "7g.141gb");
  // Profiled at 90% too: the step shows, still 100%.
  p.mps_curve = {{0.5, 720}, {0.9, 700}, {1.0, 1000}};
  r = right_size(job("t", p), h200(0), 0.10);
  EXPECT_EQ(*r.thread_percent, 100);
  // Green: the smallest profiled SM count that keeps it, rounded up to the granularity.
  p.mps_curve = {{0.5, 950}, {1.0, 1000}};
  p.green_curve = {{30.0 / 132, 500}, {66.0 / 132, 950}};
  r = right_size(job("t", p), h200(0), 0.10, 8);
  EXPECT_EQ(*r.thread_percent, 50);
  ASSERT_TRUE(r.unmeasured_percent);  // below the smallest share: the line through (0, 0)
  EXPECT_EQ(*r.unmeasured_percent, 48);
  ASSERT_TRUE(r.green_sms);
  EXPECT_EQ(*r.green_sms, 72);
  EXPECT_NEAR(*r.green_speed, 0.95, 1e-9);
}

TEST(PlanProfile, MeasuredSpeedIsTheLargestProfiledShareBelow) {
  const std::vector<SharePoint> c{{0.25, 250}, {0.5, 700}, {1.0, 1000}};
  EXPECT_DOUBLE_EQ(curve_speed_measured(c, 0.2), 0.0);
  EXPECT_DOUBLE_EQ(curve_speed_measured(c, 0.25), 0.25);
  EXPECT_DOUBLE_EQ(curve_speed_measured(c, 0.99), 0.7);
  EXPECT_DOUBLE_EQ(curve_speed_measured(c, 1.0), 1.0);
  EXPECT_DOUBLE_EQ(curve_speed_measured({}, 0.5), 0.0);
}

TEST(PlanEmit, OneSpecPerGroupWithTheMechanism) {
  std::vector<PlanJob> jobs{job("a", make_profile("w1", 0.3, 10)),
                            job("b", make_profile("w1", 0.3, 10))};
  auto p = make_plan(jobs, {h200(0)}, opts());
  ASSERT_TRUE(p);
  const std::string src =
      "name: src\ngpu: sim\nstop: {duration: 1s}\nmodes: [timeslice]\nworkloads:\n"
      "  - {name: w1, builtin: sim-gpu, args: {duty: 0.3}, copies: [2]}\n";
  auto specs = emit_specs(*p, src, "/base", "mix");
  ASSERT_TRUE(specs) << specs.error().what();
  ASSERT_EQ(specs->size(), 1U);
  const auto& y = (*specs)[0].yaml;
  EXPECT_EQ((*specs)[0].name, "mix-gpu0");
  EXPECT_NE(y.find("name: a"), std::string::npos) << y;
  EXPECT_NE(y.find("cwd: /base/."), std::string::npos) << y;
  EXPECT_EQ(y.find("copies"), std::string::npos) << y;
  EXPECT_NE(y.find("duration: 1s"), std::string::npos) << y;
  // With the rules: the plan's mode and each rule's, each mode once with who it stands for.
  auto ruled = emit_specs(*p, src, "/base", "mix", EmitRules::yes);
  ASSERT_TRUE(ruled) << ruled.error().what();
  const auto& cands = (*ruled)[0].candidates;
  ASSERT_GE(cands.size(), 2U);
  EXPECT_EQ(cands[0].rfind("plan", 0), 0U);
  std::string all;
  for (const auto& c : cands) {
    all += c + ";";
  }
  for (const char* rule : {"always time-slice", "always uncapped MPS", "equal MPS caps"}) {
    EXPECT_NE(all.find(rule), std::string::npos) << all;
  }
  EXPECT_NE((*ruled)[0].yaml.find("timeslice"), std::string::npos);
  auto missing = emit_specs(*p, "workloads: []\n", "/base", "mix");
  EXPECT_FALSE(missing);
  // Every candidate: the rules and the others scored (knee-proportional caps, MIG-equivalent).
  auto every = emit_specs(*p, src, "/base", "mix", EmitRules::all);
  ASSERT_TRUE(every) << every.error().what();
  std::string listed;
  for (const auto& c : (*every)[0].candidates) {
    listed += c + ";";
  }
  ASSERT_FALSE(p->groups[0].others.empty());
  for (const auto& o : p->groups[0].others) {
    EXPECT_NE(listed.find(o.rule), std::string::npos) << listed;
  }
  EXPECT_GT((*every)[0].candidates.size(), cands.size()) << listed;
  EXPECT_NE((*every)[0].yaml.find("mig-equivalent"), std::string::npos) << (*every)[0].yaml;
  // The others survive the plan's JSON.
  auto back = plan_from_json(to_json(*p));
  ASSERT_TRUE(back);
  ASSERT_EQ(back->groups[0].others.size(), p->groups[0].others.size());
  EXPECT_EQ(back->groups[0].others[0].rule, p->groups[0].others[0].rule);
  EXPECT_EQ(back->groups[0].others[0].jobs.size(), 2U);
}

// MIG-equivalent limits each client's memory to its profile's (as colo run's guard does): a job
// larger than every instance but the whole GPU makes the MIG-equivalent candidate a refusal.
TEST(PlanPlanner, MigEquivalentRefusesAJobLargerThanItsInstance) {
  std::vector<PlanJob> jobs{job("hold", make_profile("hold", 0.7, 80.5, 1.0)),
                            job("a", make_profile("a", 0.3, 3, 1.0)),
                            job("b", make_profile("b", 0.2, 1, 1.0))};
  auto p = make_plan(jobs, {h200(0)}, opts());
  ASSERT_TRUE(p) << p.error().what();
  ASSERT_EQ(p->groups.size(), 1U);
  EXPECT_NE(p->groups[0].mechanism, Mechanism::mig_equivalent);
  bool seen = false;
  for (const auto& o : p->groups[0].others) {
    if (o.mechanism == Mechanism::mig_equivalent) {
      seen = true;
      EXPECT_EQ(o.refused_by, "memory") << o.refused;
      EXPECT_NE(o.refused.find("job 'hold' needs 80.5 GiB"), std::string::npos) << o.refused;
    }
  }
  EXPECT_TRUE(seen);
}

// The H200 validation's jobs files and their workloads spec (bench/specs/h200-plan-*) parse, and
// every job names a workload of the spec.
TEST(PlanJobs, ShippedJobsFilesParse) {
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(COLO_SOURCE_DIR "/bench/specs")) {
    const auto path = e.path().string();
    if (!path.ends_with(".jobs.yaml")) {
      continue;
    }
    ++files;
    auto f = parse_jobs(read(path), path, e.path().parent_path().string());
    ASSERT_TRUE(f) << f.error().what();
    auto spec = load_spec(f->spec);
    ASSERT_TRUE(spec) << spec.error().what();
    for (const auto& j : f->jobs) {
      EXPECT_NE(spec->find_workload(j.workload), nullptr) << path << ": " << j.name;
    }
  }
  EXPECT_GE(files, 9);
}

TEST(PlanFit, RefittingTheCommittedObservationsGivesTheShippedParameters) {
  auto fit = observations_from_csv(read(COLO_SOURCE_DIR "/bench/results/plan-fit/fit.csv"));
  ASSERT_TRUE(fit) << fit.error().what();
  ASSERT_GE(fit->size(), 10U);
  const auto p = fit_model(*fit);
  EXPECT_DOUBLE_EQ(p.ts_capacity, k_fitted.ts_capacity);
  EXPECT_DOUBLE_EQ(p.mps_capacity, k_fitted.mps_capacity);
  EXPECT_DOUBLE_EQ(p.bw_capacity, k_fitted.bw_capacity);
  EXPECT_DOUBLE_EQ(p.ts_overhead, k_fitted.ts_overhead);
  EXPECT_DOUBLE_EQ(p.mps_overhead, k_fitted.mps_overhead);
  // The fitted model beats the uncalibrated one (capacities 1, no overheads) where it was fitted.
  EXPECT_LT(aggregate_mape(*fit, k_fitted), aggregate_mape(*fit, ModelParams{}));
  auto test = observations_from_csv(read(COLO_SOURCE_DIR "/bench/results/plan-fit/test.csv"));
  ASSERT_TRUE(test) << test.error().what();
  ASSERT_GE(test->size(), 8U);
  EXPECT_FALSE(observations_from_csv("h\na,bogus,0,1,1,1,1,1\n"));
  EXPECT_FALSE(observations_from_csv("h\na,mps,0,1,1,1,1,1,1,1\n"));
}

// The MPS weights: refitting them on the first H200 validation's mixes reproduces the shipped
// ones, and they predict the held-out mixes' members better than a common stretch.
TEST(PlanFit, MpsWeightsRefitAndBeatACommonStretchOnHeldOutMixes) {
  auto fit = observations_from_csv(read(COLO_SOURCE_DIR "/bench/results/plan-fit/mixes-fit.csv"));
  auto test = observations_from_csv(read(COLO_SOURCE_DIR "/bench/results/plan-fit/mixes-test.csv"));
  ASSERT_TRUE(fit) << fit.error().what();
  ASSERT_TRUE(test) << test.error().what();
  ASSERT_GE(fit->size(), 10U);
  ASSERT_GE(test->size(), 10U);
  const auto p = fit_mps_weights(*fit, k_fitted);
  EXPECT_DOUBLE_EQ(p.mps_weight_exp, k_fitted.mps_weight_exp);
  EXPECT_DOUBLE_EQ(p.mps_occupancy_weight, k_fitted.mps_occupancy_weight);
  ModelParams common = k_fitted;
  common.mps_weight_exp = 1.0;
  common.mps_occupancy_weight = 0.0;
  EXPECT_LT(member_mae(*test, k_fitted), member_mae(*test, common));
}

// Unequal MPS weights: the heavier, fuller job keeps its speed and the light one loses; equal
// weights give the common stretch of the other mechanisms; jobs that fit are not slowed.
TEST(PlanModel, WeightedMpsFavoursTheJobThatFillsTheSms) {
  ModelParams p;
  p.mps_capacity = 0.9;
  const Member light{0.3, 0.25, 0.0, 1.0, 0.06};
  const Member heavy{0.95, 0.85, 0.0, 1.0, 0.9};
  const auto common = predict(Mechanism::mps, {light, heavy}, p);
  EXPECT_NEAR(common.speed[0], 0.9 / 1.1, 1e-9);
  EXPECT_NEAR(common.speed[1], 0.9 / 1.1, 1e-9);
  p.mps_occupancy_weight = 2.0;
  const auto weighted = predict(Mechanism::mps, {light, heavy}, p);
  EXPECT_LT(weighted.speed[0], common.speed[0]);
  EXPECT_GT(weighted.speed[1], common.speed[1]);
  EXPECT_EQ(weighted.bound, Bound::sms);
  // Capacity is conserved: the allocations sum to C_mps.
  EXPECT_NEAR(weighted.speed[0] * 0.25 + weighted.speed[1] * 0.85, 0.9, 1e-9);
  // Two light jobs fit: no one slows down, whatever the weights.
  const auto fits = predict(Mechanism::mps, {light, light}, p);
  EXPECT_DOUBLE_EQ(fits.speed[0], 1.0);
  EXPECT_DOUBLE_EQ(fits.speed[1], 1.0);
  // A job whose weighted share exceeds its demand is served in full; the rest goes to the other.
  const Member small{0.1, 0.05, 0.0, 1.0, 0.9};
  const Member sparse{0.95, 0.85, 0.0, 1.0, 0.0};
  const auto served = predict(Mechanism::mps, {small, sparse, sparse}, p);
  EXPECT_DOUBLE_EQ(served.speed[0], 1.0);
  EXPECT_NEAR(served.speed[1], (0.9 - 0.05) / 2 / 0.85, 1e-9);
}

}  // namespace
}  // namespace colo::plan
