// Unit tests of colo serve's pure parts and its task store on a FakeClock: config parsing and
// validation, bearer-token checks, the Prometheus exposition, queue/deadline/retry/cancel logic,
// the autoscaling decision, the workers' environment per partition and the MIG layouts colo
// serve creates (mig_plan: profiles, placement, MIG disabled).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "serve/auth.hpp"
#include "serve/config.hpp"
#include "serve/exporter.hpp"
#include "serve/metrics.hpp"
#include "serve/mig_plan.hpp"
#include "serve/placement.hpp"
#include "serve/pool.hpp"
#include "serve/task_store.hpp"

namespace colo::serve {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

Result<ServeConfig> parse(const std::string& text,
                          const std::map<std::string, std::string>& env = {}) {
  return parse_serve_config(text, "serve.yaml", env);
}

// The configs the project ships (examples/serve*.yaml) parse.
TEST(ServeConfig, ShippedConfigsParse) {
  const auto root = std::filesystem::path(COLO_SOURCE_DIR) / "examples";
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator(root)) {
    const auto name = e.path().filename().string();
    if (name.starts_with("serve") && e.path().extension() == ".yaml") {
      auto cfg = load_serve_config(e.path().string());
      EXPECT_TRUE(cfg) << e.path() << ": " << cfg.error().what();
      ++n;
    }
  }
  EXPECT_GE(n, 1);
}

TEST(ServeConfig, ParsesFunctionsAndDefaults) {
  auto cfg = parse(R"(
listen: 0.0.0.0:9000
max_connections: 8
functions:
  - name: echo
    argv: [colo-serve-echo, --flag]
    workers: 2
    max_workers: 4
    idempotent: true
    partition: {kind: mps, device: 1, thread_percent: 25, mem_limit_mib: 2048}
  - name: py
    kind: python
    entry: mymod:run
    python_path: [/opt/models]
)",
                   {{"COLO_SERVE_TOKEN", "s3cret"}});
  ASSERT_TRUE(cfg) << cfg.error().what();
  EXPECT_EQ(cfg->host, "0.0.0.0");
  EXPECT_EQ(cfg->port, 9000);
  EXPECT_EQ(cfg->token, "s3cret");
  EXPECT_EQ(cfg->max_connections, 8);
  ASSERT_EQ(cfg->functions.size(), 2U);
  const auto& e = cfg->functions[0];
  EXPECT_EQ(e.argv, (std::vector<std::string>{"colo-serve-echo", "--flag"}));
  EXPECT_EQ(e.workers, 2);
  EXPECT_EQ(e.min_workers, 2);
  EXPECT_EQ(e.max_workers, 4);
  EXPECT_TRUE(e.idempotent);
  EXPECT_EQ(e.partition.kind, PartitionKind::mps);
  EXPECT_EQ(e.partition.device, 1);
  EXPECT_EQ(e.partition.thread_percent, 25);
  EXPECT_EQ(e.partition.mem_limit, std::uint64_t{2048} << 20U);
  EXPECT_EQ(cfg->functions[1].kind, FunctionKind::python);
  EXPECT_EQ(cfg->functions[1].entry, "mymod:run");
}

TEST(ServeConfig, ErrorsNameFileLineAndField) {
  struct Case {
    const char* yaml;
    const char* expect;
  };
  const Case cases[] = {
      {"functions:\n  - name: a\n    argv: [x]\n    bogus: 1\n",
       "serve.yaml:4: functions[0].bogus"},
      {"functions:\n  - name: a\n", "kind command needs argv"},
      {"functions:\n  - name: 'a b'\n    argv: [x]\n", "functions[0].name"},
      {"functions:\n  - name: a\n    kind: python\n    entry: nocolon\n", "module:function"},
      {"functions:\n  - name: a\n    kind: builtin\n", "needs builtin: gemm, transformer or fault"},
      {"functions:\n  - name: a\n    kind: builtin\n    builtin: gemm\n    params: {sise: 1}\n",
       "params.sise: builtin gemm takes size, chain"},
      {"functions:\n  - name: a\n    kind: builtin\n    builtin: gemm\n    params: {size: 1}\n",
       "params.size: 1 is outside 64..32768"},
      {"functions:\n  - name: a\n    argv: [x]\n    builtin: gemm\n", "are for kind builtin"},
      {"functions:\n  - name: a\n    argv: [x]\n    workers: 5\n    max_workers: 2\n",
       "must lie in min_workers"},
      {"functions:\n  - name: a\n    argv: [x]\n  - name: a\n    argv: [y]\n", "defined twice"},
      {"functions:\n  - name: a\n    argv: [x]\n    partition: {kind: mps, thread_percent: 0}\n",
       "thread_percent"},
      {"functions:\n  - name: a\n    argv: [x]\n    partition: {kind: green}\n", "needs green_sms"},
      {"functions:\n  - name: a\n    argv: [x]\n    timeout_s: -1\n", "timeout_s"},
      {"functions: []\n", "at least one function"},
      {"listen: nowhere\nfunctions:\n  - name: a\n    argv: [x]\n", "serve.yaml:1: listen"},
      {"functions: [\n", "invalid YAML"},
      {"max_connections: 0\nfunctions:\n  - name: a\n    argv: [x]\n", "max_connections"},
      {"functions:\n  - name: a\n    argv: [x]\n    gpu: -1\n", "serve.yaml:4: functions.a.gpu"},
      {"functions:\n  - name: a\n    argv: [x]\n    partition: {kind: mps, device: 0}\n"
       "    gpu: 1\n",
       "gpu 1 and partition.device 0 disagree"},
      {"functions:\n  - name: a\n    argv: [x]\n    partition: {kind: mig, mig_uuid: MIG-x}\n"
       "    gpu: 1\n",
       "names its instance by mig_uuid"},
      {"functions:\n  - name: a\n    argv: [x]\n"
       "    partition: {kind: mig, profile: 1g.18gb, mig_uuid: MIG-x}\n",
       "serve.yaml:4: functions.a.partition: kind mig needs exactly one of mig_uuid"},
      {"functions:\n  - name: a\n    argv: [x]\n    partition: {kind: mig}\n",
       "kind mig needs exactly one of mig_uuid (an existing instance) and profile"},
      {"functions:\n  - name: a\n    argv: [x]\n    partition: {kind: mps, profile: 1g.18gb}\n",
       "mig_uuid and profile are for kind mig"},
      {"functions:\n  - name: a\n    argv: [x]\n    gpus: [0, 1]\n"
       "    partition: {kind: mig, profile: 1g.18gb}\n",
       "not with kind mig"},
  };
  for (const auto& c : cases) {
    auto cfg = parse(c.yaml);
    ASSERT_FALSE(cfg) << c.yaml;
    EXPECT_NE(cfg.error().message.find(c.expect), std::string::npos)
        << c.yaml << " -> " << cfg.error().message;
  }
}

