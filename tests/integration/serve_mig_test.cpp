// colo serve's pools on MIG instances it creates itself, in process, on the simulated GPU (a
// simulated H200 with MIG enabled, gpu/sim's SimBackend behind the real GpuHost): one layout per
// GPU from the pools' profiles, distinct instance UUIDs in the workers, a live partition change
// that re-creates the layout without losing a task, a refused change that would disturb another
// MIG pool, no instance left after SIGTERM (the self-pipe) or a failed start. The workers are
// real shell processes; the HTTP API is spoken to on a loopback port. MIG is disabled on the
// project's lent H200, so this is the only place the daemon's MIG path runs.
#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "core/clock.hpp"
#include "gpu/sim/sim_backend.hpp"
#include "serve/daemon.hpp"
#include "serve_support.hpp"

namespace colo::serve {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class ServeMigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    dir = fs::temp_directory_path() / ("colo-serve-mig-test-" + std::to_string(rd()));
    fs::create_directories(dir);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }

  // A host of `devices` simulated H200s; `sim` points at its backend.
  std::unique_ptr<GpuHost> host(int devices = 1, const std::string& mig_mode = "enabled") {
    sim::SimTopology t;
    t.name = "NVIDIA H200";
    t.devices = devices;
    t.memory_bytes = 141ULL << 30U;
    t.mig_mode = mig_mode;
    auto b = std::make_unique<sim::SimBackend>(t, clock);
    sim = b.get();
    return make_gpu_host(std::move(b));
  }

  // A pool on a `profile` instance of GPU `gpu`; its worker answers with its instance's UUID,
  // profile and simulated SM limit.
  FunctionConfig mig_fn(const std::string& name, const std::string& profile, int gpu = 0) const {
    FunctionConfig f;
    f.name = name;
    f.argv = {"/bin/sh", "-c",
              "while read -r l; do sleep $PAUSE; echo \"{\\\"result\\\": "
              "\\\"$CUDA_VISIBLE_DEVICES|$COLO_MIG_PROFILE|$COLO_SIM_SM_LIMIT\\\"}\"; done"};
    f.env = {{"PAUSE", "0"}};
    f.partition.kind = PartitionKind::mig;
    f.partition.mig_profile = profile;
    f.partition.device = gpu;
    return f;
  }
  static PoolContext pool_context() { return test::pool_context(); }
  ServeConfig config(std::vector<FunctionConfig> fns) const {
    return test::config(dir, std::move(fns));
  }
  static json call(int port, const std::string& fn) { return test::call(port, fn, 1); }
  // "UUID|profile|sm limit" of one task of `fn`.
  static std::vector<std::string> fields(const json& task) {
    std::vector<std::string> out;
    std::stringstream ss(task.value("result", ""));
    for (std::string f; std::getline(ss, f, '|');) {
      out.push_back(f);
    }
    return out;
  }
  static httplib::Result put_partition(int port, const std::string& fn, const json& partition) {
    httplib::Client cli("127.0.0.1", port);
    cli.set_read_timeout(std::chrono::seconds(90));
    return cli.Put("/v1/functions/" + fn + "/pool", json{{"partition", partition}}.dump(),
                   "application/json");
  }

  fs::path dir;
  SteadyClock clock;
  std::ostringstream out;
  sim::SimBackend* sim = nullptr;
};

