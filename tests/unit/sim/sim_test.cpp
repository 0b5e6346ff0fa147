// colo sim: trace parsing errors, FGD's fragmentation on hand-checked nodes, each policy's
// decision on tiny clusters, and properties (capacity, constraints, determinism).
#include <gtest/gtest.h>

#include <algorithm>
#include <array>

#include <fstream>
#include <random>

#include "sim/batch.hpp"
#include "sim/bound.hpp"
#include "sim/cluster.hpp"
#include "sim/experiment.hpp"
#include "sim/gorand.hpp"
#include "sim/sim_json.hpp"
#include "sim/trace.hpp"

namespace colo::csim {
namespace {

const char* k_nodes = "sn,cpu_milli,memory_mib,gpu,model\n";
const char* k_pods =
    "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,"
    "deletion_time,scheduled_time\n";

TEST(Trace, ParsesThePublishedFormat) {
  auto n = parse_nodes(std::string(k_nodes) + "a,32000,262144,0,\nb,64000,262144,2,P100\n", "n");
  ASSERT_TRUE(n) << n.error().what();
  ASSERT_EQ(n->size(), 2U);
  EXPECT_EQ((*n)[1].gpus, 2);
  EXPECT_EQ((*n)[1].model, "P100");
  EXPECT_EQ((*n)[0].model, "");
  auto p = parse_pods(std::string(k_pods) +
                          "p0,12000,16384,1,460,,LS,Running,0,100,0\n"
                          "p1,6000,12288,2,1000,V100M16|V100M32,LS,Running,5,50,5\n"
                          "p2,1000,100,0,0,,BE,Running,1,2,1\n",
                      "p");
  ASSERT_TRUE(p) << p.error().what();
  EXPECT_EQ((*p)[0].gpu_milli, 460);
  EXPECT_EQ((*p)[1].gpu_spec, (std::vector<std::string>{"V100M16", "V100M32"}));
  EXPECT_EQ(pod_type((*p)[0]), "share");
  EXPECT_EQ(pod_type((*p)[1]), "2gpu");
  EXPECT_EQ(pod_type((*p)[2]), "cpu");
}

TEST(Trace, MalformedRowsNameFileLineAndColumn) {
  auto a = parse_nodes(std::string(k_nodes) + "a,32000,262144,two,P100\n", "nodes.csv");
  ASSERT_FALSE(a);
  EXPECT_NE(a.error().message.find("nodes.csv:2: gpu: 'two' is not an integer"), std::string::npos)
      << a.error().message;
  auto b = parse_pods(std::string(k_pods) + "p0,1,1,2,500,,LS,Running,0,1,0\n", "pods.csv");
  ASSERT_FALSE(b);
  EXPECT_NE(b.error().message.find("pods.csv:2: gpu_milli: 500 with num_gpu 2"), std::string::npos)
      << b.error().message;
  auto c = parse_pods(std::string(k_pods) + "p0,1,1\n", "pods.csv");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("pods.csv:2: 3 fields, the header has 11"), std::string::npos);
  auto d = parse_nodes("sn,cpu,memory_mib,gpu,model\n", "n.csv");
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().message.find("missing column 'cpu_milli'"), std::string::npos);
  auto e = parse_nodes(std::string(k_nodes) + "a,1,1,9,X\n", "n.csv");
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message.find("outside 0..8"), std::string::npos);
  EXPECT_FALSE(load_pods("/nonexistent.csv"));
}

NodeState node(std::vector<int> free, std::int64_t cpu = 64000, int model = 0) {
  NodeState n;
  n.cpu_free = cpu;
  n.mem_free = 1 << 20;
  n.gpus = static_cast<int>(free.size());
  for (std::size_t i = 0; i < free.size(); ++i) {
    n.gpu_free[i] = free[i];
  }
  n.model = model;
  return n;
}

TypicalPod typ(int num_gpu, int milli, double p, std::int64_t cpu = 1000) {
  TypicalPod t;
  t.demand.cpu = cpu;
  t.demand.num_gpu = num_gpu;
  t.demand.milli = milli;
  t.p = p;
  return t;
}

