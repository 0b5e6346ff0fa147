#include "gpu/sim/contention_model.hpp"

#include <gtest/gtest.h>

namespace colo::sim {
namespace {

const ContentionParams k_no_overhead{0.0, 0.0};

TEST(ContentionModel, AloneRunsAtFullSpeed) {
  auto s = speed_factors({SimClient{0.9, 0.8, 0.5, 1.0}}, ModeKind::timeslice, k_no_overhead);
  ASSERT_EQ(s.size(), 1U);
  EXPECT_DOUBLE_EQ(s[0], 1.0);
}

TEST(ContentionModel, TimeSlicingSharesTheGpuSerially) {
  // Four clients with duty 0.5: GPU demand 2.0 > 1, so GPU parts stretch by s = 3 and each
  // step takes 0.5 + 0.5 * 3 = 2 units: speed 0.5, aggregate 2.0.
  std::vector<SimClient> four(4, SimClient{0.5, 0.25, 0.1, 1.0});
  auto s = speed_factors(four, ModeKind::timeslice, k_no_overhead);
  for (double v : s) {
    EXPECT_NEAR(v, 0.5, 1e-6);
  }
  // Two fit (demand 1.0): no slowdown.
  std::vector<SimClient> two(2, SimClient{0.5, 0.25, 0.1, 1.0});
  for (double v : speed_factors(two, ModeKind::timeslice, k_no_overhead)) {
    EXPECT_NEAR(v, 1.0, 1e-9);
  }
}

TEST(ContentionModel, MpsOverlapsSmallKernels) {
  // Same four clients under MPS: SM demand 4 * 0.5 * 0.25 = 0.5 fits, no slowdown.
  std::vector<SimClient> four(4, SimClient{0.5, 0.25, 0.1, 1.0});
  for (double v : speed_factors(four, ModeKind::mps, k_no_overhead)) {
    EXPECT_NEAR(v, 1.0, 1e-9);
  }
  // Large kernels saturate: two clients with duty 1 and full SMs share the SMs equally.
  std::vector<SimClient> big(2, SimClient{1.0, 1.0, 0.2, 1.0});
  for (double v : speed_factors(big, ModeKind::mps, k_no_overhead)) {
    EXPECT_NEAR(v, 0.5, 1e-6);
  }
}

TEST(ContentionModel, MemoryBandwidthLimitsSpatialSharing) {
  std::vector<SimClient> bw(2, SimClient{1.0, 0.3, 0.8, 1.0});  // SMs fit, bandwidth 1.6
  for (double v : speed_factors(bw, ModeKind::mps, k_no_overhead)) {
    EXPECT_NEAR(v, 1.0 / 1.6, 1e-6);
  }
}

TEST(ContentionModel, SmLimitSlowsAClientDown) {
  // A kernel that fills 80% of SMs, capped at 40%: its GPU part takes twice as long.
  auto s = speed_factors({SimClient{0.5, 0.8, 0.1, 0.4}}, ModeKind::mps, k_no_overhead);
  EXPECT_NEAR(s[0], 1.0 / (0.5 + 0.5 * 2.0), 1e-9);
}

TEST(ContentionModel, OverheadPerExtraClient) {
  std::vector<SimClient> two(2, SimClient{0.1, 0.1, 0.1, 1.0});
  auto s = speed_factors(two, ModeKind::timeslice, ContentionParams{0.05, 0.0});
  EXPECT_NEAR(s[0], 0.95, 1e-9);
}

TEST(ContentionModel, UtilizationFollowsDemand) {
  std::vector<SimClient> two(2, SimClient{0.5, 0.4, 0.2, 1.0});
  auto speeds = speed_factors(two, ModeKind::mps, k_no_overhead);
  auto u = utilization(two, speeds, ModeKind::mps);
  EXPECT_NEAR(u.gpu_busy, 1.0, 1e-9);
  EXPECT_NEAR(u.sm_active, 0.4, 1e-9);
  EXPECT_NEAR(u.dram_active, 0.2, 1e-9);
  auto idle = utilization({}, {}, ModeKind::mps);
  EXPECT_EQ(idle.sm_active, 0.0);
}

}  // namespace
}  // namespace colo::sim