// `gpu: N` places a pool on GPU N: a whole GPU unless its partition says otherwise.
TEST(ServeConfig, GpuPerPool) {
  auto cfg = parse(
      "functions:\n  - name: a\n    argv: [x]\n    gpu: 1\n  - name: b\n    argv: [x]\n"
      "    gpu: 1\n    partition: {kind: mps, thread_percent: 40}\n  - name: c\n    argv: [x]\n");
  ASSERT_TRUE(cfg) << cfg.error().what();
  EXPECT_EQ(cfg->functions[0].partition.kind, PartitionKind::gpu);
  EXPECT_EQ(cfg->functions[0].partition.device, 1);
  EXPECT_EQ(cfg->functions[1].partition.kind, PartitionKind::mps);
  EXPECT_EQ(cfg->functions[1].partition.device, 1);
  EXPECT_EQ(cfg->functions[2].partition.kind, PartitionKind::none);
}

// `partition: {kind: mig, profile: P}` with `gpu: N`: an instance colo serve creates; exactly
// one of profile and mig_uuid.
TEST(ServeConfig, MigProfilePartitions) {
  auto cfg = parse(
      "functions:\n  - name: a\n    argv: [x]\n    gpu: 1\n    workers: 2\n"
      "    partition: {kind: mig, profile: 1g.18gb}\n"
      "  - name: b\n    argv: [x]\n    partition: {kind: mig, mig_uuid: MIG-abc}\n");
  ASSERT_TRUE(cfg) << cfg.error().what();
  EXPECT_EQ(cfg->source, "serve.yaml");
  const auto& a = cfg->functions[0].partition;
  EXPECT_EQ(a.kind, PartitionKind::mig);
  EXPECT_EQ(a.mig_profile, "1g.18gb");
  EXPECT_EQ(a.device, 1);
  EXPECT_EQ(a.line, 6);
  EXPECT_TRUE(creates_mig(a));
  EXPECT_FALSE(creates_mig(cfg->functions[1].partition));
  auto p = parse_partition_text(R"({"kind": "mig", "profile": "2g.35gb", "device": 0})", "request");
  ASSERT_TRUE(p) << p.error().what();
  EXPECT_EQ(p->mig_profile, "2g.35gb");
}

// Two simulated-looking H200s (as NVML names them): GPU 0 with MIG enabled, GPU 1 without.
std::vector<DeviceInfo> h200s() {
  std::vector<DeviceInfo> d(2);
  for (int i = 0; i < 2; ++i) {
    d[static_cast<std::size_t>(i)].index = i;
    d[static_cast<std::size_t>(i)].name = "NVIDIA H200";
    d[static_cast<std::size_t>(i)].sm_count = 132;
  }
  d[0].mig_mode = "enabled";
  d[1].mig_mode = "disabled";
  return d;
}

Result<std::map<int, MigGpuLayout>> plan(const std::string& pools) {
  auto cfg = parse("functions:\n" + pools);
  if (!cfg) {
    return fail(cfg.error());
  }
  return plan_mig_layouts(cfg->functions, h200s(), cfg->source);
}

std::string pool(const std::string& name, const std::string& profile, int gpu = 0) {
  return "  - name: " + name + "\n    argv: [x]\n    gpu: " + std::to_string(gpu) +
         "\n    partition: {kind: mig, profile: " + profile + "}\n";
}

