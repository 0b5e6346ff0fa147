#include "sim/throughput.hpp"

#include <algorithm>
#include <limits>

namespace colo::csim {

const std::vector<SpeedupPoint>& speedup_table() {
  static const std::vector<SpeedupPoint> k_table{
#include "sim/speedup_table.inc"
  };
  return k_table;
}

std::vector<std::string> job_names() {
  std::vector<std::string> out;
  for (const auto& p : speedup_table()) {
    if (std::find(out.begin(), out.end(), p.job) == out.end()) {
      out.emplace_back(p.job);
    }
  }
  return out;
}

Result<void> check_job(const std::string& job) {
  const auto names = job_names();
  if (std::find(names.begin(), names.end(), job) != names.end()) {
    return {};
  }
  std::string list;
  for (const auto& n : names) {
    list += (list.empty() ? "" : "|") + n;
  }
  return fail(ErrorCode::invalid_argument,
              "unknown job '" + job + "' (the measured jobs: " + list + ")");
}

std::string job_description(const std::string& job) {
  for (const auto& p : speedup_table()) {
    if (job == p.job) {
      return p.description;
    }
  }
  return job;
}

double aggregate_speedup(const std::string& job, Mechanism m, int k) {
  if (k <= 0) {
    return 0;
  }
  if (m == Mechanism::mig) {
    return std::numeric_limits<double>::quiet_NaN();
  }
  if (k == 1 || m == Mechanism::fractional) {
    return k;
  }
  // (copies, speed-up), (1, 1) first: a job alone runs at its solo rate by definition.
  std::vector<std::pair<int, double>> pts{{1, 1.0}};
  for (const auto& p : speedup_table()) {
    if (job == p.job && p.mechanism == m) {
      pts.emplace_back(p.copies, p.speedup);
    }
  }
  if (pts.size() == 1) {
    return std::numeric_limits<double>::quiet_NaN();
  }
  std::sort(pts.begin(), pts.end());
  if (k >= pts.back().first) {
    return pts.back().second;
  }
  const auto hi = std::find_if(pts.begin(), pts.end(), [k](const auto& p) { return p.first >= k; });
  const auto lo = hi - 1;
  const double t = static_cast<double>(k - lo->first) / (hi->first - lo->first);
  return lo->second + t * (hi->second - lo->second);
}

double effective_throughput(const Cluster& c, const std::string& job, Mechanism m) {
  // The speed-up per pod count, computed once per count seen.
  std::vector<double> by_k;
  double sum = 0;
  for (const auto& n : c.nodes) {
    for (int g = 0; g < n.gpus; ++g) {
      const int k = n.pods[static_cast<std::size_t>(g)];
      if (k >= static_cast<int>(by_k.size())) {
        const auto from = static_cast<int>(by_k.size());
        by_k.resize(static_cast<std::size_t>(k) + 1);
        for (int i = from; i <= k; ++i) {
          by_k[static_cast<std::size_t>(i)] = aggregate_speedup(job, m, i);
        }
      }
      sum += by_k[static_cast<std::size_t>(k)];
    }
  }
  return sum;
}

}  // namespace colo::csim
