#include "gpu/mig/mig_profiles.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

namespace colo {
namespace {

constexpr std::uint64_t k_mib = 1024ULL * 1024;

// H100 80GB HBM3, from nvidia-smi mig -lgip/-lgipp and nvmlDeviceGetGpuInstanceProfileInfo.
std::vector<MigProfile> h100_80gb() {
  return {
      {"1g.10gb", 19, 1, 1, {0, 1, 2, 3, 4, 5, 6}, 7, 16, 9984 * k_mib},
      {"1g.10gb+me", 20, 1, 1, {0, 1, 2, 3, 4, 5, 6}, 1, 16, 9984 * k_mib},
      {"1g.20gb", 15, 1, 2, {0, 2, 4, 6}, 4, 26, 20096 * k_mib},
      {"2g.20gb", 14, 2, 2, {0, 2, 4}, 3, 32, 20096 * k_mib},
      {"3g.40gb", 9, 3, 4, {0, 4}, 2, 60, 40448 * k_mib},
      {"4g.40gb", 5, 4, 4, {0}, 1, 64, 40448 * k_mib},
      {"7g.80gb", 0, 7, 8, {0}, 1, 132, 81152 * k_mib},
  };
}

bool place(const std::vector<const MigProfile*>& ps, std::size_t i, std::vector<bool>& used,
           std::vector<int>& starts) {
  if (i == ps.size()) {
    return true;
  }
  for (int s : ps[i]->starts) {
    const int end = s + ps[i]->mem_slices;
    if (end > 8) {
      continue;
    }
    bool free = true;
    for (int k = s; k < end; ++k) {
      free = free && !used[static_cast<std::size_t>(k)];
    }
    if (!free) {
      continue;
    }
    for (int k = s; k < end; ++k) {
      used[static_cast<std::size_t>(k)] = true;
    }
    starts[i] = s;
    if (place(ps, i + 1, used, starts)) {
      return true;
    }
    for (int k = s; k < end; ++k) {
      used[static_cast<std::size_t>(k)] = false;
    }
  }
  return false;
}

}  // namespace

Result<std::vector<MigProfile>> mig_profiles_for(const std::string& gpu_name) {
  if (gpu_name.find("H100") != std::string::npos && gpu_name.find("80GB") != std::string::npos) {
    return h100_80gb();
  }
  return fail(
      ErrorCode::unsupported,
      fmt::format("no MIG profile table for '{}' (known: NVIDIA H100 80GB HBM3)", gpu_name));
}

Result<MigProfile> find_mig_profile(const std::vector<MigProfile>& table, const std::string& name) {
  for (const auto& p : table) {
    if (p.name == name) {
      return p;
    }
  }
  std::string known;
  for (const auto& p : table) {
    known += (known.empty() ? "" : ", ") + p.name;
  }
  return fail(ErrorCode::invalid_argument,
              fmt::format("unknown MIG profile '{}' (known: {})", name, known));
}

Result<std::vector<MigPlacement>> place_mig_layout(const std::vector<MigProfile>& table,
                                                   const std::vector<std::string>& layout) {
  if (layout.empty() || layout.size() > 7) {
    return fail(ErrorCode::invalid_argument,
                fmt::format("a MIG layout has 1 to 7 instances, not {}", layout.size()));
  }
  std::vector<MigProfile> ps;
  std::map<std::string, int> counts;
  int sm_slices = 0;
  for (const auto& n : layout) {
    auto p = find_mig_profile(table, n);
    if (!p) {
      return fail(p.error());
    }
    if (++counts[n] > p->max_count) {
      return fail(ErrorCode::invalid_argument,
                  fmt::format("MIG layout has {} x {}, at most {} fit on one GPU", counts[n], n,
                              p->max_count));
    }
    sm_slices += p->sm_slices;
    ps.push_back(*p);
  }
  if (sm_slices > 7) {
    return fail(ErrorCode::invalid_argument,
                fmt::format("MIG layout needs {} compute slices, a GPU has 7", sm_slices));
  }
  // Place larger instances first: they have fewer legal starts.
  std::vector<std::size_t> order(ps.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return ps[a].mem_slices != ps[b].mem_slices ? ps[a].mem_slices > ps[b].mem_slices : a < b;
  });
  std::vector<const MigProfile*> sorted;
  for (auto i : order) {
    sorted.push_back(&ps[i]);
  }
  std::vector<bool> used(8, false);
  std::vector<int> starts(ps.size(), -1);
  if (!place(sorted, 0, used, starts)) {
    std::string joined;
    for (const auto& n : layout) {
      joined += (joined.empty() ? "" : "+") + n;
    }
    return fail(
        ErrorCode::invalid_argument,
        fmt::format("MIG layout {} has no legal placement on the GPU's 8 memory slices", joined));
  }
  std::vector<MigPlacement> out(ps.size());
  for (std::size_t k = 0; k < order.size(); ++k) {
    out[order[k]] = {ps[order[k]].name, starts[k]};
  }
  return out;
}

MpsEquivalent mps_equivalent(const MigProfile& p, int device_sms) {
  MpsEquivalent e;
  e.sms = p.sms;
  e.mem_limit = p.memory_bytes;
  e.thread_percent = std::clamp(
      static_cast<int>(std::ceil(100.0 * p.sms / std::max(1, device_sms) - 1e-9)), 1, 100);
  return e;
}

std::string mps_equivalents_hint(const std::vector<MigProfile>& table,
                                 const std::vector<std::string>& layout, int device_sms) {
  std::string out;
  for (const auto& n : layout) {
    if (auto p = find_mig_profile(table, n)) {
      const auto e = mps_equivalent(*p, device_sms);
      out += fmt::format("{}{} = {} SMs ({}% threads), {} MiB", out.empty() ? "" : "; ", n, e.sms,
                         e.thread_percent, e.mem_limit / k_mib);
    }
  }
  return out;
}

}  // namespace colo