TEST(ServeMigPlan, OneLayoutPerGpuInPoolOrder) {
  auto l = plan(pool("a", "3g.71gb") + pool("b", "2g.35gb") +
                "  - name: c\n    argv: [x]\n    gpu: 1\n" + pool("d", "1g.18gb") +
                pool("e", "1g.18gb"));
  ASSERT_TRUE(l) << l.error().what();
  ASSERT_EQ(l->size(), 1U);
  const auto& g = l->at(0);
  EXPECT_EQ(g.device, 0);
  EXPECT_EQ(g.profiles, (std::vector<std::string>{"3g.71gb", "2g.35gb", "1g.18gb", "1g.18gb"}));
  EXPECT_EQ(g.functions, (std::vector<std::string>{"a", "b", "d", "e"}));
  auto none = plan("  - name: c\n    argv: [x]\n    gpu: 1\n");
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
}

TEST(ServeMigPlan, ErrorsNameLinePoolAndFix) {
  struct Case {
    std::string pools;
    std::vector<std::string> expect;
  };
  const std::vector<Case> cases = {
      // a profile of another GPU model: the valid ones of this one are listed
      {pool("a", "1g.10gb"),
       {"serve.yaml:5: functions.a.partition.profile: '1g.10gb' is not a MIG profile of GPU 0 "
        "(NVIDIA H200); valid: 1g.18gb, 1g.18gb+me, 1g.35gb, 2g.35gb, 3g.71gb, 4g.71gb, "
        "7g.141gb"}},
      // two 4g instances need 8 of 7 compute slices: the pools and what is free are named
      {pool("big", "4g.71gb") + pool("big2", "4g.71gb"),
       {"serve.yaml:9: functions.big2.partition.profile: the MIG pools of GPU 0 (NVIDIA H200) do "
        "not fit its placement table: 'big' (4g.71gb) fit, then 'big2' (4g.71gb) does not",
        "free after the others: 3 of 7 compute slices, 4 of 8 memory slices"}},
      {pool("a", "3g.71gb") + pool("b", "3g.71gb") + pool("c", "1g.35gb"),
       {"'a' (3g.71gb), 'b' (3g.71gb) fit, then 'c' (1g.35gb) does not",
        "1 of 7 compute slices, 0 of 8 memory slices"}},
      // MIG disabled: the MIG-equivalent MPS share to use instead
      {pool("a", "3g.71gb", 1),
       {"serve.yaml:5: functions.a.partition: MIG is disabled on GPU 1 (NVIDIA H200)",
        "use the MIG-equivalent MPS share instead: partition: {kind: mps, thread_percent: 46, "
        "mem_limit_mib: 71424}"}},
      {pool("a", "1g.18gb", 2), {"functions.a.partition: GPU 2: this host has 2 GPU(s)"}},
  };
  for (const auto& c : cases) {
    auto l = plan(c.pools);
    ASSERT_FALSE(l) << c.pools;
    for (const auto& e : c.expect) {
      EXPECT_NE(l.error().message.find(e), std::string::npos)
          << c.pools << " -> " << l.error().message;
    }
  }
  // a GPU model without a MIG table
  auto devs = h200s();
  devs[0].name = "NVIDIA GeForce RTX 4090";
  auto cfg = parse("functions:\n" + pool("a", "1g.18gb"));
  ASSERT_TRUE(cfg);
  auto l = plan_mig_layouts(cfg->functions, devs, cfg->source);
  ASSERT_FALSE(l);
  EXPECT_NE(l.error().message.find("has no MIG placement table"), std::string::npos)
      << l.error().message;
}

// Placement from colo plan: each mechanism's partition for a job of its group.
TEST(ServePlacement, PartitionPerMechanism) {
  plan::GroupPlan g;
  g.gpu = 2;
  plan::JobPlacement j;
  j.job = "a";
  const auto kind_of = [&](plan::Mechanism m) {
    g.mechanism = m;
    auto p = partition_for(g, j);
    EXPECT_TRUE(p) << plan::to_string(m);
    EXPECT_EQ(p->device, 2);
    return p->kind;
  };
  EXPECT_EQ(kind_of(plan::Mechanism::solo), PartitionKind::gpu);
  EXPECT_EQ(kind_of(plan::Mechanism::sequential), PartitionKind::gpu);
  EXPECT_EQ(kind_of(plan::Mechanism::timeslice), PartitionKind::gpu);
  EXPECT_EQ(kind_of(plan::Mechanism::mps), PartitionKind::mps);
  g.mechanism = plan::Mechanism::mps_limits;
  EXPECT_FALSE(partition_for(g, j));  // no thread_percent in the placement
  j.thread_percent = 34;
  EXPECT_EQ(partition_for(g, j)->thread_percent, 34);
  g.mechanism = plan::Mechanism::mig_equivalent;
  EXPECT_EQ(partition_for(g, j)->kind, PartitionKind::mps);
  g.mechanism = plan::Mechanism::mig;
  EXPECT_FALSE(partition_for(g, j));
  j.mig_profile = "3g.71gb";
  EXPECT_EQ(partition_for(g, j)->kind, PartitionKind::mig);
  EXPECT_EQ(partition_for(g, j)->mig_profile, "3g.71gb");
  g.mechanism = plan::Mechanism::green;
  EXPECT_FALSE(partition_for(g, j));
  j.green_sms = 64;
  EXPECT_EQ(partition_for(g, j)->green_sms, 64);
}

class ServePlacementFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    m_dir = std::filesystem::temp_directory_path() /
            ("colo-serve-plan-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(m_dir);
    std::filesystem::create_directories(m_dir);
    plan::Plan p;
    plan::GroupPlan g;
    g.gpu = 1;
    g.gpu_model = "NVIDIA H200";
    g.mechanism = plan::Mechanism::mps_limits;
    for (const auto& [name, tp] : {std::pair{"r18", 34}, std::pair{"triad", 65}}) {
      plan::JobPlacement j;
      j.job = name;
      j.workload = name;
      j.thread_percent = tp;
      g.jobs.push_back(j);
    }
    p.groups.push_back(g);
    p.jobs = 2;
    std::ofstream(m_dir / "plan.json") << plan::to_json(p).dump();
  }
  void TearDown() override { std::filesystem::remove_all(m_dir); }
  Result<ServeConfig> load(const std::string& yaml) {
    std::ofstream(m_dir / "serve.yaml") << yaml;
    return load_serve_config((m_dir / "serve.yaml").string());
  }
  std::filesystem::path m_dir;
};

TEST_F(ServePlacementFiles, FunctionsTakeTheirJobsPartitions) {
  auto cfg = load(R"(plan: plan.json
functions:
  - {name: a, argv: [cat], plan_job: r18}
  - {name: b, argv: [cat], plan_job: triad, workers: 2}
  - {name: c, argv: [cat]}
)");
  ASSERT_TRUE(cfg) << cfg.error().what();
  const auto& a = cfg->functions[0].partition;
  EXPECT_EQ(a.kind, PartitionKind::mps);
  EXPECT_EQ(a.device, 1);
  EXPECT_EQ(a.thread_percent, 34);
  EXPECT_EQ(cfg->functions[1].partition.thread_percent, 65);
  EXPECT_EQ(cfg->functions[1].workers, 2);
  EXPECT_EQ(cfg->functions[2].partition.kind, PartitionKind::none);
}

TEST_F(ServePlacementFiles, ErrorsNameTheLineTheJobAndThePlan) {
  const auto error = [&](const std::string& yaml) {
    auto cfg = load(yaml);
    EXPECT_FALSE(cfg) << yaml;
    return cfg ? std::string() : cfg.error().message;
  };
  auto e = error("plan: plan.json\nfunctions:\n  - {name: a, argv: [cat], plan_job: nope}\n");
  EXPECT_NE(e.find("serve.yaml:3: functions.a.plan_job: 'nope' is not a job of the plan"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("(its jobs: r18, triad)"), std::string::npos) << e;
  e = error(
      "plan: plan.json\nfunctions:\n  - {name: a, argv: [cat], plan_job: r18}\n"
      "  - {name: b, argv: [cat], plan_job: r18}\n");
  EXPECT_NE(e.find("serve.yaml:4: functions.b.plan_job: job 'r18' already places"),
            std::string::npos)
      << e;
  e = error("plan: plan.json\nfunctions:\n  - {name: a, argv: [cat], plan_job: r18, gpu: 0}\n");
  EXPECT_NE(e.find("not with partition, gpu or gpus"), std::string::npos) << e;
  e = error("functions:\n  - {name: a, argv: [cat], plan_job: r18}\n");
  EXPECT_NE(e.find("serve.yaml:2: functions.a.plan_job: needs the config's plan"),
            std::string::npos)
      << e;
  e = error("plan: missing.json\nfunctions:\n  - {name: a, argv: [cat], plan_job: r18}\n");
  EXPECT_NE(e.find("serve.yaml:1: plan: cannot read"), std::string::npos) << e;
  EXPECT_NE(e.find("missing.json"), std::string::npos) << e;
  std::ofstream(m_dir / "bad.json") << "{\"groups\": 3}";
  e = error("plan: bad.json\nfunctions:\n  - {name: a, argv: [cat], plan_job: r18}\n");
  EXPECT_NE(e.find("is not a colo plan"), std::string::npos) << e;
}

// Right-sizing from profiles: the pool gets the measured MPS share of a --right-size answer.
TEST_F(ServePlacementFiles, RightSizedPoolsTakeTheMeasuredShare) {
  plan::RightSize r;
  r.job = "r50i";
  r.within = 0.1;
  r.thread_percent = 50;
  r.mps_speed = 0.95;
  std::ofstream(m_dir / "rs.json") << plan::to_json(r).dump();
  auto cfg = load("functions:\n  - {name: a, argv: [cat], gpu: 1, right_size: rs.json}\n");
  ASSERT_TRUE(cfg) << cfg.error().what();
  EXPECT_EQ(cfg->functions[0].partition.kind, PartitionKind::mps);
  EXPECT_EQ(cfg->functions[0].partition.device, 1);
  EXPECT_EQ(cfg->functions[0].partition.thread_percent, 50);

  plan::RightSize none;
  none.job = "triad";
  none.within = 0.1;
  none.unmeasured_percent = 83;
  none.unmeasured_speed = 0.904;
  std::ofstream(m_dir / "none.json") << plan::to_json(none).dump();
  cfg = load("functions:\n  - {name: a, argv: [cat], right_size: none.json}\n");
  ASSERT_FALSE(cfg);
  EXPECT_NE(cfg.error().message.find("serve.yaml:2: functions.a.right_size: job 'triad': no "
                                     "measured MPS share keeps it within 10% of its speed alone "
                                     "(an unmeasured 83% might: profile that share first)"),
            std::string::npos)
      << cfg.error().message;
  cfg =
      load("functions:\n  - {name: a, argv: [cat], right_size: rs.json, partition: {kind: mps}}\n");
  ASSERT_FALSE(cfg);
  EXPECT_NE(cfg.error().message.find("not with partition or plan_job"), std::string::npos)
      << cfg.error().message;
  cfg = load("functions:\n  - {name: a, argv: [cat], right_size: plan.json}\n");
  ASSERT_FALSE(cfg);
  EXPECT_NE(cfg.error().message.find("not a colo plan --right-size answer"), std::string::npos)
      << cfg.error().message;
}

TEST(ServeConfig, ListenAndLoopback) {
  ServeConfig cfg;
  ASSERT_TRUE(apply_listen("127.0.0.1:0", cfg));
  EXPECT_EQ(cfg.port, 0);
  ASSERT_TRUE(apply_listen("[::1]:8080", cfg));
  EXPECT_EQ(cfg.host, "::1");
  EXPECT_EQ(cfg.port, 8080);
  EXPECT_FALSE(apply_listen("127.0.0.1:70000", cfg));
  EXPECT_FALSE(apply_listen(":80", cfg));
  EXPECT_FALSE(apply_listen("host", cfg));
  EXPECT_TRUE(is_loopback("127.0.0.1"));
  EXPECT_TRUE(is_loopback("localhost"));
  EXPECT_TRUE(is_loopback("::1"));
  EXPECT_FALSE(is_loopback("0.0.0.0"));
  EXPECT_FALSE(is_loopback("10.0.0.1"));
}

TEST(ServeAuth, ConstantTimeCompareAndBearer) {
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "abcd"));
  EXPECT_FALSE(constant_time_equal("", "a"));
  EXPECT_TRUE(constant_time_equal("", ""));
  EXPECT_TRUE(authorized("Bearer tok", "tok"));
  EXPECT_FALSE(authorized("Bearer tok2", "tok"));
  EXPECT_FALSE(authorized("bearer tok", "tok"));
  EXPECT_FALSE(authorized("tok", "tok"));
  EXPECT_FALSE(authorized("", "tok"));
  EXPECT_TRUE(authorized("", ""));  // no token configured (loopback)
}

