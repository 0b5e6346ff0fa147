#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>

#include "core/clock.hpp"
#include "gpu/cuda/cuda_driver.hpp"
#include "gpu/mig/mig_profiles.hpp"
#include "gpu/mps/mps_daemon.hpp"
#include "gpu/sim/contention_model.hpp"
#include "gpu/sim/sim_backend.hpp"

namespace colo {
namespace {

std::vector<MigProfile> h100() {
  auto t = mig_profiles_for("NVIDIA H100 80GB HBM3");
  EXPECT_TRUE(t);
  return *t;
}

TEST(MigProfiles, TableMatchesTheDriverOutput) {
  auto t = h100();
  auto p = find_mig_profile(t, "3g.40gb");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->id, 9);
  EXPECT_EQ(p->sms, 60);
  EXPECT_EQ(p->mem_slices, 4);
  EXPECT_EQ(p->starts, (std::vector<int>{0, 4}));
  EXPECT_FALSE(find_mig_profile(t, "5g.50gb"));
  EXPECT_FALSE(mig_profiles_for("Tesla T4"));
}

struct LayoutCase {
  std::vector<std::string> layout;
  bool fits;
};

class MigLayouts : public ::testing::TestWithParam<LayoutCase> {};

TEST_P(MigLayouts, PlacementFollowsTheTables) {
  auto r = place_mig_layout(h100(), GetParam().layout);
  EXPECT_EQ(static_cast<bool>(r), GetParam().fits) << (r ? "" : r.error().message);
  if (r) {
    std::vector<bool> used(8, false);
    auto t = h100();
    for (const auto& pl : *r) {
      auto p = find_mig_profile(t, pl.profile);
      EXPECT_NE(std::find(p->starts.begin(), p->starts.end(), pl.start), p->starts.end());
      for (int k = pl.start; k < pl.start + p->mem_slices; ++k) {
        EXPECT_FALSE(used[static_cast<std::size_t>(k)]) << "overlap at slice " << k;
        used[static_cast<std::size_t>(k)] = true;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Layouts, MigLayouts,
    ::testing::Values(
        LayoutCase{{"1g.10gb", "1g.10gb", "1g.10gb", "1g.10gb", "1g.10gb", "1g.10gb", "1g.10gb"},
                   true},
        LayoutCase{{"2g.20gb", "2g.20gb", "2g.20gb"}, true},
        LayoutCase{{"3g.40gb", "3g.40gb"}, true},
        LayoutCase{{"4g.40gb", "2g.20gb", "1g.10gb"}, true}, LayoutCase{{"7g.80gb"}, true},
        LayoutCase{{"3g.40gb", "4g.40gb"}, true},
        LayoutCase{{"4g.40gb", "4g.40gb"}, false},  // max count 1
        LayoutCase{{"7g.80gb", "1g.10gb"}, false},  // 8 compute slices
        LayoutCase{{"1g.10gb", "1g.10gb", "1g.10gb", "1g.10gb", "1g.10gb", "1g.10gb", "1g.10gb",
                    "1g.10gb"},
                   false},                                                           // 8 instances
        LayoutCase{{"1g.20gb", "1g.20gb", "1g.20gb", "1g.20gb", "1g.10gb"}, false},  // memory
        LayoutCase{{"3g.40gb", "2g.20gb", "2g.20gb"}, true},
        LayoutCase{{"3g.40gb", "3g.40gb", "1g.10gb"}, false}));  // 7 SM slices, no memory left

TEST(MigProfiles, MpsEquivalentKeepsSmShareAndMemory) {
  auto p = *find_mig_profile(h100(), "3g.40gb");
  auto e = mps_equivalent(p, 132);
  EXPECT_EQ(e.thread_percent, 46);  // ceil(60 / 132 * 100)
  EXPECT_EQ(e.mem_limit, 40448ULL * 1024 * 1024);
  EXPECT_EQ(mps_equivalent(*find_mig_profile(h100(), "7g.80gb"), 132).thread_percent, 100);
  EXPECT_EQ(mps_equivalent(*find_mig_profile(h100(), "1g.10gb"), 132).thread_percent, 13);
}

TEST(MpsLog, FindsFaultedAndTornDownClients) {
  const std::string log =
      "[2026-11-24 10:00:00.000 Control 100] Starting new server 200 for user 0\n"
      "[2026-11-24 10:00:01.000 Other 200] Client 4321 encountered a fatal GPU error.\n"
      "[2026-11-24 10:00:01.000 Other 200] All clients belonging to error trigging process "
      "4321 will be torn down\n"
      "[2026-11-24 10:00:01.001 Other 200] Client 4322 encountered a fatal GPU error.\n"
      "[2026-11-24 10:00:02.000 Server 200] Received new client request\n";
  auto f = parse_mps_server_log(log);
  ASSERT_EQ(f.size(), 3U);
  EXPECT_EQ(f[0].pid, 4321);
  EXPECT_EQ(f[2].pid, 4322);
  EXPECT_TRUE(parse_mps_server_log("[x] Server started\n").empty());
}

TEST(MpsLog, FindsServersThatEndedAbnormally) {
  const std::string log =
      "[2026-11-30 10:00:00.000 Control 100] Starting new server 200 for user 0\n"
      "[2026-11-30 10:00:05.000 Control 100] Server 200 exited with status 9\n"
      "[2026-11-30 10:00:06.000 Control 100] Starting new server 201 for user 0\n"
      "[2026-11-30 10:00:06.500 Control 100] Try shutting down server 201, backoff is disabled\n"
      "[2026-11-30 10:00:07.000 Control 100] Server 201 exited with status 0\n"
      "[2026-11-30 10:00:08.000 Control 100] Server 202 was killed\n";
  auto f = parse_mps_control_log(log);
  ASSERT_EQ(f.size(), 2U);
  EXPECT_EQ(f[0].pid, 200);
  EXPECT_EQ(f[1].pid, 202);
}

// Real lines (driver 580.159.04, H200; bench/results/2026-11-30-h200-faults-mps): a server colo
// shut down, and a server killed -9 mid-run, which the control daemon logs with status 0 too.
TEST(MpsLog, AServerKilledMidRunIsLostEvenWithStatusZero) {
  const std::string shut_down =
      "[2026-11-30 18:47:01.103 Control 21908] Cmd:quit\n"
      "[2026-11-30 18:47:01.103 Control 21908] Try shutting down server 21916, backoff is "
      "disabled\n"
      "[2026-11-30 18:47:01.123 Control 21908] Server 21916 exited with status 0\n"
      "[2026-11-30 18:47:01.124 Control 21908] Exit with status 0\n";
  EXPECT_TRUE(parse_mps_control_log(shut_down).empty());
  const std::string busy_then_shut_down =
      "[2026-11-30 18:49:18.203 Control 10791] Try shutting down server 10927, backoff is "
      "disabled\n"
      "[2026-11-30 18:49:18.213 Control 10791] Server 10927 has 2 active worker threads. Server "
      "will not shutdown.\n"
      "[2026-11-30 18:49:18.414 Control 10791] Try shutting down server 10927, backoff is "
      "enabled\n"
      "[2026-11-30 18:49:18.417 Control 10791] Server 10927 exited with status 0\n";
  EXPECT_TRUE(parse_mps_control_log(busy_then_shut_down).empty());
  const std::string killed =
      "[2026-11-30 18:48:56.355 Control   464] NEW SERVER 471: Ready\n"
      "[2026-11-30 18:49:02.657 Control   464] Server 471 exited with status 0\n"
      "[2026-11-30 18:49:02.746 Control   464] Cmd:quit\n";
  const auto f = parse_mps_control_log(killed);
  ASSERT_EQ(f.size(), 1U);
  EXPECT_EQ(f[0].pid, 471);
}

// A stand-in for nvidia-cuda-mps-control: `-d` leaves a daemon (a sleep that keeps colo's
// COLO_MPS_* environment) and its control pipe; the client mode kills it on "quit".
std::string fake_mps_control(const std::string& dir) {
  const std::string path = dir + "/fake-mps-control";
  std::ofstream(path) << R"SH(#!/bin/sh
if [ "$1" = "-d" ]; then
  sleep 300 &
  echo $! > "$CUDA_MPS_PIPE_DIRECTORY/daemon.pid"
  touch "$CUDA_MPS_PIPE_DIRECTORY/control"
  exit 0
fi
read cmd
[ "$cmd" = quit ] && kill "$(cat "$CUDA_MPS_PIPE_DIRECTORY/daemon.pid")"
)SH";
  std::filesystem::permissions(path, std::filesystem::perms::owner_all);
  return path;
}

// Issue 11: the MPS control daemon killed mid-run. The daemon says it is lost (naming the MPS
// control daemon), reports it as a fault of pid 0 (the engine fails the run with it), and quit()
// leaves no MPS process and no pipe directory without asking the dead daemon.
TEST(MpsDaemon, AControlDaemonThatDiedIsLostAndQuitLeavesNothing) {
  const std::string dir = ::testing::TempDir() + "/mps-lost-" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const auto control = fake_mps_control(dir);
  {
    auto healthy = MpsDaemon::start(dir + "/ok", "GPU-0", control);
    ASSERT_TRUE(healthy) << healthy.error().what();
    EXPECT_EQ(healthy->lost(), std::nullopt);
    EXPECT_TRUE(healthy->faults().empty());
    ASSERT_EQ(mps_processes(healthy->pipe_dir()).size(), 1U);
    EXPECT_TRUE(healthy->quit());
    EXPECT_TRUE(mps_processes(healthy->pipe_dir()).empty());
    EXPECT_FALSE(std::filesystem::exists(healthy->pipe_dir()));
  }
  auto d = MpsDaemon::start(dir + "/killed", "GPU-0", control);
  ASSERT_TRUE(d) << d.error().what();
  const auto procs = mps_processes(d->pipe_dir());
  ASSERT_EQ(procs.size(), 1U);
  ::kill(procs.front(), SIGKILL);
  for (int i = 0; i < 500 && !mps_processes(d->pipe_dir()).empty(); ++i) {
    ::usleep(10000);
  }
  const auto why = d->lost();
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("MPS control daemon"), std::string::npos) << *why;
  EXPECT_NE(why->find(std::to_string(procs.front())), std::string::npos) << *why;
  const auto faults = d->faults();
  ASSERT_EQ(faults.size(), 1U);
  EXPECT_EQ(faults[0].pid, 0);
  EXPECT_TRUE(d->quit());
  EXPECT_FALSE(std::filesystem::exists(d->pipe_dir()));
  EXPECT_EQ(d->lost(), std::nullopt);  // quit: nothing held any more
  std::filesystem::remove_all(dir);
}

// A resumed run reuses its log directory: the failed attempt's lines (a server killed mid-run,
// a faulted client) are not the new daemon's (seen on the H200: every resume failed again).
TEST(MpsDaemon, AnEarlierAttemptsLogLinesAreNotThisDaemons) {
  const std::string dir = ::testing::TempDir() + "/mps-resume-" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir + "/run/log");
  std::ofstream(dir + "/run/log/control.log")
      << "[2026-11-30 18:54:54.643 Control  9722] Server 9743 exited with status 0\n";
  std::ofstream(dir + "/run/log/server.log")
      << "[2026-11-30 18:54:54.600 Other 9743] Client 4242 encountered a fatal GPU error.\n";
  ASSERT_FALSE(parse_mps_control_log("[x] Server 9743 exited with status 0\n").empty());
  const auto control = fake_mps_control(dir);
  auto d = MpsDaemon::start(dir + "/run", "GPU-0", control);
  ASSERT_TRUE(d) << d.error().what();
  EXPECT_EQ(d->lost(), std::nullopt);
  EXPECT_TRUE(d->faults().empty());
  // A line this daemon's log gets is read.
  std::ofstream(dir + "/run/log/control.log", std::ios::app)
      << "[2026-11-30 19:00:00.000 Control  9800] Server 9801 exited with status 0\n";
  const auto why = d->lost();
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("9801"), std::string::npos) << *why;
  EXPECT_EQ(why->find("9743"), std::string::npos) << *why;
  EXPECT_TRUE(d->quit());
  std::filesystem::remove_all(dir);
}

