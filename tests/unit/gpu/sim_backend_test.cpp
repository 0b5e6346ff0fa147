#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>

#include "core/clock.hpp"
#include "core/os.hpp"
#include "gpu/nvml/nvml_backend.hpp"
#include "gpu/sim/sim_backend.hpp"
#include "gpu/sim/sim_registry.hpp"

namespace colo::sim {
namespace {

std::string temp_dir() {
  auto p = std::filesystem::temp_directory_path() /
           ("colo-sim-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::filesystem::remove_all(p);
  return p.string();
}

TEST(SimBackend, ListsTopologyDevicesLabelledSimulated) {
  FakeClock clock;
  SimTopology t;
  t.devices = 2;
  SimBackend b(t, clock);
  auto d = b.devices();
  ASSERT_TRUE(d);
  ASSERT_EQ(d->size(), 2U);
  EXPECT_TRUE((*d)[0].simulated);
  EXPECT_NE((*d)[1].name.find("(simulated)"), std::string::npos);
  EXPECT_EQ((*d)[0].sm_count, 132);
  EXPECT_TRUE(b.simulated());
}

TEST(SimBackend, RejectsUnknownDeviceAndMig) {
  FakeClock clock;
  SimBackend b(SimTopology{}, clock);
  ModeSettings ts{ModeKind::timeslice, {}, {}, {}, {}};
  EXPECT_EQ(b.check_mode(ts, {3}).error().code, ErrorCode::not_found);
  ModeSettings mig{ModeKind::mig, {}, {}, {}, {"3g.40gb"}};
  auto st = b.check_mode(mig, {0});
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("mig-equivalent"), std::string::npos) << st.error().message;
  EXPECT_NE(st.error().message.find("3g.40gb = 60 SMs (46% threads), 40448 MiB"), std::string::npos)
      << st.error().message;
  ModeSettings green{ModeKind::green, {}, {}, {}, {}};
  green.sms.all = 200;
  EXPECT_FALSE(b.check_mode(green, {0}));
}

TEST(SimBackend, TelemetryReflectsRegisteredClients) {
  FakeClock clock;
  SimBackend b(SimTopology{}, clock);
  ModeSettings mps{ModeKind::mps, {}, {}, {}, {}};
  auto session = b.begin_mode(mps, {0}, temp_dir());
  ASSERT_TRUE(session) << session.error().what();
  ClientPlan c;
  c.thread_percent = 50;
  auto env = (*session)->client_env(c, 0);
  EXPECT_EQ(env.at("COLO_SIM_SM_LIMIT"), "0.500000");
  SimRegistry reg(env.at("COLO_SIM_GPU_DIR"));
  ClientRecord rec;
  rec.pid = ::getpid();
  rec.model = SimClient{0.5, 0.4, 0.2, 1.0};
  rec.mem_bytes = 10ULL << 30;
  rec.active = true;
  ASSERT_TRUE(reg.join(rec, std::nullopt));
  auto m = b.sample(0);
  ASSERT_TRUE(m);
  auto value = [&](const std::string& n) {
    for (const auto& x : *m) {
      if (x.name == n) {
        return x.value;
      }
    }
    return -1.0;
  };
  EXPECT_NEAR(value("DCGM_FI_DEV_FB_USED"), 10240.0, 1e-6);
  // Per-workload GPU memory, as NVML's per-process list gives it.
  int per_process = 0;
  for (const auto& x : *m) {
    if (x.name == "colo.process_gpu_mem_bytes") {
      ++per_process;
      EXPECT_EQ(x.pid, ::getpid());
      EXPECT_DOUBLE_EQ(x.value, static_cast<double>(10ULL << 30));
    }
  }
  EXPECT_EQ(per_process, 1);
  EXPECT_NEAR(value("DCGM_FI_PROF_SM_ACTIVE"), 0.2, 1e-6);
  EXPECT_GT(value("DCGM_FI_DEV_POWER_USAGE"), 70.0);
  clock.advance(std::chrono::seconds(2));
  auto m2 = b.sample(0);
  double energy = 0;
  for (const auto& x : *m2) {
    if (x.name == "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION") {
      energy = x.value;
    }
  }
  EXPECT_GT(energy, 2 * 70.0 * 1e3);  // more than idle power for 2 s, in mJ
  reg.leave(rec.pid);
  ASSERT_TRUE((*session)->end());
}

TEST(SimRegistry, OutOfMemoryWhenDeviceOrLimitIsExceeded) {
  SimRegistry reg(temp_dir());
  DeviceState st;
  st.memory_bytes = 16ULL << 30;
  ASSERT_TRUE(reg.init(st));
  ClientRecord a;
  a.pid = ::getpid();
  a.mem_bytes = 10ULL << 30;
  ASSERT_TRUE(reg.join(a, std::nullopt));
  ClientRecord b = a;
  b.pid = ::getppid();  // another live process
  auto r = reg.join(b, std::nullopt);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message.rfind("out of memory", 0), 0U) << r.error().message;
  ClientRecord c = a;
  c.pid = ::getppid();
  c.mem_bytes = 4ULL << 30;
  auto lim = reg.join(c, 2ULL << 30);
  ASSERT_FALSE(lim);
  EXPECT_NE(lim.error().message.find("pinned device memory limit"), std::string::npos);
  ASSERT_TRUE(reg.join(c, std::nullopt));
  EXPECT_EQ(reg.clients()->size(), 2U);
}

TEST(SimRegistry, IgnoresRecordsOfDeadProcesses) {
  SimRegistry reg(temp_dir());
  ASSERT_TRUE(reg.init(DeviceState{}));
  ClientRecord dead;
  dead.pid = 999999999;  // beyond pid_max
  ASSERT_TRUE(reg.update(dead));
  EXPECT_TRUE(reg.clients()->empty());
}

// Issue 11 item 1: "alive" means alive. A zombie (exited, not yet reaped) and a process that
// got a dead client's pid are not that client.
TEST(SimRegistry, ZombiesAndReusedPidsAreNotLiveClients) {
  SimRegistry reg(temp_dir());
  ASSERT_TRUE(reg.init(DeviceState{}));
  const pid_t child = ::fork();
  if (child == 0) {
    ::_exit(0);
  }
  ASSERT_GT(child, 0);
  siginfo_t si{};
  // Waits for the child to exit but leaves it a zombie (WNOWAIT).
  ASSERT_EQ(::waitid(P_PID, static_cast<id_t>(child), &si, WEXITED | WNOWAIT), 0);
  ClientRecord zombie;
  zombie.pid = child;
  ASSERT_TRUE(reg.update(zombie));
  EXPECT_FALSE(pid_alive(child));
  ClientRecord reused;  // this process's pid, but another start time: a reused pid
  reused.pid = ::getpid();
  reused.start_time = process_start_time(::getpid()).value_or(0) + 1;
  ASSERT_TRUE(reg.update(reused));
  EXPECT_TRUE(reg.clients()->empty());
  ClientRecord self = reused;
  self.start_time = process_start_time(::getpid()).value_or(0);
  ASSERT_GT(self.start_time, 0U);
  ASSERT_TRUE(reg.update(self));
  EXPECT_EQ(reg.clients()->size(), 1U);
  ASSERT_EQ(::waitpid(child, nullptr, 0), child);
}

// Issue 11 item 1: a resumed run reuses its run directory; clients registered there by the
// killed session (whose processes may still be exiting) are not the new run's co-runners.
TEST(SimBackend, AModeSessionStartsFromACleanDevice) {
  FakeClock clock;
  SimBackend b(SimTopology{}, clock);
  const std::string run_dir = temp_dir();
  ModeSettings ts{ModeKind::timeslice, {}, {}, {}, {}};
  auto first = b.begin_mode(ts, {0}, run_dir);
  ASSERT_TRUE(first) << first.error().what();
  SimRegistry reg((*first)->client_env(ClientPlan{}, 0).at("COLO_SIM_GPU_DIR"));
  ClientRecord phantom;  // alive: this very process
  phantom.pid = ::getpid();
  phantom.start_time = process_start_time(::getpid()).value_or(0);
  phantom.active = true;
  ASSERT_TRUE(reg.join(phantom, std::nullopt));
  ASSERT_EQ(reg.clients()->size(), 1U);
  first->reset();  // the session of a colo that was killed: never ended its clients
  auto second = b.begin_mode(ts, {0}, run_dir);
  ASSERT_TRUE(second) << second.error().what();
  EXPECT_TRUE(reg.clients()->empty());
}

TEST(SimTopology, ParsesFileAndRejectsUnknownFields) {
  auto t = parse_topology("name: Test GPU\ndevices: 2\nsm_count: 108\nmemory: 40G\n", "t.yaml");
  ASSERT_TRUE(t) << t.error().what();
  EXPECT_EQ(t->sm_count, 108);
  EXPECT_EQ(t->memory_bytes, 40ULL << 30);
  auto bad = parse_topology("name: x\nwarp_drive: 1\n", "t.yaml");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("t.yaml:2: unknown field 'warp_drive'"), std::string::npos);
  auto shipped = load_topology(std::string(COLO_SOURCE_DIR) + "/data/topologies/h100-80gb.yaml");
  ASSERT_TRUE(shipped) << shipped.error().what();
  EXPECT_EQ(shipped->sm_count, SimTopology{}.sm_count);
  EXPECT_EQ(shipped->memory_bytes, SimTopology{}.memory_bytes);
}

TEST(NvmlBackend, MissingLibraryIsAnErrorValue) {
  auto b = NvmlBackend::create("libnvidia-ml-does-not-exist.so.1");
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().code, ErrorCode::gpu);
  EXPECT_NE(b.error().message.find("cannot load"), std::string::npos);
}

}  // namespace
}  // namespace colo::sim