// Worked examples of the definition (docs/sim.md): free GPUs a typical pod could not use.
TEST(Fragmentation, HandCheckedNodes) {
  const std::vector<TypicalPod> m = {typ(1, 500, 0.5), typ(1, 1000, 0.5)};
  // [1000, 300]: both pods run; 300 < 500 and 300 < 1000 are unusable: 0.5*300 + 0.5*300.
  EXPECT_DOUBLE_EQ(node_fragmentation(node({1000, 300}), m), 300.0);
  // [600, 300]: the share runs (300 unusable), the whole-GPU pod cannot run (900 unusable).
  EXPECT_DOUBLE_EQ(node_fragmentation(node({600, 300}), m), 0.5 * 300 + 0.5 * 900);
  // Idle and full nodes have none.
  EXPECT_DOUBLE_EQ(node_fragmentation(node({1000, 1000}), m), 0.0);
  EXPECT_DOUBLE_EQ(node_fragmentation(node({0, 0}), m), 0.0);
  // Without CPU for either pod, every free GPU is a fragment.
  EXPECT_DOUBLE_EQ(node_fragmentation(node({1000, 300}, 500), m), 1300.0);
  // A 2-GPU pod on a node with one free GPU: all free GPU is a fragment for it.
  EXPECT_DOUBLE_EQ(node_fragmentation(node({1000, 200}), {typ(2, 1000, 1.0)}), 1200.0);
  // GPU model constraint: a pod for model 1 cannot use this model-0 node at all.
  auto other = typ(1, 500, 1.0);
  other.demand.model_mask = 1U << 1;
  EXPECT_DOUBLE_EQ(node_fragmentation(node({1000, 300}), {other}), 1300.0);
}

std::vector<TraceNode> two_nodes() {
  return {{"a", 64000, 262144, 2, "G"}, {"b", 64000, 262144, 2, "G"}};
}

Demand want(int num_gpu, int milli) {
  return {1000, 1000, num_gpu, milli, 0};
}

Placement place_on(Cluster& c, const std::string& policy, const Demand& d,
                   std::vector<TypicalPod> target = {}) {
  auto p = make_policy(policy, std::move(target));
  EXPECT_TRUE(p);
  std::mt19937_64 rng(7);
  return (*p)->place(c, d, rng);
}

TEST(Policies, DecisionsOnATinyCluster) {
  Cluster c(two_nodes());
  // Node b has GPU 1 half used.
  c.apply({1, 1, {1}}, want(1, 500), +1);
  EXPECT_EQ(place_on(c, "firstfit", want(1, 500)).node, 0);
  // Best fit: the fuller node; within it the fuller GPU.
  auto bf = place_on(c, "bestfit", want(1, 500));
  EXPECT_EQ(bf.node, 1);
  EXPECT_EQ(bf.gpu[0], 1);
  // Packing: the already shared GPU.
  auto pk = place_on(c, "packing", want(1, 500));
  EXPECT_EQ(pk.node, 1);
  EXPECT_EQ(pk.gpu[0], 1);
  // FGD against a workload of whole-GPU pods: filling b's half GPU removes its fragment
  // (delta -500); every other choice adds one (+500).
  auto fg = place_on(c, "fgd", want(1, 500), {typ(1, 1000, 1.0)});
  EXPECT_EQ(fg.node, 1);
  EXPECT_EQ(fg.gpu[0], 1);
  // A 2-GPU pod only fits the idle node.
  EXPECT_EQ(place_on(c, "fgd", want(2, 1000), {typ(1, 1000, 1.0)}).node, 0);
  EXPECT_EQ(place_on(c, "dotprod", want(2, 1000)).node, 0);
  // Nothing fits a 4-GPU pod.
  EXPECT_EQ(place_on(c, "random", want(4, 1000)).node, -1);
  EXPECT_FALSE(make_policy("magic", {}));
}

TEST(Policies, ColoBreaksFgdTiesByPacking) {
  // Three idle nodes, a target of shares: any GPU is an equally good FGD choice; colo keeps
  // to the node already in use.
  Cluster c(
      {{"a", 64000, 262144, 2, "G"}, {"b", 64000, 262144, 2, "G"}, {"c", 64000, 262144, 2, "G"}});
  c.apply({2, 1, {0}}, want(1, 1000), +1);
  auto p = place_on(c, "colo", want(1, 1000), {typ(1, 1000, 1.0)});
  EXPECT_EQ(p.node, 2);
}