TEST(MpsDaemon, MissingControlBinaryIsUnsupported) {
  auto d =
      MpsDaemon::start(::testing::TempDir() + "/mps-missing", "GPU-0", "colo-no-such-mps-control");
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code, ErrorCode::unsupported);
  EXPECT_NE(d.error().message.find("colo-no-such-mps-control"), std::string::npos);
}

TEST(MpsDaemon, PipeAndLogDirectoriesAreOwnerOnly) {
  const std::string dir = ::testing::TempDir() + "/mps-private-" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  const mode_t old = ::umask(0);  // what a careless login shell might have
  (void)MpsDaemon::start(dir, "GPU-0", "colo-no-such-mps-control");
  ::umask(old);
  for (const char* sub : {"/pipe", "/log"}) {
    struct stat st{};
    ASSERT_EQ(::stat((dir + sub).c_str(), &st), 0) << sub;
    EXPECT_EQ(st.st_mode & 0777, 0700U) << sub;
    EXPECT_EQ(st.st_uid, ::geteuid()) << sub;
  }
  std::filesystem::remove_all(dir);
}

TEST(CudaDriver, UuidFormatAndMissingLibrary) {
  const unsigned char b[16] = {0xb7, 0xd9, 0x19, 0x69, 0x57, 0xda, 0xb1, 0x04,
                               0x29, 0x24, 0x9a, 0xe7, 0xb6, 0xfe, 0xe0, 0x7a};
  EXPECT_EQ(format_gpu_uuid(b), "GPU-b7d91969-57da-b104-2924-9ae7b6fee07a");
  auto c = CudaDriver::create("libcuda-does-not-exist.so.1");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, ErrorCode::gpu);
}

