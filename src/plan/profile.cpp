#include "plan/profile.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace colo::plan {
namespace {

std::uint64_t fnv1a(std::uint64_t h, const std::string& s) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  h ^= 0xffU;  // separator, so ("ab","c") and ("a","bc") differ
  h *= 1099511628211ULL;
  return h;
}

nlohmann::json curve_json(const std::vector<SharePoint>& c) {
  auto a = nlohmann::json::array();
  for (const auto& p : c) {
    a.push_back({{"share", p.share}, {"throughput", p.throughput}});
  }
  return a;
}

void put(nlohmann::json& j, const char* k, const std::optional<double>& v) {
  if (v) {
    j[k] = *v;
  }
}

std::optional<double> get(const nlohmann::json& j, const char* k) {
  if (j.contains(k) && j[k].is_number()) {
    return j[k].get<double>();
  }
  return std::nullopt;
}

std::vector<SharePoint> curve_from(const nlohmann::json& j, const char* k) {
  std::vector<SharePoint> c;
  if (j.contains(k)) {
    for (const auto& p : j.at(k)) {
      c.push_back({p.at("share").get<double>(), p.at("throughput").get<double>()});
    }
  }
  std::sort(c.begin(), c.end(), [](const auto& a, const auto& b) { return a.share < b.share; });
  return c;
}

}  // namespace

double curve_speed(const std::vector<SharePoint>& curve, double share) {
  if (curve.empty()) {
    return 0;
  }
  const double solo = curve.back().throughput;
  if (solo <= 0) {
    return 0;
  }
  double prev_s = 0;
  double prev_t = 0;
  for (const auto& p : curve) {
    if (share <= p.share) {
      const double span = p.share - prev_s;
      const double t =
          span > 0 ? prev_t + (p.throughput - prev_t) * (share - prev_s) / span : p.throughput;
      return std::clamp(t / solo, 0.0, 1.0);
    }
    prev_s = p.share;
    prev_t = p.throughput;
  }
  return 1.0;
}

double curve_speed_measured(const std::vector<SharePoint>& curve, double share) {
  if (curve.empty() || curve.back().throughput <= 0) {
    return 0;
  }
  double t = 0;
  for (const auto& p : curve) {
    if (p.share > share + 1e-9) {
      break;
    }
    t = p.throughput;
  }
  return std::clamp(t / curve.back().throughput, 0.0, 1.0);
}

double Profile::solo_throughput() const {
  return mps_curve.empty() ? 0 : mps_curve.back().throughput;
}

double Profile::speed_at(double share) const {
  return curve_speed(mps_curve, share);
}

std::vector<SharePoint> Profile::green_curve_with_solo() const {
  // The green curve is relative to the same solo run as the MPS curve.
  if (green_curve.empty() || solo_throughput() <= 0) {
    return {};
  }
  auto c = green_curve;
  if (c.back().share < 1.0) {
    c.push_back({1.0, solo_throughput()});
  }
  return c;
}

double Profile::green_speed_at(double share) const {
  return curve_speed(green_curve_with_solo(), share);
}

nlohmann::json to_json(const Profile& p) {
  nlohmann::json j{{"workload", p.workload},
                   {"key", p.key},
                   {"gpu_model", p.gpu_model},
                   {"driver", p.driver},
                   {"simulated", p.simulated},
                   {"device_sms", p.device_sms},
                   {"device_memory_bytes", p.device_memory_bytes},
                   {"mps_curve", curve_json(p.mps_curve)},
                   {"green_curve", curve_json(p.green_curve)},
                   {"peak_mem_bytes", p.peak_mem_bytes},
                   {"experiment_id", p.experiment_id},
                   {"created_at", p.created_at}};
  put(j, "gpu_util", p.gpu_util);
  put(j, "sm_active", p.sm_active);
  put(j, "sm_occupancy", p.sm_occupancy);
  put(j, "tensor_active", p.tensor_active);
  put(j, "dram_active", p.dram_active);
  put(j, "pcie_bytes_s", p.pcie_bytes_s);
  put(j, "latency_ms", p.latency_ms);
  return j;
}

Result<Profile> profile_from_json(const nlohmann::json& j) {
  try {
    Profile p;
    p.workload = j.at("workload").get<std::string>();
    p.key = j.at("key").get<std::string>();
    p.gpu_model = j.at("gpu_model").get<std::string>();
    p.driver = j.value("driver", std::string());
    p.simulated = j.value("simulated", false);
    p.device_sms = j.value("device_sms", 0);
    p.device_memory_bytes = j.value("device_memory_bytes", std::uint64_t{0});
    p.mps_curve = curve_from(j, "mps_curve");
    p.green_curve = curve_from(j, "green_curve");
    p.peak_mem_bytes = j.value("peak_mem_bytes", 0.0);
    p.experiment_id = j.value("experiment_id", std::int64_t{0});
    p.created_at = j.value("created_at", 0.0);
    p.gpu_util = get(j, "gpu_util");
    p.sm_active = get(j, "sm_active");
    p.sm_occupancy = get(j, "sm_occupancy");
    p.tensor_active = get(j, "tensor_active");
    p.dram_active = get(j, "dram_active");
    p.pcie_bytes_s = get(j, "pcie_bytes_s");
    p.latency_ms = get(j, "latency_ms");
    if (p.mps_curve.empty()) {
      return fail(ErrorCode::invalid_argument,
                  fmt::format("profile of '{}' has no throughput curve", p.workload));
    }
    return p;
  } catch (const nlohmann::json::exception& e) {
    return fail(ErrorCode::invalid_argument, fmt::format("malformed profile: {}", e.what()));
  }
}

std::string workload_key(const WorkloadSpec& w) {
  std::uint64_t h = 1469598103934665603ULL;
  h = fnv1a(h, "builtin=" + w.builtin);
  for (const auto& a : w.cmd) {
    h = fnv1a(h, "cmd=" + a);
  }
  for (const auto& [k, v] : w.args) {
    h = fnv1a(h, "arg=" + k + "=" + v);
  }
  for (const auto& [k, v] : w.env) {
    h = fnv1a(h, "env=" + k + "=" + v);
  }
  return fmt::format("{:016x}", h);
}

}  // namespace colo::plan