// colo in the artifact's formulas: where FGD's integer scores tie, the node whose free CPU and
// GPU are left nearer the target workload's proportion (here 2 CPUs per GPU). A CPU-only pod of
// 4 CPUs leaves FGD's measure unchanged on both nodes; FGD takes the first node in the tie order
// (the CPU-poor one: 6 CPUs for 2 GPUs, 2 left after it), colo the CPU-rich one.
TEST(Policies, ColoArtifactBalancesCpuAgainstGpuOnTies) {
  Cluster c({{"poor", 6000, 262144, 2, "G"}, {"rich", 64000, 262144, 2, "G"}});
  const std::vector<TypicalPod> target = {typ(1, 1000, 1.0, 2000)};
  PolicyOptions o;
  o.sw = switches_for(Semantics::artifact);
  Demand cpu_pod{4000, 1000, 0, 0, 0};
  std::mt19937_64 rng(7);
  auto fgd = make_policy("fgd", target, o);
  auto colo = make_policy("colo", target, o);
  ASSERT_TRUE(fgd && colo);
  EXPECT_EQ((*fgd)->place(c, cpu_pod, rng).node, 0);
  EXPECT_EQ((*colo)->place(c, cpu_pod, rng).node, 1);
  // A GPU pod of 1 GPU and 2 CPUs: both nodes keep their fragmentation (whole GPUs stay) and
  // their imbalance (it takes CPU and GPU in the proportion): the tie order decides for colo too.
  Demand gpu_pod{2000, 1000, 1, 1000, 0};
  EXPECT_EQ((*colo)->place(c, gpu_pod, rng).node, 0);
}

// Ties are broken uniformly over nodes even though identical nodes are scored as one group:
// three idle GPU nodes (one group) and a CPU-only node tie for a CPU pod (delta 0 everywhere),
// so the CPU-only node gets about a quarter of the picks (a half if groups were weighted alike).
TEST(Policies, TiesAreUniformOverNodesNotGroups) {
  Cluster c({{"a", 64000, 262144, 2, "G"},
             {"b", 64000, 262144, 2, "G"},
             {"c", 64000, 262144, 2, "G"},
             {"cpu", 64000, 262144, 0, ""}});
  for (const char* name : {"fgd", "random"}) {
    auto policy = make_policy(name, {typ(1, 1000, 1.0)});
    ASSERT_TRUE(policy);
    std::array<int, 4> picks{};
    std::mt19937_64 rng(11);
    const int n = 4000;
    for (int i = 0; i < n; ++i) {
      const auto p = (*policy)->place(c, {1000, 1000, 0, 0, 0}, rng);
      ASSERT_GE(p.node, 0);
      ++picks[static_cast<std::size_t>(p.node)];
    }
    for (int k = 0; k < 4; ++k) {
      EXPECT_NEAR(picks[static_cast<std::size_t>(k)], n / 4, n / 20) << name << " node " << k;
    }
  }
}

std::vector<TracePod> mixed_pods(int n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  const int shares[] = {100, 250, 460, 500, 700};
  std::vector<TracePod> out;
  for (int i = 0; i < n; ++i) {
    TracePod p;
    p.name = "p" + std::to_string(i);
    p.cpu_milli = 1000 + static_cast<std::int64_t>(rng() % 8) * 1000;
    p.memory_mib = 1024;
    const auto k = rng() % 10;
    p.num_gpu = k < 1 ? 0 : k < 6 ? 1 : k < 9 ? 1 : (k == 9 ? 2 : 4);
    p.gpu_milli = p.num_gpu == 0 ? 0 : (k < 6 ? shares[rng() % 5] : 1000);
    if (rng() % 4 == 0 && p.num_gpu > 0) {
      p.gpu_spec = {"G2"};
    }
    p.creation = i;
    p.deletion = i + 1 + static_cast<std::int64_t>(rng() % 50);
    out.push_back(p);
  }
  return out;
}

