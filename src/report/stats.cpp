#include "report/stats.hpp"

#include <cmath>

namespace colo {

double t95(int dof) {
  static const double k_t[] = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306,
                               2.262,  2.228, 2.201, 2.179, 2.160, 2.145, 2.131, 2.120,
                               2.110,  2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
                               2.060,  2.056, 2.052, 2.048, 2.045, 2.042};
  if (dof < 1) {
    return 0;
  }
  return dof <= 30 ? k_t[dof - 1] : 1.960 + 2.4 / dof;  // within 0.2% of t above 30 dof
}

Stat stat_of(const std::vector<double>& values) {
  Stat s;
  s.n = static_cast<int>(values.size());
  if (s.n == 0) {
    return s;
  }
  for (double v : values) {
    s.mean += v;
  }
  s.mean /= s.n;
  if (s.n < 2) {
    return s;
  }
  double ss = 0;
  for (double v : values) {
    ss += (v - s.mean) * (v - s.mean);
  }
  s.sd = std::sqrt(ss / (s.n - 1));
  s.ci95_half = t95(s.n - 1) * s.sd / std::sqrt(static_cast<double>(s.n));
  return s;
}

bool beyond_noise(const Stat& a, const Stat& b) {
  if (a.n < 2 || b.n < 2) {
    return false;
  }
  return std::fabs(a.mean - b.mean) > a.ci95_half + b.ci95_half;
}

}  // namespace colo
