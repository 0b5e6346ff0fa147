// The mode layer (gpu/mode/mode_env.hpp): per-client shares and environment for every mode,
// shared by the NVML and simulated backends.
#include <gtest/gtest.h>

#include "gpu/mode/mode_env.hpp"

namespace colo {
namespace {

ModeDevices h100(std::vector<int> devices = {0}) {
  return {std::move(devices), 132, *mig_profiles_for("NVIDIA H100 80GB HBM3")};
}

ModeSettings mode(ModeKind k) {
  ModeSettings m;
  m.kind = k;
  return m;
}

ClientPlan plan() {
  ClientPlan c;
  c.workload = "w";
  return c;
}

TEST(ModeEnv, TimesliceGivesOnlyTheDevice) {
  const auto s = client_share(mode(ModeKind::timeslice), plan(), 0, h100());
  EXPECT_FALSE(s.mps);
  EXPECT_DOUBLE_EQ(s.sm_share, 1.0);
  const auto env = share_env(s, "GPU-0");
  EXPECT_EQ(env, (std::map<std::string, std::string>{{"CUDA_VISIBLE_DEVICES", "GPU-0"}}));
}

TEST(ModeEnv, MpsCarriesThePlansLimits) {
  auto c = plan();
  c.thread_percent = 25;
  c.mem_limit = 2ULL << 30;
  const auto s = client_share(mode(ModeKind::mps), c, 0, h100());
  EXPECT_TRUE(s.mps);
  EXPECT_DOUBLE_EQ(s.sm_share, 0.25);
  const auto env = share_env(s, "GPU-0");
  EXPECT_EQ(env.at("CUDA_MPS_ACTIVE_THREAD_PERCENTAGE"), "25");
  EXPECT_EQ(env.at("CUDA_MPS_PINNED_DEVICE_MEM_LIMIT"), "0=2048M");
  // Uncapped MPS: no limits in the environment.
  const auto free_env = share_env(client_share(mode(ModeKind::mps), plan(), 0, h100()), "GPU-0");
  EXPECT_EQ(free_env.count("CUDA_MPS_ACTIVE_THREAD_PERCENTAGE"), 0U);
  EXPECT_EQ(free_env.count("CUDA_MPS_PINNED_DEVICE_MEM_LIMIT"), 0U);
}

TEST(ModeEnv, MigEquivalentUsesTheProfilesSmShareAndMemory) {
  auto c = plan();
  c.mig_profile = "3g.40gb";
  const auto s = client_share(mode(ModeKind::mig_equivalent), c, 0, h100());
  EXPECT_TRUE(s.mps);
  EXPECT_FALSE(s.mig);
  EXPECT_EQ(s.thread_percent, 46);  // ceil(60 / 132 * 100)
  EXPECT_EQ(s.mem_limit, 40448ULL << 20);
  EXPECT_DOUBLE_EQ(s.sm_share, 60.0 / 132);
  const auto env = share_env(s, "GPU-0");
  EXPECT_EQ(env.at("CUDA_MPS_ACTIVE_THREAD_PERCENTAGE"), "46");
  EXPECT_EQ(env.at("CUDA_MPS_PINNED_DEVICE_MEM_LIMIT"), "0=40448M");
  EXPECT_EQ(env.count("COLO_MIG_PROFILE"), 0U);
}

TEST(ModeEnv, MigGivesAnInstanceWithoutMpsLimits) {
  auto c = plan();
  c.mig_profile = "2g.20gb";
  const auto s = client_share(mode(ModeKind::mig), c, 0, h100());
  EXPECT_FALSE(s.mps);
  ASSERT_TRUE(s.mig);
  EXPECT_DOUBLE_EQ(s.bw_share, 0.25);
  EXPECT_DOUBLE_EQ(s.sm_share, 32.0 / 132);
  EXPECT_EQ(s.mem_limit, 20096ULL << 20);
  const auto env = share_env(s, "MIG-abc");
  EXPECT_EQ(env.at("CUDA_VISIBLE_DEVICES"), "MIG-abc");
  EXPECT_EQ(env.at("COLO_MIG_PROFILE"), "2g.20gb");
  EXPECT_EQ(env.count("CUDA_MPS_PINNED_DEVICE_MEM_LIMIT"), 0U);
}

TEST(ModeEnv, GreenOverMpsOrTimeslice) {
  auto c = plan();
  c.sms = 33;
  auto m = mode(ModeKind::green);
  const auto s = client_share(m, c, 0, h100());
  EXPECT_TRUE(s.mps);
  EXPECT_DOUBLE_EQ(s.sm_share, 33.0 / 132);
  EXPECT_EQ(share_env(s, "GPU-0").at("COLO_GREEN_SMS"), "33");
  m.green_over_mps = false;
  EXPECT_FALSE(client_share(m, c, 0, h100()).mps);
  EXPECT_FALSE(uses_mps(m));
  EXPECT_TRUE(uses_mps(mode(ModeKind::mig_equivalent)));
  EXPECT_FALSE(uses_mps(mode(ModeKind::mig)));
  EXPECT_FALSE(uses_mps(mode(ModeKind::solo)));
}

TEST(ModeEnv, ClientsAreSpreadRoundRobinOverTheDevices) {
  const auto d = h100({2, 5});
  EXPECT_EQ(client_share(mode(ModeKind::mps), plan(), 0, d).device, 2);
  EXPECT_EQ(client_share(mode(ModeKind::mps), plan(), 1, d).device, 5);
  EXPECT_EQ(client_share(mode(ModeKind::mps), plan(), 2, d).device, 2);
}

TEST(ModeEnv, MemoryLimitIsAtLeastOneMiB) {
  EXPECT_EQ(mps_mem_limit_value(1000), "0=1M");
  EXPECT_EQ(mps_mem_limit_value(3ULL << 30), "0=3072M");
}

}  // namespace
}  // namespace colo