std::vector<TraceNode> mixed_nodes() {
  std::vector<TraceNode> n;
  for (int i = 0; i < 12; ++i) {
    n.push_back({"n" + std::to_string(i), 32000, 65536, i % 3 == 0 ? 8 : 4, i % 2 ? "G1" : "G2"});
  }
  n.push_back({"cpu", 32000, 65536, 0, ""});
  return n;
}

// Properties for every policy: no node over capacity, every placed pod on a node that meets
// its model constraint, and the same seed gives the same result.
TEST(Policies, NeverOverCapacityAndHonourConstraints) {
  const auto nodes = mixed_nodes();
  const auto pods = mixed_pods(400, 3);
  for (const auto& name : policy_names()) {
    Cluster c(nodes);
    auto pol = make_policy(name, typical_pods(c, pods));
    ASSERT_TRUE(pol);
    std::mt19937_64 rng(11);
    for (const auto& tp : pods) {
      const auto d = c.demand_of(tp);
      const auto pl = (*pol)->place(c, d, rng);
      if (pl.node < 0) {
        continue;
      }
      ASSERT_TRUE(c.fits(c.nodes[static_cast<std::size_t>(pl.node)], d)) << name;
      ASSERT_EQ(pl.ngpu, d.num_gpu) << name;
      if (!tp.gpu_spec.empty()) {
        ASSERT_EQ(
            c.models[static_cast<std::size_t>(c.nodes[static_cast<std::size_t>(pl.node)].model)],
            "G2")
            << name;
      }
      c.apply(pl, d, +1);
      (*pol)->changed(c, pl.node);
      const auto& n = c.nodes[static_cast<std::size_t>(pl.node)];
      ASSERT_GE(n.cpu_free, 0) << name;
      ASSERT_GE(n.mem_free, 0) << name;
      for (int g = 0; g < n.gpus; ++g) {
        ASSERT_GE(n.gpu_free[static_cast<std::size_t>(g)], 0) << name;
        ASSERT_LE(n.gpu_free[static_cast<std::size_t>(g)], k_milli) << name;
      }
    }
  }
}

TEST(Experiments, InflateIsDeterministicAndReachesTheLoad) {
  const auto nodes = mixed_nodes();
  const auto pods = mixed_pods(300, 5);
  for (const auto& name : {"random", "fgd", "colo"}) {
    auto a = inflate(nodes, pods, name, 1.3, 42);
    auto b = inflate(nodes, pods, name, 1.3, 42);
    ASSERT_TRUE(a && b);
    ASSERT_EQ(a->curve.size(), b->curve.size());
    for (std::size_t i = 0; i < a->curve.size(); ++i) {
      EXPECT_EQ(a->curve[i].allocated_pct, b->curve[i].allocated_pct) << name;
    }
    EXPECT_GE(a->curve.back().requested_pct, 129);
    EXPECT_LE(a->allocated_pct, 100.0);
    EXPECT_GT(a->allocated_pct, 50.0);
    for (std::size_t i = 1; i < a->curve.size(); ++i) {
      EXPECT_GE(a->curve[i].allocated_pct, a->curve[i - 1].allocated_pct);  // never deleted
    }
  }
  EXPECT_FALSE(inflate(nodes, {}, "fgd", 1.3, 1));
  EXPECT_FALSE(inflate(nodes, pods, "nope", 1.3, 1));
}

TEST(Experiments, ColoCalibratesItsTargetWeightsOnPilotRunsOnly) {
  const auto nodes = mixed_nodes();
  const auto pods = mixed_pods(300, 5);
  auto w1 = calibrate_colo(nodes, pods, 3);
  auto w2 = calibrate_colo(nodes, pods, 3);
  ASSERT_TRUE(w1 && w2);
  EXPECT_EQ(*w1, *w2);
  EXPECT_TRUE(*w1 == 0.0 || *w1 == 0.5 || *w1 == -0.5) << *w1;
  auto colo = inflate(nodes, pods, "colo", 1.3, 3);
  ASSERT_TRUE(colo);
  EXPECT_EQ(colo->colo_gpu_weight, *w1);
  auto fgd = inflate(nodes, pods, "fgd", 1.3, 3);
  EXPECT_FALSE(fgd->colo_gpu_weight.has_value());
  auto rep = replay(nodes, pods, "colo", 3);
  ASSERT_TRUE(rep);
  EXPECT_EQ(rep->colo_gpu_weight, *w1);
  EXPECT_FALSE(calibrate_colo(nodes, {}, 1));
}

