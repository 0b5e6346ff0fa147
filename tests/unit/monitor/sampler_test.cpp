#include "monitor/sampler.hpp"

#include <unistd.h>

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "monitor/proc_stats.hpp"

namespace colo {
namespace {

TEST(ProcStats, ParsesStatWithSpacesInTheName) {
  const std::string stat =
      "4242 (my (odd) prog) S 1 4240 4240 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0 12345 "
      "104857600 2560 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 3 0 0 0 0 0";
  pid_t pgrp = 0;
  double ticks = 0;
  long rss = 0;
  ASSERT_TRUE(parse_proc_stat(stat, pgrp, ticks, rss));
  EXPECT_EQ(pgrp, 4240);
  EXPECT_DOUBLE_EQ(ticks, 300);
  EXPECT_EQ(rss, 2560);
  EXPECT_FALSE(parse_proc_stat("garbage", pgrp, ticks, rss));
}

TEST(ProcStats, SumsAProcessGroupFromAFakeProcTree) {
  auto root = std::filesystem::temp_directory_path() / ("colo-proc-" + std::to_string(::getpid()));
  std::filesystem::remove_all(root);
  auto write = [&](int pid, int pgrp, int utime, int rss) {
    std::filesystem::create_directories(root / std::to_string(pid));
    std::ofstream(root / std::to_string(pid) / "stat")
        << pid << " (w) S 1 " << pgrp << " " << pgrp << " 0 -1 0 0 0 0 0 " << utime
        << " 0 0 0 20 0 1 0 1 1000 " << rss << " 0";
  };
  write(100, 100, 10, 1);
  write(101, 100, 20, 2);
  write(200, 200, 30, 4);
  auto g = read_process_groups({100}, root.string());
  ASSERT_EQ(g.size(), 1U);
  EXPECT_EQ(g[100].processes, 2);
  EXPECT_NEAR(g[100].cpu_seconds, 30.0 / static_cast<double>(::sysconf(_SC_CLK_TCK)), 1e-9);
  EXPECT_EQ(g[100].rss_bytes, 3U * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE)));
  std::filesystem::remove_all(root);
}

class FakeBackend final : public GpuBackend {
 public:
  [[nodiscard]] std::string name() const override { return "fake"; }
  [[nodiscard]] bool simulated() const override { return true; }
  Result<std::vector<DeviceInfo>> devices() override { return std::vector<DeviceInfo>{}; }
  Result<std::vector<Metric>> sample(int device) override {
    if (device == 1) {
      return fail(ErrorCode::gpu, "GPU 1 fell off the bus");
    }
    return std::vector<Metric>{{"DCGM_FI_DEV_POWER_USAGE", 123.0},
                               {"DCGM_FI_PROF_SM_ACTIVE", std::nan("")}};
  }
  Status check_mode(const ModeSettings&, const std::vector<int>&) override { return {}; }
  Result<std::unique_ptr<ModeSession>> begin_mode(const ModeSettings&, const std::vector<int>&,
                                                  const std::string&) override {
    return fail(ErrorCode::unsupported, "fake");
  }
};

TEST(Sampler, SamplesHostAndGpuAndRecordsLostDevices) {
  FakeBackend backend;
  FakeClock clock;
  Sampler s(&backend, clock, Seconds(0.1), {0, 1});
  s.set_targets({{0, ::getpgrp()}});
  s.sample_once();
  clock.advance(std::chrono::milliseconds(100));
  s.sample_once();
  auto samples = s.drain();
  int power = 0;
  int rss = 0;
  int cpu = 0;
  for (const auto& m : samples) {
    power += m.metric == "DCGM_FI_DEV_POWER_USAGE" ? 1 : 0;
    rss += m.metric == "host.rss_bytes" ? 1 : 0;
    cpu += m.metric == "host.cpu_percent" ? 1 : 0;
    if (m.metric == "host.rss_bytes") {
      EXPECT_GT(m.value, 0);
      EXPECT_EQ(*m.target, 0);
    }
  }
  EXPECT_EQ(power, 2);
  for (const auto& m : samples) {
    EXPECT_NE(m.metric, "DCGM_FI_PROF_SM_ACTIVE") << "non-finite values are dropped";
  }
  EXPECT_EQ(rss, 2);
  EXPECT_EQ(cpu, 1);  // needs two passes
  auto errs = s.errors();
  ASSERT_EQ(errs.size(), 2U);
  EXPECT_NE(errs[0].find("fell off the bus"), std::string::npos);
  EXPECT_TRUE(s.drain().empty());
}

TEST(Sampler, ThreadSamplesAtItsPeriodAndStops) {
  FakeBackend backend;
  SteadyClock clock;
  Sampler s(&backend, clock, Seconds(0.01), {0});
  s.start();
  while (s.passes() < 5) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  s.stop();
  const long passes = s.passes();
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  EXPECT_EQ(s.passes(), passes);
  EXPECT_GE(s.drain().size(), 5U);
}

}  // namespace
}  // namespace colo
