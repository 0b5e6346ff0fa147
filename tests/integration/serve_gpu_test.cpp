// colo serve's pools on GPUs, in process, on a FakeGpuHost (two fake GPUs): pools on either GPU,
// one MPS daemon per GPU with MPS pools (its client environment in the workers), every daemon
// quit at shutdown and when the start fails, a GPU the host lacks refused, an MPS fault recycles
// the GPU's MPS pools and names MPS in the failed task's reason, DCGM telemetry in /metrics.
// The workers are real shell processes; the HTTP API is spoken to on a loopback port.
#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <set>
#include <sstream>

#include "core/clock.hpp"
#include "launch/process.hpp"
#include "serve/daemon.hpp"
#include "serve_support.hpp"

namespace colo::serve {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// What the fake host saw, shared with its servers (which outlive nothing: the daemon quits them).
struct FakeLog {
  std::mutex mutex;
  std::vector<std::string> events;  // "start 0 DIR", "quit 0"
  std::string fault_flag;           // while this file exists, GPU 0's server reports a fault
  void add(const std::string& e) {
    const std::lock_guard lock(mutex);
    events.push_back(e);
  }
  int count(const std::string& prefix) {
    const std::lock_guard lock(mutex);
    return static_cast<int>(std::count_if(events.begin(), events.end(),
                                          [&](const auto& e) { return e.starts_with(prefix); }));
  }
};

class FakeMpsServer final : public MpsServer {
 public:
  FakeMpsServer(FakeLog& log, int device, std::string dir)
      : m_log(log), m_device(device), m_dir(std::move(dir)) {}
  [[nodiscard]] std::map<std::string, std::string> client_env() const override {
    return {{"CUDA_MPS_PIPE_DIRECTORY", m_dir + "/pipe"}, {"CUDA_MPS_LOG_DIRECTORY", m_dir}};
  }
  [[nodiscard]] std::vector<MpsFault> faults() const override {
    if (m_device == 0 && fs::exists(m_log.fault_flag)) {
      return {{4242, "Client process 4242 encountered a fatal GPU error."}};
    }
    return {};
  }
  Status quit() override {
    if (!m_quit) {
      m_quit = true;
      m_log.add("quit " + std::to_string(m_device));
    }
    return {};
  }

 private:
  FakeLog& m_log;
  int m_device;
  std::string m_dir;
  bool m_quit = false;
};

class FakeGpuHost final : public GpuHost {
 public:
  explicit FakeGpuHost(FakeLog& log) : m_log(log) {}
  [[nodiscard]] bool simulated() const override { return false; }
  Result<std::vector<DeviceInfo>> devices() override {
    std::vector<DeviceInfo> out(2);
    for (int i = 0; i < 2; ++i) {
      out[static_cast<std::size_t>(i)].index = i;
      out[static_cast<std::size_t>(i)].uuid = "GPU-fake-" + std::to_string(i);
      out[static_cast<std::size_t>(i)].name = "Fake H200";
    }
    return out;
  }
  Result<std::vector<Metric>> sample(int device) override {
    ++samples;
    std::vector<Metric> m{{"DCGM_FI_DEV_GPU_UTIL", 40.0 + device, 0},
                          {"DCGM_FI_DEV_FB_USED", 1000.0 * (device + 1), 0}};
    for (int pid : pids_with_memory) {
      m.push_back({"colo.process_gpu_mem_bytes", 1024.0 * 1024, pid});
    }
    return m;
  }
  Result<std::unique_ptr<MpsServer>> start_mps(int device, const std::string& dir) override {
    if (device == fail_device) {
      return fail(ErrorCode::unsupported, "fake: the MPS daemon did not start");
    }
    m_log.add("start " + std::to_string(device) + " " + dir);
    return std::unique_ptr<MpsServer>(std::make_unique<FakeMpsServer>(m_log, device, dir));
  }
  int fail_device = -1;
  int samples = 0;
  std::vector<int> pids_with_memory;