TEST_F(ServeMigTest, PoolsGetDistinctInstancesAndNoneOutlivesShutdown) {
  auto gpu = host();
  auto a = mig_fn("a", "3g.71gb");
  a.workers = a.min_workers = a.max_workers = 2;  // two workers share one instance
  Daemon d(config({a, mig_fn("b", "2g.35gb"), mig_fn("c", "1g.18gb"), mig_fn("e", "1g.18gb")}),
           pool_context(), clock, out, gpu.get());
  ASSERT_TRUE(d.start()) << out.str();
  const auto instances = sim->mig_instances(0);
  ASSERT_EQ(instances.size(), 4U);
  EXPECT_EQ(std::set<std::string>(instances.begin(), instances.end()).size(), 4U);
  std::set<std::string> seen;
  const std::map<std::string, std::string> profiles{
      {"a", "3g.71gb"}, {"b", "2g.35gb"}, {"c", "1g.18gb"}, {"e", "1g.18gb"}};
  for (const auto& [fn, profile] : profiles) {
    const auto t = call(d.port(), fn);
    ASSERT_EQ(t.value("state", ""), "succeeded") << t.dump() << out.str();
    const auto f = fields(t);
    ASSERT_EQ(f.size(), 3U) << t.dump();
    EXPECT_EQ(f[0].rfind("MIG-", 0), 0U) << f[0];
    EXPECT_NE(std::find(instances.begin(), instances.end(), f[0]), instances.end()) << f[0];
    EXPECT_EQ(f[1], profile);
    seen.insert(f[0]);
  }
  EXPECT_EQ(seen.size(), 4U) << "each pool on its own instance";
  // /metrics names each MIG pool's profile and instance (telemetry itself is per GPU).
  const std::string m = d.metrics_text();
  EXPECT_NE(m.find("mig_profile=\"2g.35gb\""), std::string::npos) << m;
  EXPECT_NE(m.find("mig_uuid=\"" + fields(call(d.port(), "b"))[0] + "\""), std::string::npos);
  // Changing one pool's instance would destroy the others' (one layout per GPU): refused, and
  // nothing changes.
  auto r = put_partition(d.port(), "c", {{"kind", "mig"}, {"profile", "1g.35gb"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400) << r->body;
  EXPECT_NE(r->body.find("'a' (3g.71gb), 'b' (2g.35gb), 'e' (1g.18gb) fit, then 'c' (1g.35gb) "
                         "does not"),
            std::string::npos)
      << r->body;
  r = put_partition(d.port(), "c", {{"kind", "mig"}, {"profile", "1g.18gb+me"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400) << r->body;
  EXPECT_NE(r->body.find("GPU 0 also has the MIG pool(s) 'a', 'b', 'e'"), std::string::npos)
      << r->body;
  EXPECT_EQ(sim->mig_instances(0), instances);
  EXPECT_EQ(call(d.port(), "c").value("state", ""), "succeeded");
  // SIGTERM: the interrupt self-pipe ends run_until, which shuts down.
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  std::thread runner([&] { d.run_until(fds[0]); });
  ASSERT_EQ(::write(fds[1], "x", 1), 1);
  runner.join();
  ::close(fds[0]);
  ::close(fds[1]);
  EXPECT_TRUE(sim->mig_instances(0).empty()) << "no MIG instance outlives colo serve";
  EXPECT_NE(out.str().find("destroyed the 4 MIG instance(s) of GPU 0"), std::string::npos)
      << out.str();
}

// A pool alone on its GPU changes profile live: it drains (queued tasks wait, none is lost), the
// layout is re-created with the new profile, the workers restart on the new instance. Then to an
// MPS share (the instance is destroyed) and back.
TEST_F(ServeMigTest, PartitionChangeRecreatesTheLayoutWithoutLosingTasks) {
  auto gpu = host(2);
  auto f = mig_fn("f", "1g.18gb", 1);
  f.env["PAUSE"] = "0.1";
  Daemon d(config({f, mig_fn("g", "7g.141gb", 0)}), pool_context(), clock, out, gpu.get());
  ASSERT_TRUE(d.start()) << out.str();
  const auto before = sim->mig_instances(1);
  ASSERT_EQ(before.size(), 1U);
  const auto other = sim->mig_instances(0);
  ASSERT_EQ(other.size(), 1U);
  httplib::Client cli("127.0.0.1", d.port());
  auto b = cli.Post("/v1/batch",
                    json{{"function", "f"}, {"inputs", json::array({1, 2, 3, 4, 5, 6})}}.dump(),
                    "application/json");
  ASSERT_TRUE(b);
  ASSERT_EQ(b->status, 202) << b->body;
  const auto ids = json::parse(b->body)["ids"];
  auto r = put_partition(d.port(), "f", {{"kind", "mig"}, {"profile", "3g.71gb"}, {"device", 1}});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body << out.str();
  const auto after = sim->mig_instances(1);
  ASSERT_EQ(after.size(), 1U);
  const auto answer = json::parse(r->body);
  EXPECT_EQ(answer.value("mig_profile", ""), "3g.71gb") << r->body;
  EXPECT_EQ(answer.value("mig_uuid", ""), after[0]) << r->body;
  EXPECT_NE(after, before) << "a new instance";
  EXPECT_EQ(sim->mig_instances(0), other) << "the other GPU's layout is untouched";
  cli.set_read_timeout(std::chrono::seconds(30));
  auto res = cli.Post("/v1/results", json{{"ids", ids}, {"wait_s", 20}}.dump(), "application/json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  std::set<std::string> uuids;
  const auto results = json::parse(res->body);  // alive through the loop (not a temporary's member)
  for (const auto& t : results["tasks"]) {
    ASSERT_EQ(t.value("state", ""), "succeeded") << t.dump();
    uuids.insert(fields(t)[0]);
  }
  EXPECT_TRUE(uuids.count(before[0]) + uuids.count(after[0]) == uuids.size())
      << "every task ran on the old or the new instance";
  const auto now = fields(call(d.port(), "f"));
  EXPECT_EQ(now[0], after[0]);
  EXPECT_EQ(now[1], "3g.71gb");
  // To an MPS share: the instance goes; back to MIG: a new one.
  r = put_partition(d.port(), "f", {{"kind", "mps"}, {"device", 1}, {"thread_percent", 40}});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_TRUE(sim->mig_instances(1).empty());
  EXPECT_EQ(call(d.port(), "f").value("state", ""), "succeeded");
  r = put_partition(d.port(), "f", {{"kind", "mig"}, {"profile", "2g.35gb"}, {"device", 1}});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  ASSERT_EQ(sim->mig_instances(1).size(), 1U);
  EXPECT_EQ(fields(call(d.port(), "f"))[0], sim->mig_instances(1)[0]);
  // A profile the H200 lacks: refused with the valid ones, the pool keeps its instance.
  r = put_partition(d.port(), "f", {{"kind", "mig"}, {"profile", "1g.10gb"}, {"device", 1}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->body.find("valid: 1g.18gb"), std::string::npos) << r->body;
  EXPECT_EQ(sim->mig_instances(1).size(), 1U);
  d.shutdown();
  EXPECT_TRUE(sim->mig_instances(0).empty());
  EXPECT_TRUE(sim->mig_instances(1).empty());
}

TEST_F(ServeMigTest, FailedStartLeavesNoInstance) {
  {
    // A layout that does not fit: refused before any instance is made.
    auto gpu = host();
    Daemon d(config({mig_fn("a", "4g.71gb"), mig_fn("b", "4g.71gb")}), pool_context(), clock, out,
             gpu.get());
    auto st = d.start();
    ASSERT_FALSE(st);
    EXPECT_NE(st.error().message.find("'a' (4g.71gb) fit, then 'b' (4g.71gb) does not"),
              std::string::npos)
        << st.error().what();
    EXPECT_TRUE(sim->mig_instances(0).empty());
  }
  {
    // GPU 1's instances cannot be made (someone else's layout is there): GPU 0's are destroyed.
    auto gpu = host(2);
    sim->set_mig_instances(1, {"MIG-someone-else"});
    Daemon d(config({mig_fn("a", "3g.71gb", 0), mig_fn("b", "3g.71gb", 1)}), pool_context(), clock,
             out, gpu.get());
    auto st = d.start();
    ASSERT_FALSE(st);
    EXPECT_NE(st.error().message.find("GPU 1: cannot create the MIG instances of b"),
              std::string::npos)
        << st.error().what();
    EXPECT_TRUE(sim->mig_instances(0).empty()) << out.str();
    EXPECT_EQ(sim->mig_instances(1), std::vector<std::string>{"MIG-someone-else"});
  }
}

TEST_F(ServeMigTest, MigDisabledSuggestsTheEquivalentMpsShare) {
  auto gpu = host(1, "disabled");
  Daemon d(config({mig_fn("a", "1g.18gb")}), pool_context(), clock, out, gpu.get());
  auto st = d.start();
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::unsupported);
  EXPECT_NE(st.error().message.find("MIG is disabled on GPU 0 (NVIDIA H200 (simulated))"),
            std::string::npos)
      << st.error().what();
  EXPECT_NE(st.error().message.find("partition: {kind: mps, thread_percent: "), std::string::npos);
}

}  // namespace
}  // namespace colo::serve