TEST(Experiments, ReplayQueuesWhatDoesNotFitAndFinishesEverything) {
  // One node of 1 GPU; three whole-GPU pods arriving together, 10 s each: they run one after
  // another (queueing delays 0, 10, 20 s).
  std::vector<TraceNode> nodes = {{"n", 32000, 65536, 1, "G"}};
  std::vector<TracePod> pods;
  for (int i = 0; i < 3; ++i) {
    TracePod p;
    p.name = "p" + std::to_string(i);
    p.cpu_milli = 1000;
    p.memory_mib = 1;
    p.num_gpu = 1;
    p.gpu_milli = 1000;
    p.creation = 100;
    p.deletion = 110;
    pods.push_back(p);
  }
  auto r = replay(nodes, pods, "fgd", 1);
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->scheduled, 3);
  EXPECT_EQ(r->completed, 3);
  EXPECT_EQ(r->never_scheduled, 0);
  EXPECT_DOUBLE_EQ(r->delay_mean_s, 10.0);
  EXPECT_DOUBLE_EQ(r->delay_p99_s, 20.0);
  EXPECT_DOUBLE_EQ(r->jct_mean_s, 20.0);  // 10, 20, 30 s
  EXPECT_DOUBLE_EQ(r->jct_p99_s, 30.0);
  EXPECT_DOUBLE_EQ(r->makespan_s, 30.0);
  ASSERT_EQ(r->utilization.size(), 200U);  // peak per bin: the one GPU is busy throughout
  EXPECT_DOUBLE_EQ(r->utilization.front().first, 100.0);
  for (const auto& [t, u] : r->utilization) {
    EXPECT_DOUBLE_EQ(u, 100.0) << t;
  }
  auto twice = replay(nodes, pods, "fgd", 1, 2.0);  // load 2: every pod twice
  ASSERT_TRUE(twice);
  EXPECT_EQ(twice->pods, 6);
  EXPECT_DOUBLE_EQ(twice->delay_mean_s, 25.0);
}

TEST(Experiments, ResampleHitsTheRequestedMix) {
  const auto pods = mixed_pods(2000, 9);
  auto v = resample(pods, 0.8, 0.05, 1);
  ASSERT_TRUE(v);
  ASSERT_EQ(v->size(), pods.size());
  double gpu = 0;
  double share = 0;
  double multi = 0;
  for (const auto& p : *v) {
    const auto t = pod_type(p);
    gpu += t != "cpu" ? 1 : 0;
    share += t == "share" ? 1 : 0;
    multi += (t == "2gpu" || t == "4gpu") ? 1 : 0;
  }
  EXPECT_NEAR(share / gpu, 0.8, 0.04);
  EXPECT_NEAR(multi / gpu, 0.05, 0.02);
  EXPECT_FALSE(resample(pods, 0.8, 0.5, 1));  // over 1
}

TEST(Experiments, ResampleMakesACpuHeavyVariant) {
  const auto pods = mixed_pods(2000, 9);
  auto v = resample(pods, -1, -1, 1, 0.4);
  ASSERT_TRUE(v);
  double cpu = 0;
  for (const auto& p : *v) {
    cpu += pod_type(p) == "cpu" ? 1 : 0;
  }
  EXPECT_NEAR(cpu / static_cast<double>(v->size()), 0.4, 0.03);
  EXPECT_FALSE(resample(pods, -1, -1, 1, 1.0));  // no GPU pods left
  std::vector<TracePod> gpu_only;
  for (const auto& p : pods) {
    if (p.num_gpu > 0) {
      gpu_only.push_back(p);
    }
  }
  auto e = resample(gpu_only, -1, -1, 1, 0.2);
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message.find("no CPU-only pods"), std::string::npos) << e.error().message;
}