 private:
  FakeLog& m_log;
};

class ServeGpuTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    dir = fs::temp_directory_path() / ("colo-serve-gpu-test-" + std::to_string(rd()));
    fs::create_directories(dir);
    log.fault_flag = (dir / "fault").string();
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }

  // A function whose worker answers with its GPU environment; input "fault" makes it raise the
  // fake MPS fault and exit 1 (as a CUDA client does after a fatal GPU error).
  FunctionConfig env_fn(const std::string& name, PartitionSpec p) const {
    FunctionConfig f;
    f.name = name;
    f.argv = {
        "/bin/sh", "-c",
        "while read -r l; do case \"$l\" in *fault*) : > \"$FLAG\"; exit 1;; esac; sleep $PAUSE; "
        "echo \"{\\\"result\\\": \\\"$CUDA_VISIBLE_DEVICES|$CUDA_MPS_PIPE_DIRECTORY|"
        "$CUDA_MPS_ACTIVE_THREAD_PERCENTAGE\\\"}\"; done"};
    f.env = {{"FLAG", log.fault_flag}, {"PAUSE", "0"}};
    f.partition = p;
    return f;
  }
  static PartitionSpec mps(int device, int percent) {
    PartitionSpec p;
    p.kind = PartitionKind::mps;
    p.device = device;
    p.thread_percent = percent;
    return p;
  }
  static PoolContext pool_context() { return test::pool_context(); }
  ServeConfig config(std::vector<FunctionConfig> fns) const {
    return test::config(dir, std::move(fns));
  }
  static json call(int port, const std::string& fn, const json& input) {
    return test::call(port, fn, input);
  }

  fs::path dir;
  FakeLog log;
  SteadyClock clock;
  std::ostringstream out;
};

TEST_F(ServeGpuTest, PoolsOnBothGpusOneMpsDaemonPerGpuAllQuit) {
  FakeGpuHost host(log);
  PartitionSpec whole;
  whole.kind = PartitionKind::gpu;
  whole.device = 1;
  {
    Daemon d(config({env_fn("a", mps(0, 50)), env_fn("b", mps(1, 30)), env_fn("c", mps(1, 70)),
                     env_fn("w", whole)}),
             pool_context(), clock, out, &host);
    ASSERT_TRUE(d.start()) << out.str();
    EXPECT_EQ(log.count("start 0 " + (dir / "state/mps/dev0").string()), 1);
    EXPECT_EQ(log.count("start 1 " + (dir / "state/mps/dev1").string()), 1);  // one for b and c
    const auto a = call(d.port(), "a", 1);
    ASSERT_EQ(a.value("state", ""), "succeeded") << a.dump();
    EXPECT_EQ(a["result"], "GPU-fake-0|" + (dir / "state/mps/dev0/pipe").string() + "|50");
    const auto c = call(d.port(), "c", 1);
    EXPECT_EQ(c["result"], "GPU-fake-1|" + (dir / "state/mps/dev1/pipe").string() + "|70");
    const auto w = call(d.port(), "w", 1);
    EXPECT_EQ(w["result"], "GPU-fake-1||") << "a whole-GPU pool gets no MPS environment";
    EXPECT_EQ(log.count("quit"), 0);
    d.shutdown();
    EXPECT_EQ(log.count("quit 0"), 1);
    EXPECT_EQ(log.count("quit 1"), 1);
  }
  EXPECT_EQ(log.count("quit"), 2) << "quit once each";
}

// One function's pool over both GPUs (gpus: [0, 1]): worker i on GPU i % 2, each with its GPU's
// MPS daemon.
TEST_F(ServeGpuTest, OnePoolSpansBothGpus) {
  FakeGpuHost host(log);
  auto f = env_fn("s", mps(0, 50));
  f.gpus = {0, 1};
  f.workers = f.min_workers = f.max_workers = 2;
  f.env["PAUSE"] = "0.05";  // both workers take tasks
  Daemon d(config({f}), pool_context(), clock, out, &host);
  ASSERT_TRUE(d.start()) << out.str();
  EXPECT_EQ(log.count("start 0"), 1);
  EXPECT_EQ(log.count("start 1"), 1);
  httplib::Client cli("127.0.0.1", d.port());
  auto r = cli.Post("/v1/batch",
                    json{{"function", "s"}, {"inputs", json::array({1, 2, 3, 4, 5, 6})}}.dump(),
                    "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 202) << r->body;
  const auto ids = json::parse(r->body)["ids"];
  auto res = cli.Post("/v1/results", json{{"ids", ids}, {"wait_s", 20}}.dump(), "application/json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  std::set<std::string> seen;
  const json tasks = json::parse(res->body)["tasks"];
  for (const auto& t : tasks) {
    ASSERT_EQ(t.value("state", ""), "succeeded") << t.dump();
    seen.insert(t["result"].get<std::string>());
  }
  EXPECT_EQ(seen, (std::set<std::string>{
                      "GPU-fake-0|" + (dir / "state/mps/dev0/pipe").string() + "|50",
                      "GPU-fake-1|" + (dir / "state/mps/dev1/pipe").string() + "|50"}));
  d.tick();
  EXPECT_EQ(host.samples, 2);
  d.shutdown();
  EXPECT_EQ(log.count("quit"), 2);
}

TEST_F(ServeGpuTest, FailedStartQuitsTheDaemonsAlreadyStarted) {
  FakeGpuHost host(log);
  host.fail_device = 1;
  Daemon d(config({env_fn("a", mps(0, 50)), env_fn("b", mps(1, 50))}), pool_context(), clock, out,
           &host);
  auto st = d.start();
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("function 'b'"), std::string::npos) << st.error().what();
  EXPECT_EQ(log.count("start 0"), 1);
  EXPECT_EQ(log.count("quit 0"), 1);
}

TEST_F(ServeGpuTest, GpuTheHostLacksIsRefused) {
  FakeGpuHost host(log);
  PartitionSpec p;
  p.kind = PartitionKind::gpu;
  p.device = 2;
  Daemon d(config({env_fn("a", p)}), pool_context(), clock, out, &host);
  auto st = d.start();
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::invalid_argument);
  EXPECT_NE(st.error().message.find("function 'a': GPU 2: this host has 2 GPU(s) (0..1)"),
            std::string::npos)
      << st.error().what();
}

