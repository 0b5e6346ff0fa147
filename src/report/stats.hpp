#pragma once
// Statistics over repetitions. Pure. Conventions (docs/metrics.md, "Noise"):
//   - 95% confidence intervals of a mean use Student's t with n - 1 degrees of freedom;
//   - outliers are flagged by the modified z-score of Iglewicz and Hoaglin,
//       z_i = 0.6745 (x_i - median) / MAD,
//     |z_i| > 3.5 (MAD: median absolute deviation; when MAD is 0, the mean absolute deviation
//     times 1.2533 stands in for MAD / 0.6745). Needs 3+ values;
//   - two means differ "beyond noise" when a two-sided t-test rejects equality at p < 0.05:
//     Welch's test for independent samples, the paired test for values paired by repetition.
#include <string>
#include <vector>

namespace colo {

struct Stat {
  int n = 0;
  double mean = 0;
  double sd = 0;         // sample standard deviation (n - 1); 0 when n < 2
  double ci95_half = 0;  // half-width of the 95% confidence interval of the mean (Student t);
                         // 0 when n < 2 (unknown, not zero spread: check n)
  double min = 0;        // 0 when n == 0
  double max = 0;
  int outliers = 0;  // values flagged by the modified z-score (needs n >= 3)
};

Stat stat_of(const std::vector<double>& values);

// Indices of the values whose modified z-score exceeds 3.5 (see above); empty for n < 3 or
// when all values are equal.
std::vector<std::size_t> outlier_indices(const std::vector<double>& values);

// Two-sided 95% Student t quantile for `dof` degrees of freedom (dof >= 1).
double t95(int dof);

// Two-sided p-value of Student's t distribution: P(|T| >= |t|) with `dof` (> 0, may be
// fractional) degrees of freedom.
double t_two_sided_p(double t, double dof);

enum class TestKind {
  none,    // not enough values for a test (a side with n < 2, or fewer than 2 pairs)
  welch,   // Welch's unequal-variance t-test
  paired,  // paired t-test over per-repetition differences
};
const char* to_string(TestKind k);

struct TTest {
  TestKind kind = TestKind::none;
  double t = 0;               // statistic of (b - a); 0 when both sides are identical constants
  double dof = 0;             // Welch-Satterthwaite degrees of freedom (welch), n - 1 (paired)
  double p = 1;               // two-sided p-value; 1 when kind is none or nothing differs
  bool beyond_noise = false;  // p < 0.05
};

// Welch's t-test of mean(b) - mean(a). Zero variance on both sides: equal means are not beyond
// noise (p = 1); different means are (p = 0), the values being exact.
TTest welch_test(const Stat& a, const Stat& b);

// Paired t-test of b[i] - a[i] (a and b of the same length >= 2). All differences equal: beyond
// noise when they are not 0.
TTest paired_test(const std::vector<double>& a, const std::vector<double>& b);

// Whether two means differ beyond noise (Welch's test, p < 0.05). False when either side has
// fewer than 2 values (noise unknown).
bool beyond_noise(const Stat& a, const Stat& b);

// Relative half-width of the 95% CI (ci95_half / |mean|); 0 when n < 2 or mean == 0.
double ci_relative(const Stat& s);

// Noise warnings of one set of repetitions, as hyperfine gives them: "95% CI ±12.3% (wider than
// ±10%)", "1 outlier run (modified z > 3.5)". Empty when there is nothing to warn about.
std::vector<std::string> noise_warnings(const Stat& s);

}  // namespace colo
