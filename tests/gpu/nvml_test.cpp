// Needs an NVIDIA GPU; skipped (reported as skipped) elsewhere.
#include <gtest/gtest.h>

#include "gpu/nvml/nvml_backend.hpp"

namespace colo {
namespace {

TEST(NvmlGpu, DiscoversDevicesAndSamplesTelemetry) {
  auto b = NvmlBackend::create();
  if (!b) {
    GTEST_SKIP() << "no NVIDIA GPU: " << b.error().what();
  }
  auto d = (*b)->devices();
  ASSERT_TRUE(d);
  ASSERT_FALSE(d->empty());
  EXPECT_FALSE((*d)[0].simulated);
  EXPECT_EQ((*d)[0].uuid.rfind("GPU-", 0), 0U);
  EXPECT_GT((*d)[0].memory_bytes, 0U);
  auto m = (*b)->sample(0);
  ASSERT_TRUE(m) << m.error().what();
  bool power = false;
  for (const auto& x : *m) {
    power = power || (x.name == "DCGM_FI_DEV_POWER_USAGE" && x.value > 0);
  }
  EXPECT_TRUE(power);
  // GPM metrics (Hopper and newer) need two samples.
  auto m2 = (*b)->sample(0);
  ASSERT_TRUE(m2);
  bool gpm = false;
  for (const auto& x : *m2) {
    gpm = gpm || x.name == "DCGM_FI_PROF_SM_ACTIVE";
  }
  if ((*d)[0].name.find("H100") != std::string::npos) {
    EXPECT_TRUE(gpm) << "GPM metrics on Hopper";
  }
  EXPECT_FALSE((*b)->sample(99));
}

}  // namespace
}  // namespace colo