TEST(SimMig, InstancesAreIsolated) {
  // Two clients that would saturate DRAM under MPS do not slow each other in MIG instances.
  sim::SimClient big{1.0, 0.4, 0.8, 60.0 / 132, 0.5};
  auto mps = sim::speed_factors({big, big}, ModeKind::mps, {0, 0});
  auto mig = sim::speed_factors({big, big}, ModeKind::mig, {0, 0});
  auto alone = sim::speed_factors({big}, ModeKind::mig, {0, 0});
  EXPECT_DOUBLE_EQ(mig[0], alone[0]);
  EXPECT_LT(alone[0], 1.0);  // its 3g slice has fewer SMs and half the bandwidth
  EXPECT_NE(mps[0], mig[0]);
}

TEST(SimMig, SimulatedGpuWithMigEnabledAcceptsLegalLayouts) {
  FakeClock clock;
  sim::SimTopology t;
  t.mig_mode = "enabled";
  sim::SimBackend b(t, clock);
  ModeSettings ok{ModeKind::mig, {}, {}, {}, {"4g.40gb", "2g.20gb", "1g.10gb"}};
  EXPECT_TRUE(b.check_mode(ok, {0}));
  ModeSettings bad{ModeKind::mig, {}, {}, {}, {"4g.40gb", "4g.40gb"}};
  EXPECT_FALSE(b.check_mode(bad, {0}));
  auto s = b.begin_mode(ok, {0}, ::testing::TempDir() + "/simmig");
  ASSERT_TRUE(s) << s.error().what();
  ClientPlan c;
  c.mig_profile = "2g.20gb";
  auto env = (*s)->client_env(c, 0);
  EXPECT_EQ(env.at("COLO_SIM_BW_LIMIT"), "0.250000");
  EXPECT_EQ(env.at("COLO_SIM_MEM_LIMIT"), std::to_string(20096ULL * 1024 * 1024));
  EXPECT_EQ(env.at("COLO_SIM_SM_LIMIT"), fmt::format("{:.6f}", 32.0 / 132));
  // mig-equivalent on a GPU without MIG: MPS limits of the same size.
  sim::SimBackend off(sim::SimTopology{}, clock);
  ModeSettings eq{ModeKind::mig_equivalent, {}, {}, {}, {"3g.40gb", "3g.40gb"}};
  auto se = off.begin_mode(eq, {0}, ::testing::TempDir() + "/simmigeq");
  ASSERT_TRUE(se) << se.error().what();
  ClientPlan c3;
  c3.mig_profile = "3g.40gb";
  auto env3 = (*se)->client_env(c3, 0);
  EXPECT_EQ(env3.at("CUDA_MPS_ACTIVE_THREAD_PERCENTAGE"), "46");
  EXPECT_EQ(env3.count("COLO_SIM_BW_LIMIT"), 0U);
}

