#include "report/stats.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace colo {
namespace {

constexpr double k_outlier_z = 3.5;
constexpr double k_noisy_ci = 0.10;

double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// Continued fraction of the regularized incomplete beta function (modified Lentz).
double beta_cf(double a, double b, double x) {
  constexpr double k_tiny = 1e-300;
  constexpr double k_eps = 1e-14;
  double c = 1;
  double d = 1 - (a + b) * x / (a + 1);
  d = std::fabs(d) < k_tiny ? k_tiny : d;
  d = 1 / d;
  double h = d;
  for (int m = 1; m <= 300; ++m) {
    const double md = m;
    const double even = md * (b - md) * x / ((a + 2 * md - 1) * (a + 2 * md));
    d = 1 + even * d;
    d = std::fabs(d) < k_tiny ? k_tiny : d;
    c = 1 + even / c;
    c = std::fabs(c) < k_tiny ? k_tiny : c;
    d = 1 / d;
    h *= d * c;
    const double odd = -(a + md) * (a + b + md) * x / ((a + 2 * md) * (a + 2 * md + 1));
    d = 1 + odd * d;
    d = std::fabs(d) < k_tiny ? k_tiny : d;
    c = 1 + odd / c;
    c = std::fabs(c) < k_tiny ? k_tiny : c;
    d = 1 / d;
    const double delta = d * c;
    h *= delta;
    if (std::fabs(delta - 1) < k_eps) {
      break;
    }
  }
  return h;
}

// Regularized incomplete beta I_x(a, b), 0 <= x <= 1.
double incomplete_beta(double a, double b, double x) {
  if (x <= 0) {
    return 0;
  }
  if (x >= 1) {
    return 1;
  }
  const double front = std::exp(std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) +
                                a * std::log(x) + b * std::log1p(-x));
  if (x < (a + 1) / (a + b + 2)) {
    return front * beta_cf(a, b, x) / a;
  }
  return 1 - front * beta_cf(b, a, 1 - x) / b;
}

TTest exact(TestKind kind, double dof, bool differ) {
  TTest r;
  r.kind = kind;
  r.dof = dof;
  r.t = differ ? INFINITY : 0;
  r.p = differ ? 0 : 1;
  r.beyond_noise = differ;
  return r;
}

TTest from_t(TestKind kind, double t, double dof) {
  TTest r;
  r.kind = kind;
  r.t = t;
  r.dof = dof;
  r.p = t_two_sided_p(t, dof);
  r.beyond_noise = r.p < 0.05;
  return r;
}

}  // namespace

const char* to_string(TestKind k) {
  switch (k) {
    case TestKind::welch:
      return "Welch t";
    case TestKind::paired:
      return "paired t";
    case TestKind::none:
      break;
  }
  return "none";
}

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

double t_two_sided_p(double t, double dof) {
  if (!(dof > 0) || std::isnan(t)) {
    return 1;
  }
  if (std::isinf(t)) {
    return 0;
  }
  return incomplete_beta(dof / 2, 0.5, dof / (dof + t * t));
}

std::vector<std::size_t> outlier_indices(const std::vector<double>& values) {
  std::vector<std::size_t> out;
  if (values.size() < 3) {
    return out;
  }
  const double med = median_of(values);
  std::vector<double> dev;
  dev.reserve(values.size());
  double mean_dev = 0;
  for (double v : values) {
    dev.push_back(std::fabs(v - med));
    mean_dev += std::fabs(v - med);
  }
  mean_dev /= static_cast<double>(values.size());
  const double mad = median_of(dev);
  // z = (x - median) / scale, scale = MAD / 0.6745, or 1.2533 * mean absolute deviation.
  const double scale = mad > 0 ? mad / 0.6745 : 1.2533 * mean_dev;
  if (!(scale > 0)) {
    return out;
  }
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (dev[i] / scale > k_outlier_z) {
      out.push_back(i);
    }
  }
  return out;
}

Stat stat_of(const std::vector<double>& values) {
  Stat s;
  s.n = static_cast<int>(values.size());
  if (s.n == 0) {
    return s;
  }
  s.min = *std::min_element(values.begin(), values.end());
  s.max = *std::max_element(values.begin(), values.end());
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
  s.outliers = static_cast<int>(outlier_indices(values).size());
  return s;
}

TTest welch_test(const Stat& a, const Stat& b) {
  if (a.n < 2 || b.n < 2) {
    return {};
  }
  const double va = a.sd * a.sd / a.n;
  const double vb = b.sd * b.sd / b.n;
  const double se2 = va + vb;
  if (!(se2 > 0)) {
    return exact(TestKind::welch, a.n + b.n - 2, a.mean != b.mean);
  }
  const double dof =
      se2 * se2 / (va * va / (a.n - 1) + vb * vb / (b.n - 1));  // Welch-Satterthwaite
  return from_t(TestKind::welch, (b.mean - a.mean) / std::sqrt(se2), dof);
}

TTest paired_test(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size() || a.size() < 2) {
    return {};
  }
  std::vector<double> d;
  d.reserve(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    d.push_back(b[i] - a[i]);
  }
  const Stat s = stat_of(d);
  const double dof = s.n - 1;
  if (!(s.sd > 0)) {
    return exact(TestKind::paired, dof, s.mean != 0);
  }
  return from_t(TestKind::paired, s.mean / (s.sd / std::sqrt(static_cast<double>(s.n))), dof);
}

bool beyond_noise(const Stat& a, const Stat& b) {
  return welch_test(a, b).beyond_noise;
}

double ci_relative(const Stat& s) {
  return s.n > 1 && s.mean != 0 ? s.ci95_half / std::fabs(s.mean) : 0;
}

std::vector<std::string> noise_warnings(const Stat& s) {
  std::vector<std::string> w;
  if (ci_relative(s) > k_noisy_ci) {
    w.push_back(fmt::format("95% CI ±{:.1f}% (wider than ±{:.0f}%)", ci_relative(s) * 100,
                            k_noisy_ci * 100));
  }
  if (s.outliers > 0) {
    w.push_back(fmt::format("{} outlier run{} (modified z-score > {:g})", s.outliers,
                            s.outliers == 1 ? "" : "s", k_outlier_z));
  }
  return w;
}

}  // namespace colo