TEST_F(ServeGpuTest, MpsFaultRecyclesTheGpusMpsPoolsAndNamesMps) {
  FakeGpuHost host(log);
  Daemon d(config({env_fn("a", mps(0, 50)), env_fn("b", mps(0, 50)), env_fn("other", mps(1, 50))}),
           pool_context(), clock, out, &host);
  ASSERT_TRUE(d.start());
  ASSERT_EQ(call(d.port(), "b", 1).value("state", ""), "succeeded");
  const auto t = call(d.port(), "a", "fault");
  EXPECT_EQ(t.value("state", ""), "failed") << t.dump();
  const std::string why = t.value("error", "");
  EXPECT_NE(why.find("worker crashed"), std::string::npos) << why;
  EXPECT_NE(why.find("MPS server fault on GPU 0"), std::string::npos) << why;
  EXPECT_NE(why.find("fatal GPU error"), std::string::npos) << why;
  d.tick();
  // b's worker (same GPU, same MPS server) restarts; other's (GPU 1) does not.
  const auto restarts = [&](const std::string& fn) {
    const std::string m = d.metrics_text();
    const std::string key = "colo_serve_worker_restarts_total{function=\"" + fn + "\"} ";
    const auto at = m.find(key);
    return at == std::string::npos ? -1 : std::stoi(m.substr(at + key.size()));
  };
  for (int i = 0; i < 400 && restarts("b") < 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(restarts("b"), 1);
  EXPECT_EQ(restarts("other"), 0);
  EXPECT_EQ(call(d.port(), "b", 2).value("state", ""), "succeeded");
  EXPECT_NE(out.str().find("MPS fault on GPU 0: client pid 4242"), std::string::npos) << out.str();
  d.shutdown();
}

TEST_F(ServeGpuTest, DcgmTelemetryPerGpuAndPool) {
  FakeGpuHost host(log);
  PartitionSpec whole;
  whole.kind = PartitionKind::gpu;
  whole.device = 1;
  Daemon d(config({env_fn("a", mps(0, 50)), env_fn("w", whole)}), pool_context(), clock, out,
           &host);
  ASSERT_TRUE(d.start());
  ASSERT_EQ(call(d.port(), "w", 1).value("state", ""), "succeeded");
  d.tick();
  EXPECT_EQ(host.samples, 2);  // one per GPU in use
  const std::string m = d.metrics_text();
  EXPECT_NE(m.find("# TYPE DCGM_FI_DEV_GPU_UTIL gauge"), std::string::npos) << m;
  EXPECT_NE(
      m.find("DCGM_FI_DEV_GPU_UTIL{UUID=\"GPU-fake-0\",gpu=\"0\",modelName=\"Fake H200\"} 40"),
      std::string::npos)
      << m;
  EXPECT_NE(
      m.find("DCGM_FI_DEV_FB_USED{UUID=\"GPU-fake-1\",gpu=\"1\",modelName=\"Fake H200\"} 2000"),
      std::string::npos)
      << m;
  EXPECT_NE(m.find("colo_serve_pool_gpu_info{UUID=\"GPU-fake-1\",function=\"w\",gpu=\"1\","
                   "modelName=\"Fake H200\",partition=\"gpu\"} 1"),
            std::string::npos)
      << m;
  EXPECT_EQ(m.find("simulated"), std::string::npos)
      << "a real (fake) GPU is not labelled simulated";
  d.shutdown();
}

}  // namespace
}  // namespace colo::serve
