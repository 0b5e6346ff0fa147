#include "gpu/sim/contention_model.hpp"

#include <algorithm>
#include <cmath>

namespace colo::sim {
namespace {

bool spatial(ModeKind mode) {
  return mode == ModeKind::mps || mode == ModeKind::green || mode == ModeKind::mig ||
         mode == ModeKind::mig_equivalent;
}

double gpu_part(const SimClient& c) {
  const double limit = std::clamp(c.sm_limit, 1e-3, 1.0);
  return c.duty * std::max(1.0, c.sm_fraction / limit);
}

double sm_share(const SimClient& c) {
  return std::min(c.sm_fraction, std::clamp(c.sm_limit, 1e-3, 1.0));
}

double rate(const SimClient& c, double s) {
  return 1.0 / ((1.0 - c.duty) + gpu_part(c) * s);
}

// Load on the most contended resource at stretch s.
double load(const std::vector<SimClient>& cs, ModeKind mode, double s) {
  double serial = 0;
  double sm = 0;
  double bw = 0;
  for (const auto& c : cs) {
    const double busy = rate(c, s) * gpu_part(c);  // GPU work per unit time
    serial += busy;
    sm += busy * sm_share(c);
    bw += busy * c.bw_fraction * sm_share(c) / c.sm_fraction / std::clamp(c.bw_limit, 1e-3, 1.0);
  }
  if (spatial(mode)) {
    return std::max(sm, bw);
  }
  return serial;
}

double stretch(const std::vector<SimClient>& cs, ModeKind mode) {
  if (load(cs, mode, 1.0) <= 1.0) {
    return 1.0;
  }
  double lo = 1.0;
  double hi = 2.0;
  while (load(cs, mode, hi) > 1.0 && hi < 1e6) {
    hi *= 2;
  }
  for (int i = 0; i < 60; ++i) {
    const double mid = 0.5 * (lo + hi);
    (load(cs, mode, mid) > 1.0 ? lo : hi) = mid;
  }
  return hi;
}

}  // namespace

std::vector<double> speed_factors(const std::vector<SimClient>& clients, ModeKind mode,
                                  const ContentionParams& params) {
  std::vector<double> out;
  if (clients.empty()) {
    return out;
  }
  if (mode == ModeKind::mig) {
    for (const auto& c : clients) {
      out.push_back(std::clamp(rate(c, stretch({c}, mode)), 1e-6, 1.0));
    }
    return out;
  }
  const double s = stretch(clients, mode);
  const double extra = static_cast<double>(clients.size() - 1);
  const double overhead =
      std::max(0.5, 1.0 - extra * (spatial(mode) ? params.mps_overhead : params.switch_overhead));
  for (const auto& c : clients) {
    out.push_back(std::clamp(rate(c, s) * overhead, 1e-6, 1.0));
  }
  return out;
}

Utilization utilization(const std::vector<SimClient>& clients, const std::vector<double>& speeds,
                        ModeKind mode) {
  Utilization u;
  double serial = 0;
  for (std::size_t i = 0; i < clients.size() && i < speeds.size(); ++i) {
    const auto& c = clients[i];
    // GPU work per unit time: step rate (speeds[i], a solo step being 1) times GPU work per step.
    const double busy = std::clamp(speeds[i] * gpu_part(c), 0.0, 1.0);
    serial += busy;
    u.sm_active += busy * sm_share(c);
    u.dram_active += busy * c.bw_fraction * sm_share(c) / c.sm_fraction;
  }
  (void)mode;  // overlapping kernels (spatial modes) are approximated by the same union bound
  u.gpu_busy = std::min(1.0, serial);
  u.sm_active = std::min(1.0, u.sm_active);
  u.dram_active = std::min(1.0, u.dram_active);
  return u;
}

}  // namespace colo::sim