TEST(ServeMetrics, RendersExpositionFormat) {
  MetricFamily c{"colo_x_total", "Things\nand more", MetricType::counter, {}};
  c.samples.push_back({"", {{"function", "a\"b\\c\nd"}}, 3});
  MetricFamily h{"colo_lat_seconds", "Latency", MetricType::histogram, {}};
  Histogram hist({0.1, 1});
  hist.observe(0.05);
  hist.observe(0.5);
  hist.observe(7);
  hist.append_to(h, {{"function", "f"}});
  const std::string text = render({c, h});
  EXPECT_NE(text.find("# HELP colo_x_total Things\\nand more\n# TYPE colo_x_total counter\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("colo_x_total{function=\"a\\\"b\\\\c\\nd\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("colo_lat_seconds_bucket{function=\"f\",le=\"0.1\"} 1\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("colo_lat_seconds_bucket{function=\"f\",le=\"1\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("colo_lat_seconds_bucket{function=\"f\",le=\"+Inf\"} 3\n"),
            std::string::npos);
  EXPECT_NE(text.find("colo_lat_seconds_sum{function=\"f\"} 7.55\n"), std::string::npos) << text;
  EXPECT_NE(text.find("colo_lat_seconds_count{function=\"f\"} 3\n"), std::string::npos);
}

class TaskStoreTest : public ::testing::Test {
 protected:
  FakeClock clock;
  TaskStore store{clock, 100};
  void SetUp() override { store.add_function("f", 3); }
};

TEST_F(TaskStoreTest, FifoLifecycleAndCounters) {
  auto ids = store.submit("f", {"1", "2"}, seconds(10));
  ASSERT_TRUE(ids);
  ASSERT_EQ(ids->size(), 2U);
  EXPECT_EQ(store.queue_length("f"), 2U);
  auto a = store.take("f", Nanos(0));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->id, (*ids)[0]);
  EXPECT_EQ(a->input, "1");
  EXPECT_EQ(store.get(a->id)->state, TaskState::running);
  clock.advance(milliseconds(20));
  store.succeed(a->id, "{\"ok\":1}");
  auto v = store.get(a->id);
  EXPECT_EQ(v->state, TaskState::succeeded);
  EXPECT_EQ(v->result, "{\"ok\":1}");
  EXPECT_NEAR(v->total_s, 0.02, 1e-9);
  auto b = store.take("f", Nanos(0));
  store.fail(b->id, "bad input");
  EXPECT_EQ(store.get(b->id)->error, "bad input");
  EXPECT_FALSE(store.take("f", Nanos(0)));
  const auto c = store.counters("f");
  EXPECT_EQ(c.submitted, 2U);
  EXPECT_EQ(c.succeeded, 1U);
  EXPECT_EQ(c.failed, 1U);
  EXPECT_EQ(c.queued, 0U);
  EXPECT_EQ(c.running, 0U);
}

TEST_F(TaskStoreTest, BoundedQueueRejectsWholeBatch) {
  ASSERT_TRUE(store.submit("f", {"1", "2"}, seconds(1)));
  auto full = store.submit("f", {"3", "4"}, seconds(1));
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().code, ErrorCode::busy);
  EXPECT_EQ(store.queue_length("f"), 2U);  // all or none
  EXPECT_EQ(store.counters("f").rejected, 2U);
  EXPECT_TRUE(store.submit("f", {"3"}, seconds(1)));
  auto unknown = store.submit("nope", {"1"}, seconds(1));
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, ErrorCode::not_found);
}

TEST_F(TaskStoreTest, DeadlinesExpireQueuedTasks) {
  auto ids = store.submit("f", {"1", "2"}, seconds(1));
  ASSERT_TRUE(store.submit("f", {"3"}, seconds(5)));
  clock.advance(seconds(2));
  auto t = store.take("f", Nanos(0));  // skips the two expired ones
  ASSERT_TRUE(t);
  EXPECT_EQ(t->input, "3");
  EXPECT_EQ(store.get((*ids)[0])->state, TaskState::expired);
  EXPECT_EQ(store.counters("f").expired, 2U);
  ASSERT_TRUE(store.submit("f", {"4"}, seconds(1)));
  clock.advance(seconds(3));
  EXPECT_EQ(store.expire_overdue(), 1U);
  EXPECT_EQ(store.queue_length("f"), 0U);
}

TEST_F(TaskStoreTest, RetryGoesFirstUntilAttemptsRunOut) {
  auto ids = store.submit("f", {"1", "2"}, seconds(10));
  auto a = store.take("f", Nanos(0));
  EXPECT_TRUE(store.retry_or_fail(a->id, "worker crashed", true, 2));
  auto again = store.take("f", Nanos(0));
  EXPECT_EQ(again->id, a->id);  // retried before the next task
  EXPECT_EQ(again->attempt, 2);
  EXPECT_FALSE(store.retry_or_fail(again->id, "worker crashed", true, 2));
  auto v = store.get(a->id);
  EXPECT_EQ(v->state, TaskState::failed);
  EXPECT_NE(v->error.find("no attempts left"), std::string::npos) << v->error;
  auto b = store.take("f", Nanos(0));
  EXPECT_FALSE(store.retry_or_fail(b->id, "worker crashed", false, 5));
  EXPECT_NE(store.get(b->id)->error.find("not idempotent"), std::string::npos);
  EXPECT_EQ(store.counters("f").retried, 1U);
}

TEST_F(TaskStoreTest, CancelQueuedNotRunning) {
  auto ids = store.submit("f", {"1", "2"}, seconds(10));
  auto a = store.take("f", Nanos(0));
  auto running = store.cancel(a->id);
  ASSERT_FALSE(running);
  EXPECT_EQ(running.error().code, ErrorCode::busy);
  auto c = store.cancel((*ids)[1]);
  ASSERT_TRUE(c);
  EXPECT_EQ(*c, TaskState::cancelled);
  EXPECT_FALSE(store.take("f", Nanos(0)));
  EXPECT_EQ(store.queue_length("f"), 0U);
  EXPECT_FALSE(store.cancel("t999"));
  EXPECT_FALSE(store.cancel("garbage"));
}

TEST_F(TaskStoreTest, CloseFailsQueuedAndRefusesMore) {
  auto ids = store.submit("f", {"1", "2"}, seconds(10));
  auto a = store.take("f", Nanos(0));
  store.close("shutting down");
  EXPECT_EQ(store.get((*ids)[1])->state, TaskState::failed);
  EXPECT_EQ(store.get((*ids)[1])->error, "shutting down");
  EXPECT_EQ(store.get(a->id)->state, TaskState::running);  // running ones finish or fail later
  auto more = store.submit("f", {"3"}, seconds(1));
  ASSERT_FALSE(more);
  EXPECT_EQ(more.error().code, ErrorCode::interrupted);
  EXPECT_FALSE(store.retry_or_fail(a->id, "worker killed", true, 5));
  EXPECT_EQ(store.get(a->id)->state, TaskState::failed);
}

TEST(TaskStoreRetention, DropsOldestFinished) {
  FakeClock clock;
  TaskStore store(clock, 2);
  store.add_function("f", 10);
  auto ids = store.submit("f", {"1", "2", "3"}, seconds(10));
  for (int i = 0; i < 3; ++i) {
    auto t = store.take("f", Nanos(0));
    store.succeed(t->id, "null");
  }
  EXPECT_FALSE(store.get((*ids)[0]));
  EXPECT_TRUE(store.get((*ids)[1]));
  EXPECT_TRUE(store.get((*ids)[2]));
}

TEST(ServeAutoscale, GrowsOnQueueShrinksWhenIdle) {
  FunctionConfig f;
  f.min_workers = 1;
  f.max_workers = 8;
  f.scale_up_queue_per_worker = 4;
  f.scale_down_idle_s = 30;
  EXPECT_EQ(desired_workers(f, 1, 5, 1, 0), 2);
  EXPECT_EQ(desired_workers(f, 2, 9, 2, 0), 4);
  EXPECT_EQ(desired_workers(f, 4, 100, 4, 0), 8);
  EXPECT_EQ(desired_workers(f, 8, 1000, 8, 0), 8);  // max
  EXPECT_EQ(desired_workers(f, 4, 16, 4, 0), 4);    // at the threshold: stays
  EXPECT_EQ(desired_workers(f, 4, 0, 0, 10), 4);    // not idle long enough
  EXPECT_EQ(desired_workers(f, 4, 0, 0, 31), 3);
  EXPECT_EQ(desired_workers(f, 1, 0, 0, 1000), 1);  // min
}

TEST(ServeWorkerEnv, PartitionsThroughTheModeLayer) {
  FunctionConfig f;
  f.name = "fn";
  f.env = {{"MY", "1"}};
  EXPECT_EQ(worker_env(f, 3).count("CUDA_VISIBLE_DEVICES"), 0U);
  EXPECT_EQ(worker_env(f, 3).at("COLO_SERVE_WORKER"), "3");
  EXPECT_EQ(worker_env(f, 3).at("MY"), "1");
  f.partition.kind = PartitionKind::mps;
  f.partition.device = 1;
  f.partition.thread_percent = 30;
  f.partition.mem_limit = std::uint64_t{4096} << 20U;
  auto env = worker_env(f, 0);
  EXPECT_EQ(env.at("CUDA_VISIBLE_DEVICES"), "1");
  EXPECT_EQ(env.at("CUDA_MPS_ACTIVE_THREAD_PERCENTAGE"), "30");
  EXPECT_EQ(env.at("CUDA_MPS_PINNED_DEVICE_MEM_LIMIT"), "0=4096M");
  f.partition = {};
  f.partition.kind = PartitionKind::mig;
  f.partition.mig_uuid = "MIG-abc";
  EXPECT_EQ(worker_env(f, 0).at("CUDA_VISIBLE_DEVICES"), "MIG-abc");
  f.partition = {};
  f.partition.kind = PartitionKind::green;
  f.partition.green_sms = 16;
  EXPECT_EQ(worker_env(f, 0).at("COLO_GREEN_SMS"), "16");
  f.kind = FunctionKind::python;
  f.entry = "m:f";
  EXPECT_EQ(worker_argv(f, "/p").back(), "m:f");
  f.kind = FunctionKind::builtin;
  f.builtin = "gemm";
  f.params = {{"chain", 32}};
  EXPECT_EQ(
      worker_argv(f, "/p", "/w"),
      (std::vector<std::string>{"/w/colo-serve-cuda", "gemm", "--size", "4096", "--chain", "32"}));
}

TEST(ServeWorkerEnv, PythonPathKeepsTheDaemonsOrTheFunctionsOwn) {
  FunctionConfig f;
  f.kind = FunctionKind::python;
  EXPECT_EQ(python_path_env(f, "/p", nullptr), "/p");
  EXPECT_EQ(python_path_env(f, "/p", ""), "/p");
  f.python_path = {"/a", "/b"};
  EXPECT_EQ(python_path_env(f, "/p", "/x:/y"), "/a:/b:/p:/x:/y");
  f.env = {{"PYTHONPATH", "/e"}};  // the function's own wins over the daemon's
  EXPECT_EQ(python_path_env(f, "/p", "/x:/y"), "/a:/b:/p:/e");
  f.env = {{"PYTHONPATH", ""}};  // set empty: none
  EXPECT_EQ(python_path_env(f, "/p", "/x:/y"), "/a:/b:/p");
}

TEST(ServePartition, ParsesJsonText) {
  auto p = parse_partition_text(R"({"kind":"mps","thread_percent":50})", "request");
  ASSERT_TRUE(p) << p.error().what();
  EXPECT_EQ(p->thread_percent, 50);
  EXPECT_FALSE(parse_partition_text(R"({"kind":"warp"})", "request"));
  EXPECT_FALSE(parse_partition_text("[1", "request"));
}

}  // namespace
}  // namespace colo::serve

