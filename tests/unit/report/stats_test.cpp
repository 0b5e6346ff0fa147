// Hand-checkable statistics: t-tests against values computed by hand (closed forms for 1 and 2
// degrees of freedom, published t quantiles) and outlier detection on small sets.
#include "report/stats.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace colo {
namespace {

TEST(Stats, PValueMatchesPublishedQuantiles) {
  // t(0.975) quantiles: 12.706 (1 dof), 2.776 (4 dof), 1.960 (normal): two-sided p = 0.05.
  EXPECT_NEAR(t_two_sided_p(12.706, 1), 0.05, 1e-4);
  EXPECT_NEAR(t_two_sided_p(2.776, 4), 0.05, 1e-4);
  EXPECT_NEAR(t_two_sided_p(1.960, 1e6), 0.05, 1e-4);
  // Closed forms: 1 dof p = 1 - 2/pi atan|t|; 2 dof p = 1 - |t| / sqrt(2 + t^2).
  EXPECT_NEAR(t_two_sided_p(1.0, 1), 0.5, 1e-9);
  EXPECT_NEAR(t_two_sided_p(-3.0, 2), 1 - 3 / std::sqrt(11.0), 1e-9);
  EXPECT_DOUBLE_EQ(t_two_sided_p(0, 5), 1.0);
}

TEST(Stats, WelchOnEqualVariances) {
  // a = {1,2,3}, b = {4,5,6}: sd 1 each, se = sqrt(2/3), t = 3 / se = 3.674, dof = 4.
  const auto t = welch_test(stat_of({1, 2, 3}), stat_of({4, 5, 6}));
  EXPECT_EQ(t.kind, TestKind::welch);
  EXPECT_NEAR(t.t, 3 / std::sqrt(2.0 / 3.0), 1e-9);
  EXPECT_NEAR(t.dof, 4.0, 1e-9);
  EXPECT_NEAR(t.p, 0.02131, 1e-4);
  EXPECT_TRUE(t.beyond_noise);
}

TEST(Stats, WelchOnUnequalVariancesUsesSatterthwaite) {
  // a = {1..4} (var 5/3), b = {2,4,..,10} (var 10): t = 2.2514, dof = 5.5208, p = 0.0691.
  const auto t = welch_test(stat_of({1, 2, 3, 4}), stat_of({2, 4, 6, 8, 10}));
  EXPECT_NEAR(t.t, 2.25144, 1e-4);
  EXPECT_NEAR(t.dof, 5.52079, 1e-4);
  EXPECT_NEAR(t.p, 0.06913, 1e-4);
  EXPECT_FALSE(t.beyond_noise);
}

TEST(Stats, PairedTest) {
  // d = {1,2,3}: mean 2, sd 1, t = 2 sqrt(3), 2 dof: p = 1 - t / sqrt(14) = 0.0742.
  const auto t = paired_test({10, 20, 30}, {11, 22, 33});
  EXPECT_EQ(t.kind, TestKind::paired);
  EXPECT_NEAR(t.t, 2 * std::sqrt(3.0), 1e-9);
  EXPECT_DOUBLE_EQ(t.dof, 2);
  EXPECT_NEAR(t.p, 1 - 2 * std::sqrt(3.0) / std::sqrt(14.0), 1e-9);
  EXPECT_FALSE(t.beyond_noise);
  // The same values unpaired differ far less clearly: Welch's p is much larger.
  EXPECT_GT(welch_test(stat_of({10, 20, 30}), stat_of({11, 22, 33})).p, 0.8);
  EXPECT_EQ(paired_test({1, 2}, {1}).kind, TestKind::none);
  EXPECT_EQ(paired_test({1}, {2}).kind, TestKind::none);
}

TEST(Stats, ZeroVarianceEqualMeansIsNotBeyondNoise) {
  const auto same = welch_test(stat_of({5, 5, 5}), stat_of({5, 5, 5}));
  EXPECT_EQ(same.kind, TestKind::welch);
  EXPECT_FALSE(same.beyond_noise);
  EXPECT_DOUBLE_EQ(same.p, 1.0);
  EXPECT_FALSE(beyond_noise(stat_of({5, 5}), stat_of({5, 5})));
  // Exact, different values: beyond noise.
  EXPECT_TRUE(welch_test(stat_of({5, 5}), stat_of({6, 6})).beyond_noise);
  EXPECT_FALSE(paired_test({1, 2, 3}, {1, 2, 3}).beyond_noise);
  EXPECT_TRUE(paired_test({1, 2, 3}, {2, 3, 4}).beyond_noise);
  // One value: noise unknown, never beyond noise.
  EXPECT_EQ(welch_test(stat_of({5}), stat_of({9, 9})).kind, TestKind::none);
  EXPECT_FALSE(beyond_noise(stat_of({5}), stat_of({9, 9})));
}

TEST(Stats, OutliersByModifiedZScore) {
  // Median 11, MAD 1: z(100) = 0.6745 * 89 = 60.
  EXPECT_EQ(outlier_indices({10, 11, 10, 12, 100}), std::vector<std::size_t>{4});
  EXPECT_TRUE(outlier_indices({1, 2, 3}).empty());
  EXPECT_TRUE(outlier_indices({7, 7, 7, 7}).empty());
  EXPECT_TRUE(outlier_indices({1, 100}).empty()) << "two values cannot show an outlier";
  // MAD 0: the mean absolute deviation stands in. {10,10,10,10,20}: 10 / (1.2533 * 2) = 3.99.
  EXPECT_EQ(outlier_indices({10, 10, 10, 10, 20}), std::vector<std::size_t>{4});
  // {10,10,10,20}: 10 / (1.2533 * 2.5) = 3.19 < 3.5.
  EXPECT_TRUE(outlier_indices({10, 10, 10, 20}).empty());
  const auto s = stat_of({10, 11, 10, 12, 100});
  EXPECT_EQ(s.outliers, 1);
  EXPECT_DOUBLE_EQ(s.min, 10);
  EXPECT_DOUBLE_EQ(s.max, 100);
}

TEST(Stats, NoiseWarnings) {
  EXPECT_TRUE(noise_warnings(stat_of({100, 101, 99})).empty());
  // {80, 100, 120}: CI half = 4.303 * 20 / sqrt 3 = 49.7 -> ±49.7%.
  const auto w = noise_warnings(stat_of({80, 100, 120}));
  ASSERT_EQ(w.size(), 1U);
  EXPECT_NE(w[0].find("wider than ±10%"), std::string::npos) << w[0];
  EXPECT_NE(w[0].find("49.7%"), std::string::npos) << w[0];
  const auto o = noise_warnings(stat_of({10, 11, 10, 12, 100}));
  ASSERT_EQ(o.size(), 2U);
  EXPECT_NE(o[1].find("1 outlier run"), std::string::npos) << o[1];
  EXPECT_TRUE(noise_warnings(stat_of({5})).empty()) << "one value: no CI, no warning";
}

}  // namespace
}  // namespace colo