// Mode mig on the simulated GPU keeps its instances as NVML's layouts do: one UUID per client of
// each device from begin_mode (CUDA_VISIBLE_DEVICES of the client), none after end(), and no
// second layout on a device that has one.
TEST(SimMig, InstancesExistFromBeginToEnd) {
  FakeClock clock;
  sim::SimTopology t;
  t.devices = 2;
  t.mig_mode = "enabled";
  sim::SimBackend b(t, clock);
  ModeSettings mode{ModeKind::mig, {}, {}, {}, {"3g.40gb", "2g.20gb", "1g.10gb"}};
  auto s = b.begin_mode(mode, {0, 1}, ::testing::TempDir() + "/siminst");
  ASSERT_TRUE(s) << s.error().what();
  const auto on0 = b.mig_instances(0);
  const auto on1 = b.mig_instances(1);
  ASSERT_EQ(on0.size(), 2U);  // clients 0 and 2
  ASSERT_EQ(on1.size(), 1U);  // client 1
  EXPECT_NE(on0[0], on0[1]);
  ClientPlan c;
  c.mig_profile = "1g.10gb";
  EXPECT_EQ((*s)->client_env(c, 2).at("CUDA_VISIBLE_DEVICES"), on0[1]);
  c.mig_profile = "2g.20gb";
  EXPECT_EQ((*s)->client_env(c, 1).at("CUDA_VISIBLE_DEVICES"), on1[0]);
  auto again = b.begin_mode(ModeSettings{ModeKind::mig, {}, {}, {}, {"1g.10gb"}}, {1},
                            ::testing::TempDir() + "/siminst2");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::busy);
  EXPECT_NE(again.error().message.find("simulated GPU 1 already has 1 MIG instance(s)"),
            std::string::npos)
      << again.error().message;
  ASSERT_TRUE((*s)->end());
  EXPECT_TRUE(b.mig_instances(0).empty());
  EXPECT_TRUE(b.mig_instances(1).empty());
  auto after = b.begin_mode(ModeSettings{ModeKind::mig, {}, {}, {}, {"1g.10gb"}}, {1},
                            ::testing::TempDir() + "/siminst3");
  ASSERT_TRUE(after) << after.error().what();
  EXPECT_NE(b.mig_instances(1).at(0), on1[0]) << "a new instance, a new UUID";
}

TEST(GreenOffsets, PackEachDevicesClientsInOrderRoundedToTheGranule) {
  auto c = [](std::optional<int> sms) {
    ClientPlan p;
    p.sms = sms;
    return p;
  };
  // One GPU: 16, 20 (-> 24), 8 SMs.
  EXPECT_EQ(green_offsets({c(16), c(20), c(8)}, {0}), (std::vector<int>{0, 16, 40}));
  // Two GPUs, clients alternate: GPU 0 gets clients 0 and 2, GPU 1 gets client 1 and 3.
  EXPECT_EQ(green_offsets({c(16), c(16), c(32), c(32)}, {0, 1}), (std::vector<int>{0, 0, 16, 16}));
  // Clients without a partition take no SMs.
  EXPECT_EQ(green_offsets({c(std::nullopt), c(16)}, {0}), (std::vector<int>{0, 0}));
}

}  // namespace
}  // namespace colo