namespace colo::serve {
namespace {

// Producers and consumers on one store at once (TSan runs this).
TEST(TaskStoreThreads, ConcurrentSubmitTakeFinish) {
  SteadyClock clock;
  TaskStore store(clock, 100000);
  store.add_function("f", 100000);
  constexpr int k_per_producer = 500;
  std::atomic<int> done{0};
  std::vector<std::thread> threads;
  for (int p = 0; p < 2; ++p) {
    threads.emplace_back([&] {
      for (int i = 0; i < k_per_producer; ++i) {
        ASSERT_TRUE(store.submit("f", {"1"}, std::chrono::seconds(60)));
      }
    });
  }
  for (int c = 0; c < 3; ++c) {
    threads.emplace_back([&] {
      while (done < 2 * k_per_producer) {
        if (auto t = store.take("f", std::chrono::milliseconds(10))) {
          store.succeed(t->id, "1");
          ++done;
        }
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  const auto c = store.counters("f");
  EXPECT_EQ(c.succeeded, 2U * k_per_producer);
  EXPECT_EQ(c.queued, 0U);
}

// A real pool of two shell workers (the test's own program, not colo's: colo runs argv only).
TEST(PoolThreads, RunsTasksResizesAndStops) {
  SteadyClock clock;
  TaskStore store(clock, 1000);
  FunctionConfig f;
  f.name = "sh";
  f.argv = {"/bin/sh", "-c", "while read -r l; do echo '{\"result\": 1}'; done"};
  f.workers = 2;
  f.min_workers = 1;
  f.max_workers = 3;
  store.add_function(f.name, 1000);
  PoolContext ctx;
  ctx.run_token = "unit-test-token";
  Pool pool(f, store, clock, ctx);
  pool.start();
  auto ids = store.submit("sh", std::vector<std::string>(50, "null"), std::chrono::seconds(30));
  ASSERT_TRUE(ids);
  ASSERT_TRUE(pool.resize(3, std::nullopt));
  for (const auto& id : *ids) {
    auto v = store.wait(id, std::chrono::seconds(20));
    ASSERT_TRUE(v);
    EXPECT_EQ(v->state, TaskState::succeeded) << v->error;
  }
  EXPECT_FALSE(pool.resize(4, std::nullopt));  // beyond max_workers
  EXPECT_EQ(pool.stats().workers, 3);
  store.close("stopping");
  pool.stop(std::chrono::seconds(1));
  EXPECT_EQ(pool.stats().alive, 0);
}

// colo run --metrics-addr's exporter: the current run, a workload's progress rate over its last
// steps, the GPUs' DCGM values labelled as dcgm-exporter does (and simulated when they are).
TEST(RunExporter, RunProgressRateAndGpuTelemetry) {
  RunExporter e;
  EXPECT_NE(e.metrics_text().find("colo_run_active 0\n"), std::string::npos);
  WatchedRun run;
  run.experiment = 7;
  run.seq = 3;
  run.mode = "mps";
  run.group = "g";
  run.simulated = true;
  run.gpu_uuids = {"GPU-a"};
  run.gpu_names = {"Sim H100"};
  run.workloads = {{0, "train", 1, 0}, {1, "infer", 1, 0}};
  e.run_started(run);
  // train: 10 samples every 0.5 s -> 20 samples/s; older steps than the window do not count.
  e.progress(3, 0, 0.0, 1000);
  for (int i = 1; i <= 40; ++i) {
    e.progress(3, 0, 10.0 + 0.5 * i, 10);
  }
  e.progress(9, 0, 1.0, 5);  // not a run that started: ignored
  e.gpu_metric(0, "DCGM_FI_PROF_SM_ACTIVE", 0.5);
  e.gpu_metric(0, "host.cpu", 3);  // not a DCGM field: left out
  const std::string m = e.metrics_text();
  EXPECT_NE(m.find("colo_run_active 1\n"), std::string::npos) << m;
  EXPECT_NE(m.find("colo_run_info{experiment=\"7\",group=\"g\",mode=\"mps\",repetition=\"0\","
                   "run=\"3\"} 1\n"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("colo_run_workload_progress_rate{copy=\"1\",gpu=\"0\",mode=\"mps\",run=\"3\","
                   "workload=\"train\"} 20\n"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("colo_run_workload_samples_total{copy=\"1\",gpu=\"0\",mode=\"mps\",run=\"3\","
                   "workload=\"train\"} 1400\n"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("colo_run_workload_progress_rate{copy=\"1\",gpu=\"0\",mode=\"mps\",run=\"3\","
                   "workload=\"infer\"} 0\n"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("DCGM_FI_PROF_SM_ACTIVE{UUID=\"GPU-a\",gpu=\"0\",modelName=\"Sim H100\","
                   "simulated=\"true\"} 0.5\n"),
            std::string::npos)
      << m;
  EXPECT_EQ(m.find("host.cpu"), std::string::npos);
  EXPECT_NE(m.find("SIMULATED GPU"), std::string::npos);
  // A second run at the same time (another GPU): both are there; the first one's series go when
  // it ends.
  WatchedRun other = run;
  other.seq = 4;
  other.workloads = {{0, "other", 0, 1}};
  e.run_started(other);
  e.progress(4, 0, 1.0, 10);
  e.progress(4, 0, 2.0, 10);
  auto two = e.metrics_text();
  EXPECT_NE(two.find("colo_run_active 2\n"), std::string::npos) << two;
  EXPECT_NE(two.find("workload=\"other\"} 10\n"), std::string::npos) << two;
  e.run_finished(3);
  two = e.metrics_text();
  EXPECT_NE(two.find("colo_run_runs_finished_total 1\n"), std::string::npos);
  EXPECT_NE(two.find("colo_run_active 1\n"), std::string::npos);
  EXPECT_EQ(two.find("workload=\"train\""), std::string::npos) << two;
}

}  // namespace
}  // namespace colo::serve
