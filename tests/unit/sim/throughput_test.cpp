// colo sim's effective throughput (sim/throughput.hpp): the measured table, its interpolation
// and clamp, the per-GPU pod counts it is summed over, and its path into results and JSON.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "sim/batch.hpp"
#include "sim/experiment.hpp"
#include "sim/sim_json.hpp"
#include "sim/throughput.hpp"

namespace colo::csim {
namespace {

// The table's value for (job, m, copies); NaN when it has none.
double measured(const std::string& job, Mechanism m, int copies) {
  for (const auto& p : speedup_table()) {
    if (job == p.job && p.mechanism == m && p.copies == copies) {
      return p.speedup;
    }
  }
  return std::nan("");
}

TEST(Throughput, TableHasEveryJobMechanismAndCountWithItsSource) {
  EXPECT_EQ(job_names(), (std::vector<std::string>{"resnet18", "transformer", "resnet50"}));
  for (const auto& job : job_names()) {
    for (const auto m : {Mechanism::timeslice, Mechanism::mps}) {
      for (const int n : {2, 4, 7}) {
        EXPECT_TRUE(std::isfinite(measured(job, m, n))) << job << " " << n;
      }
    }
  }
  for (const auto& p : speedup_table()) {
    EXPECT_EQ(std::string(p.source).rfind(k_speedup_source, 0), 0U) << p.source;
    EXPECT_GT(p.speedup, 0);
  }
  EXPECT_TRUE(check_job(k_default_job));
  auto bad = check_job("vgg");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().what().find("resnet18|transformer|resnet50"), std::string::npos);
}

TEST(Throughput, InterpolatesBetweenMeasuredCountsAndClampsBeyond) {
  for (const auto& job : job_names()) {
    for (const auto m : {Mechanism::timeslice, Mechanism::mps}) {
      EXPECT_DOUBLE_EQ(aggregate_speedup(job, m, 0), 0);
      EXPECT_DOUBLE_EQ(aggregate_speedup(job, m, 1), 1);
      for (const int n : {2, 4, 7}) {
        EXPECT_DOUBLE_EQ(aggregate_speedup(job, m, n), measured(job, m, n));
      }
      const double s2 = measured(job, m, 2);
      const double s4 = measured(job, m, 4);
      const double s7 = measured(job, m, 7);
      EXPECT_DOUBLE_EQ(aggregate_speedup(job, m, 3), (s2 + s4) / 2);
      EXPECT_DOUBLE_EQ(aggregate_speedup(job, m, 5), s4 + (s7 - s4) / 3);
      EXPECT_DOUBLE_EQ(aggregate_speedup(job, m, 8), s7);
      EXPECT_DOUBLE_EQ(aggregate_speedup(job, m, 48), s7);
    }
    EXPECT_DOUBLE_EQ(aggregate_speedup(job, Mechanism::fractional, 5), 5);
    EXPECT_TRUE(std::isnan(aggregate_speedup(job, Mechanism::mig, 2)));
  }
  EXPECT_TRUE(std::isnan(aggregate_speedup("vgg", Mechanism::mps, 2)));
}

// Four shares on GPU 0, a whole-GPU pod on GPU 1, GPU 2 idle.
TEST(Throughput, SumsTheSpeedUpOfEachGpusPodCount) {
  Cluster c({{"a", 64000, 262144, 3, "X"}});
  const Demand share{1000, 1024, 1, 250};
  const Demand whole{1000, 1024, 1, 1000};
  Placement p0;
  p0.node = 0;
  p0.ngpu = 1;
  p0.gpu[0] = 0;
  Placement p1 = p0;
  p1.gpu[0] = 1;
  for (int i = 0; i < 4; ++i) {
    c.apply(p0, share, +1);
  }
  c.apply(p1, whole, +1);
  EXPECT_EQ(c.nodes[0].pods[0], 4);
  EXPECT_EQ(c.nodes[0].pods[1], 1);
  EXPECT_EQ(c.nodes[0].pods[2], 0);
  const std::string job = "resnet50";
  EXPECT_DOUBLE_EQ(effective_throughput(c, job, Mechanism::fractional), 5);
  EXPECT_DOUBLE_EQ(effective_throughput(c, job, Mechanism::timeslice),
                   measured(job, Mechanism::timeslice, 4) + 1);
  EXPECT_DOUBLE_EQ(effective_throughput(c, job, Mechanism::mps),
                   measured(job, Mechanism::mps, 4) + 1);
  EXPECT_TRUE(std::isnan(effective_throughput(c, job, Mechanism::mig)));
  c.apply(p0, share, -1);
  EXPECT_DOUBLE_EQ(effective_throughput(c, job, Mechanism::timeslice),
                   aggregate_speedup(job, Mechanism::timeslice, 3) + 1);
}

std::vector<TraceNode> nodes4() {
  return {{"a", 96000, 393216, 4, "X"}, {"b", 96000, 393216, 4, "X"}};
}
std::vector<TracePod> pods_mix() {
  std::vector<TracePod> pods;
  for (int i = 0; i < 6; ++i) {
    TracePod p;
    p.name = "p" + std::to_string(i);
    p.cpu_milli = 2000;
    p.memory_mib = 1024;
    p.num_gpu = 1;
    p.gpu_milli = i % 3 == 0 ? 1000 : 250;
    pods.push_back(p);
  }
  return pods;
}

TEST(Throughput, InflateAndBatchCarryItThroughJson) {
  SimSpec spec;
  spec.policies = {"fgd"};
  spec.load = 0.9;
  spec.mechanisms = {Mechanism::fractional, Mechanism::timeslice, Mechanism::mig};
  spec.job = "transformer";
  SimContext ctx;
  ctx.mode = "inflate";
  auto runs = run_batch(nodes4(), pods_mix(), spec, ctx, 1);
  ASSERT_TRUE(runs) << runs.error().what();
  ASSERT_EQ(runs->size(), 3U);
  for (const auto& r : *runs) {
    const auto& x = *r.inflate;
    EXPECT_EQ(x.job, "transformer");
    // Without interference every pod counts 1: at least the whole GPUs held, at most the pods.
    EXPECT_GE(x.throughput_ideal, x.final_pct / 100 * 8 - 1e-9);
    if (x.mechanism == "fractional") {
      EXPECT_DOUBLE_EQ(x.throughput, x.throughput_ideal);
    } else if (x.mechanism == "timeslice") {
      // Transformer loses to time-slicing (1.61x for 2 copies), and shares do share here.
      EXPECT_LT(x.throughput, x.throughput_ideal);
    } else {
      EXPECT_TRUE(std::isnan(x.throughput));
    }
    const auto back = nlohmann::json(r).get<SimRun>();
    EXPECT_EQ(back.inflate->job, x.job);
    EXPECT_DOUBLE_EQ(back.inflate->throughput_ideal, x.throughput_ideal);
    EXPECT_EQ(std::isnan(back.inflate->throughput), std::isnan(x.throughput));
    if (!std::isnan(x.throughput)) {
      EXPECT_DOUBLE_EQ(back.inflate->throughput, x.throughput);
    }
  }
  InflateOptions o;
  o.job = "vgg";
  auto bad = inflate(nodes4(), pods_mix(), "fgd", o);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().what().find("unknown job 'vgg'"), std::string::npos);
}

}  // namespace
}  // namespace colo::csim