// Go's math/rand with rand.Seed(1): the first rand.Int() and the first ten rand.Intn(100) are
// the values every Go program printed before Go 1.20 (the "Go playground" numbers).
TEST(GoRand, MatchesGosMathRand) {
  GoRand a(1);
  EXPECT_EQ(a.go_int(), 5577006791947779410LL);
  GoRand b(1);
  std::vector<int> got;
  for (int i = 0; i < 10; ++i) {
    got.push_back(b.intn(100));
  }
  EXPECT_EQ(got, (std::vector<int>{81, 87, 47, 59, 81, 18, 25, 40, 56, 0}));
  GoRand c(7);
  auto p = c.perm(50);
  std::sort(p.begin(), p.end());
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(p[static_cast<std::size_t>(i)], i);
  }
}

TEST(Trace, ByteOrderMarkAndMinimalColumnsAreAccepted) {
  auto n = parse_nodes("\xEF\xBB\xBFsn,cpu_milli,gpu\na,32000,2\n", "n.csv");
  ASSERT_TRUE(n) << n.error().what();
  EXPECT_EQ((*n)[0].model, "GPU");
  // The published multi-GPU pod lists: name,cpu_milli,memory_mib,num_gpu,gpu_milli only.
  auto p = parse_pods(
      "\xEF\xBB\xBFname,cpu_milli,memory_mib,num_gpu,gpu_milli\np0,1000,10,2,1000\n", "p.csv");
  ASSERT_TRUE(p) << p.error().what();
  EXPECT_EQ((*p)[0].num_gpu, 2);
  EXPECT_FALSE((*p)[0].timed);
  auto r = replay({{"a", 32000, 1000, 2, "G"}}, *p, "fgd", 1);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("creation_time"), std::string::npos);
}

TEST(Experiments, ATraceWithoutGpuPodsIsRefusedAtOnce) {
  auto p = parse_pods(std::string(k_pods) + "p0,1000,10,0,0,,LS,Running,0,1,0\n", "p");
  ASSERT_TRUE(p);
  for (const auto sem : {Semantics::artifact, Semantics::exact}) {
    InflateOptions o;
    o.sw = switches_for(sem);
    auto r = inflate({{"a", 32000, 1000, 2, "G"}}, *p, "fgd", o);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("no GPU pods"), std::string::npos) << r.error().message;
  }
}

// The artifact's run of FGD, seed 42, on the default trace: until the first pod fails (about
// 92% requested) the allocation curve depends only on the workload, so colo must match the
// artifact's published curve (experiments/analysis/expected_results/analysis_allo_discrete.csv,
// openb_pod_list_default, 06-FGD, seed 42) to the last digit: same Go generator, same shuffle,
// same tuning, same metric.
TEST(Experiments, ArtifactWorkloadMatchesThePublishedCurve) {
  const std::string dir = COLO_SOURCE_DIR "/data/alibaba-gpu-v2023/";
  auto nodes = load_nodes(dir + "openb_node_list_gpu_node.csv");
  auto pods = load_pods(dir + "openb_pod_list_default.csv");
  if (!nodes || !pods) {
    GTEST_SKIP() << "the shipped trace is missing";
  }
  InflateOptions o;
  o.seed = 42;
  auto r = inflate(*nodes, *pods, "fgd", o);
  ASSERT_TRUE(r) << r.error().what();
  ASSERT_EQ(r->curve.size(), 130U);
  const std::vector<std::pair<int, double>> published = {
      {10, 10.03}, {50, 49.95}, {80, 79.99}, {90, 89.98}, {92, 92.02}};
  for (const auto& [bin, v] : published) {
    EXPECT_DOUBLE_EQ(r->curve[static_cast<std::size_t>(bin - 1)].allocated_pct, v) << bin;
  }
  EXPECT_EQ(r->semantics, "artifact");
  EXPECT_NEAR(r->allocated_pct, 95.29, 0.5);  // published 95.29 for this seed
}

TEST(Batch, RunsEveryPolicyAndSeedInOrderAndRoundTripsThroughJson) {
  SimSpec spec;
  spec.policies = {"bestfit", "fgd"};
  spec.repeat = 2;
  spec.load = 1.0;
  SimContext ctx;
  ctx.mode = "inflate";
  ctx.semantics = "artifact";
  ctx.load = 1.0;
  auto runs = run_batch(mixed_nodes(), mixed_pods(300, 4), spec, ctx, 2);
  ASSERT_TRUE(runs) << runs.error().what();
  ASSERT_EQ(runs->size(), 4U);
  EXPECT_EQ((*runs)[3].policy(), "fgd");
  EXPECT_EQ((*runs)[3].seed(), 2U);
  const nlohmann::json j = (*runs)[3];
  const auto back = j.get<SimRun>();
  EXPECT_EQ(nlohmann::json(back), j);
  spec.policies = {"magic"};
  EXPECT_FALSE(run_batch(mixed_nodes(), mixed_pods(30, 4), spec, ctx, 2));
}

