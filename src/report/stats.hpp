#pragma once
// Statistics over repetitions. Pure.
#include <vector>

namespace colo {

struct Stat {
  int n = 0;
  double mean = 0;
  double sd = 0;         // sample standard deviation (n - 1); 0 when n < 2
  double ci95_half = 0;  // half-width of the 95% confidence interval of the mean (Student t);
                         // 0 when n < 2 (unknown, not zero spread: check n)
};

Stat stat_of(const std::vector<double>& values);

// Two-sided 95% Student t quantile for `dof` degrees of freedom (dof >= 1).
double t95(int dof);

// Whether two means differ beyond noise: their 95% intervals do not overlap. False when either
// side has fewer than 2 values (noise unknown).
bool beyond_noise(const Stat& a, const Stat& b);

}  // namespace colo