TracePod share_pod(int milli) {
  TracePod p;
  p.name = "s";
  p.cpu_milli = 1000;
  p.memory_mib = 10;
  p.num_gpu = 1;
  p.gpu_milli = milli;
  return p;
}

// Places `milli` shares one by one with best fit; how many fit.
int place_all(Cluster& c, const std::vector<int>& shares) {
  auto pol = make_policy("bestfit", {});
  std::mt19937_64 rng(1);
  int placed = 0;
  for (const int m : shares) {
    const auto d = c.demand_of(share_pod(m));
    auto pl = (*pol)->place(c, d, rng);
    if (pl.node < 0) {
      continue;
    }
    pl.mig_start = c.apply(pl, d, +1);
    (*pol)->changed(c, pl.node);
    ++placed;
  }
  return placed;
}

// MIG what-if with the H100 tables (src/gpu/mig): a 0.47 share needs 4g.40gb (4 of 7 SM
// slices), so a second one no longer fits; two 0.32 shares take the two 3g.40gb slots (memory
// slices 0-3 and 4-7) and leave no memory slice for a 1g.10gb.
TEST(Mechanisms, MigRoundsSharesUpToProfilesAndHonoursPlacement) {
  Cluster c({{"a", 64000, 262144, 1, "X"}});
  ASSERT_TRUE(c.set_mechanism({Mechanism::mig, "NVIDIA H100 80GB HBM3", 48}));
  EXPECT_EQ(c.demand_of(share_pod(470)).milli, 4 * 1000 / 7);
  EXPECT_EQ(place_all(c, {470, 470}), 1);
  Cluster d({{"a", 64000, 262144, 1, "X"}});
  ASSERT_TRUE(d.set_mechanism({Mechanism::mig, "NVIDIA H100 80GB HBM3", 48}));
  EXPECT_EQ(place_all(d, {320, 320, 110}), 2);
  EXPECT_EQ(d.nodes[0].mig[0], 0xFF);
  EXPECT_DOUBLE_EQ(d.blast_radius(), 1.0);
  // GPUs without a MIG table: a share takes a whole GPU, and the note says why.
  Cluster t({{"a", 64000, 262144, 2, "T4"}});
  ASSERT_TRUE(t.set_mechanism({Mechanism::mig, "", 48}));
  EXPECT_NE(t.mechanism_note().find("no MIG profile table for T4"), std::string::npos);
  EXPECT_EQ(t.demand_of(share_pod(100)).milli, 1000);
  EXPECT_FALSE(t.set_mechanism({Mechanism::mig, "NVIDIA Z9", 48}));
}

// The "MIG-served shares" count: shares of 100-460 milli fit a 1g-4g profile of an H100, 700
// needs 7 SM slices (a whole GPU); GPUs without a MIG table serve no share by a profile.
TEST(Mechanisms, InflateCountsSharesServedByMigProfiles) {
  InflateOptions o;
  o.seed = 3;
  o.mech.kind = Mechanism::mig;
  o.mech.mig_model = "NVIDIA H100 80GB HBM3";
  auto h100 = inflate(mixed_nodes(), mixed_pods(300, 5), "fgd", o);
  ASSERT_TRUE(h100) << h100.error().what();
  EXPECT_GT(h100->mig_served, 0);
  EXPECT_GT(h100->mig_whole, 0);
  o.mech.mig_model.clear();
  auto none = inflate(mixed_nodes(), mixed_pods(300, 5), "fgd", o);
  ASSERT_TRUE(none) << none.error().what();
  EXPECT_EQ(none->mig_served, 0);
  EXPECT_GT(none->mig_whole, 0);
  o.mech.kind = Mechanism::fractional;
  auto frac = inflate(mixed_nodes(), mixed_pods(300, 5), "fgd", o);
  ASSERT_TRUE(frac);
  EXPECT_EQ(frac->mig_served + frac->mig_whole, 0);
}

TEST(Mechanisms, MpsCapsClientsAndReportsTheBlastRadius) {
  Cluster c({{"a", 64000, 262144, 1, "X"}});
  ASSERT_TRUE(c.set_mechanism({Mechanism::mps, "", 2}));
  EXPECT_EQ(place_all(c, {100, 100, 100}), 2);
  EXPECT_DOUBLE_EQ(c.blast_radius(), 2.0);
  Cluster f({{"a", 64000, 262144, 1, "X"}});
  EXPECT_EQ(place_all(f, {100, 100, 100}), 3);
  EXPECT_DOUBLE_EQ(f.blast_radius(), 0.0);  // fractional: no mechanism, no fault domain
}

// Headroom, by hand: one node of 2 GPUs and 4 CPUs, two 1-GPU pods of 3 CPUs each. Only one
// fits at once (50%); the LP may take 4/3 of a pod by CPU: 1333 of 2000 milli, 66.7%.
TEST(Bound, LinearRelaxationByHand) {
  Cluster c({{"n", 4000, 65536, 2, "G"}});
  const Demand pod{3000, 1000, 1, 1000, 0};
  const auto b = allocation_bound(c, {pod, pod});
  EXPECT_NEAR(b.bound_pct, 100.0 * 4 / 3 / 2, 0.1);
  EXPECT_DOUBLE_EQ(b.requested_pct, 100.0);
  // Without the CPU limit the GPUs bind (100%); a pod no node could hold adds nothing.
  Cluster big({{"n", 64000, 65536, 2, "G"}});
  EXPECT_NEAR(allocation_bound(big, {pod, pod, {3000, 1000, 4, 1000, 0}}).bound_pct, 100.0, 1e-6);
  EXPECT_NEAR(allocation_bound(big, {{3000, 1000, 4, 1000, 0}}).bound_pct, 0.0, 1e-6);
}

// The bound holds for every policy (it is an upper bound on any packing of the seed's pods),
// and inflate_pods is the sequence inflate submits (same counts by type).
TEST(Bound, BoundsEveryPolicyAndMatchesTheSubmittedPods) {
  const auto nodes = mixed_nodes();
  const auto pods = mixed_pods(300, 5);
  for (const auto sem : {Semantics::artifact, Semantics::exact}) {
    InflateOptions o;
    o.seed = 11;
    o.sw = switches_for(sem);
    auto b = inflate_bound(nodes, pods, o);
    ASSERT_TRUE(b) << b.error().what();
    EXPECT_LE(b->bound_pct, 100.0 + 1e-9);
    auto demands = inflate_pods(nodes, pods, o);
    ASSERT_TRUE(demands);
    for (const auto& name : {"random", "bestfit", "fgd", "colo"}) {
      auto r = inflate(nodes, pods, name, o);
      ASSERT_TRUE(r) << r.error().what();
      EXPECT_LE(r->final_pct, b->bound_pct + 1e-9) << name;
      int submitted = 0;
      for (const auto& [type, n] : r->submitted) {
        submitted += n;
      }
      EXPECT_EQ(static_cast<std::size_t>(submitted), demands->size()) << name;
    }
  }
}

// A run_batch run carries its seed's bound (the same for every policy), through JSON too.
TEST(Bound, BatchRunsCarryTheirSeedsBound) {
  SimSpec spec;
  spec.policies = {"bestfit", "fgd"};
  spec.repeat = 1;
  SimContext ctx;
  ctx.mode = "inflate";
  auto runs = run_batch(mixed_nodes(), mixed_pods(300, 4), spec, ctx, 2);
  ASSERT_TRUE(runs) << runs.error().what();
  ASSERT_EQ(runs->size(), 2U);
  ASSERT_TRUE((*runs)[0].inflate->bound_pct.has_value());
  EXPECT_EQ((*runs)[0].inflate->bound_pct, (*runs)[1].inflate->bound_pct);
  const nlohmann::json j = (*runs)[0];
  EXPECT_EQ(j.get<SimRun>().inflate->bound_pct, (*runs)[0].inflate->bound_pct);
}

}  // namespace
}  // namespace colo::csim
