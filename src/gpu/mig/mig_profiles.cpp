#include "gpu/mig/mig_profiles.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <map>
#include <numeric>

namespace colo {
namespace {

constexpr std::uint64_t k_mib = 1024ULL * 1024;

// Memory of an instance where no driver output was seen: its share of the card's memory less
// 2.5% (the H100's measured instances keep 97.9-99.5% of their share). An estimate.
std::uint64_t estimated_mib(int mem_slices, int total_slices, std::uint64_t card_mib) {
  return card_mib * static_cast<std::uint64_t>(mem_slices) * 975 /
         (static_cast<std::uint64_t>(total_slices) * 1000);
}

// The geometry shared by A100, H100, H200, GH200 and B200 (7 compute, 8 memory slices): profile
// ids and placements as `nvidia-smi mig -lgip/-lgipp` prints them on the H100 (and the guide's
// -lgipp example on the A100-40GB); counts from the guide's tables.
// names: 1g, 1g+me, 1g with 2 memory slices, 2g, 3g, 4g, 7g. sms in the same order (0 =
// unknown). mib: 1, 2, 4 and 8 memory slices (0 = estimate from card_mib).
struct Seven {
  const char* names[7];
  int sms[7];
  std::uint64_t mib[4];
};
std::vector<MigProfile> seven_slices(const Seven& s, std::uint64_t card_mib) {
  auto mem = [&](int slices) {
    const int k = slices == 1 ? 0 : slices == 2 ? 1 : slices == 4 ? 2 : 3;
    const auto m = s.mib[k] ? s.mib[k] : estimated_mib(slices, 8, card_mib);
    return m * k_mib;
  };
  return {
      {s.names[0], 19, 1, 1, {0, 1, 2, 3, 4, 5, 6}, 7, s.sms[0], mem(1)},
      {s.names[1], 20, 1, 1, {0, 1, 2, 3, 4, 5, 6}, 1, s.sms[1], mem(1)},
      {s.names[2], 15, 1, 2, {0, 2, 4, 6}, 4, s.sms[2], mem(2)},
      {s.names[3], 14, 2, 2, {0, 2, 4}, 3, s.sms[3], mem(2)},
      {s.names[4], 9, 3, 4, {0, 4}, 2, s.sms[4], mem(4)},
      {s.names[5], 5, 4, 4, {0}, 1, s.sms[5], mem(4)},
      {s.names[6], 0, 7, 8, {0}, 1, s.sms[6], mem(8)},
  };
}

// SMs per profile measured on the H100 80GB HBM3 (132 SMs; shared/data/nvidia-mig) and, the
// same, on the H200.
constexpr int k_gh100_sms[7] = {16, 16, 26, 32, 60, 64, 132};
constexpr int k_unknown_sms[7] = {0, 0, 0, 0, 0, 0, 0};

constexpr const char* k_guide =
    "NVIDIA MIG User Guide r580, Supported MIG Profiles "
    "(docs.nvidia.com/datacenter/tesla/mig-user-guide/supported-mig-profiles.html)";

std::vector<MigModel> build_models() {
  std::vector<MigModel> m;
  // A30: 4 compute and 4 memory slices. Names and counts from the guide (Table "A30-24GB");
  // profile ids, placements and SMs (56 SMs, 14 a slice) assumed from that geometry; memory
  // estimated.
  {
    const std::uint64_t card = 24576;
    auto mem = [&](int s) { return estimated_mib(s, 4, card) * k_mib; };
    m.push_back({"A30 24GB",
                 std::string(k_guide) +
                     "; ids, placements and SMs assumed from the 4-slice geometry; memory "
                     "estimated",
                 {
                     {"1g.6gb", 14, 1, 1, {0, 1, 2, 3}, 4, 14, mem(1)},
                     {"1g.6gb+me", 21, 1, 1, {0, 1, 2, 3}, 1, 14, mem(1)},
                     {"2g.12gb", 5, 2, 2, {0, 2}, 2, 28, mem(2)},
                     {"2g.12gb+me", 6, 2, 2, {0, 2}, 1, 28, mem(2)},
                     {"4g.24gb", 0, 4, 4, {0}, 1, 56, mem(4)},
                 }});
  }
  // A100: names and counts from the guide (A100-SXM4-40GB table; 80GB names per its note); 14
  // SMs a compute slice (108-SM GA100: 98 in 7g) from the guide's nvidia-smi examples;
  // placements from the guide's -lgipp example; memory estimated.
  m.push_back(
      {"A100 40GB (SXM4, PCIe)", std::string(k_guide) + "; memory estimated",
       seven_slices({{"1g.5gb", "1g.5gb+me", "1g.10gb", "2g.10gb", "3g.20gb", "4g.20gb", "7g.40gb"},
                     {14, 14, 14, 28, 42, 56, 98},
                     {0, 0, 0, 0}},
                    40960)});
  m.push_back({"A100 80GB (SXM4, PCIe)", std::string(k_guide) + "; memory estimated",
               seven_slices({{"1g.10gb", "1g.10gb+me", "1g.20gb", "2g.20gb", "3g.40gb", "4g.40gb",
                              "7g.80gb"},
                             {14, 14, 14, 28, 42, 56, 98},
                             {0, 0, 0, 0}},
                            81920)});
  // H100 80GB SXM (HBM3): every number read from the driver (nvidia-smi mig -lgip/-lgipp and
  // nvmlDeviceGetGpuInstanceProfileInfo on the project's H100, driver 580.159.04).
  const char* h100_80[7] = {"1g.10gb", "1g.10gb+me", "1g.20gb", "2g.20gb",
                            "3g.40gb", "4g.40gb",    "7g.80gb"};
  {
    Seven s{{}, {}, {9984, 20096, 40448, 81152}};
    std::copy(std::begin(h100_80), std::end(h100_80), std::begin(s.names));
    std::copy(std::begin(k_gh100_sms), std::end(k_gh100_sms), std::begin(s.sms));
    m.push_back({"H100 80GB HBM3 (SXM)",
                 "measured: nvidia-smi mig -lgip/-lgipp and NVML on an H100 80GB HBM3 "
                 "(shared/data/nvidia-mig); names and counts as the guide",
                 seven_slices(s, 81559)});
  }
  // H100 PCIe 80GB: 114 SMs, so the SXM's SM counts do not apply; unknown (estimated from the
  // slices at run time).
  {
    Seven s{{}, {}, {0, 0, 0, 0}};
    std::copy(std::begin(h100_80), std::end(h100_80), std::begin(s.names));
    std::copy(std::begin(k_unknown_sms), std::end(k_unknown_sms), std::begin(s.sms));
    m.push_back({"H100 80GB PCIe",
                 std::string(k_guide) + "; SMs unknown (estimated from the slices); memory "
                                        "estimated",
                 seven_slices(s, 81559)});
  }
  // The GH100 parts with 132 SMs below: SMs assumed equal to the H100 SXM's measured ones.
  auto gh100 = [&](const char* model, std::array<const char*, 7> names, std::uint64_t card,
                   std::string source) {
    Seven s{{}, {}, {0, 0, 0, 0}};
    std::copy(names.begin(), names.end(), std::begin(s.names));
    std::copy(std::begin(k_gh100_sms), std::end(k_gh100_sms), std::begin(s.sms));
    m.push_back({model, std::move(source), seven_slices(s, card)});
  };
  const std::string assumed =
      "; SMs assumed equal to the H100 SXM's (same 132-SM GH100); "
      "memory estimated";
  gh100("H100 94GB (NVL, SXM5 94GB)",
        {"1g.12gb", "1g.12gb+me", "1g.24gb", "2g.24gb", "3g.47gb", "4g.47gb", "7g.94gb"}, 95830,
        std::string(k_guide) + assumed);
  gh100("H100 96GB (GH200 96GB, H20)",
        {"1g.12gb", "1g.12gb+me", "1g.24gb", "2g.24gb", "3g.48gb", "4g.48gb", "7g.96gb"}, 98304,
        std::string(k_guide) + assumed);
  // H200 141GB: every number read from the driver (nvidia-smi mig -lgip/-lgipp and NVML on the
  // project's H200, driver 580.159.04, MIG mode disabled;
  // bench/results/2026-11-30-h200-mig-layouts).
  {
    Seven s{{"1g.18gb", "1g.18gb+me", "1g.35gb", "2g.35gb", "3g.71gb", "4g.71gb", "7g.141gb"},
            {},
            {16384, 33280, 71424, 143360}};
    std::copy(std::begin(k_gh100_sms), std::end(k_gh100_sms), std::begin(s.sms));
    m.push_back({"H200 141GB (SXM, NVL)",
                 "measured: nvidia-smi mig -lgip/-lgipp and NVML on an NVIDIA H200 (driver "
                 "580.159.04); names and counts as the guide r580 Table 8",
                 seven_slices(s, 143771)});
  }
  gh100("GH200 144GB HBM3e",
        {"1g.18gb", "1g.18gb+me", "1g.36gb", "2g.36gb", "3g.72gb", "4g.72gb", "7g.144gb"}, 147456,
        "names from NVIDIA's mig-parted default config (GH200 144G HBM3e), not in the guide "
        "r580; geometry assumed as the H200's" +
            assumed);
  // B200: names and counts from the guide (B200 180GB); ids and placements assumed as the
  // H100's (same 7/8 geometry); SMs unknown.
  {
    Seven s{{"1g.23gb", "1g.23gb+me", "1g.45gb", "2g.45gb", "3g.90gb", "4g.90gb", "7g.180gb"},
            {},
            {0, 0, 0, 0}};
    std::copy(std::begin(k_unknown_sms), std::end(k_unknown_sms), std::begin(s.sms));
    m.push_back({"B200 180GB",
                 std::string(k_guide) +
                     "; ids and placements assumed as the H100's; SMs unknown (estimated from "
                     "the slices); memory estimated",
                 seven_slices(s, 184320)});
  }
  return m;
}

// Upper-case alphanumeric tokens of a device name: "NVIDIA A100-SXM4-40GB" -> NVIDIA A100 SXM4
// 40GB.
std::vector<std::string> name_tokens(const std::string& name) {
  std::vector<std::string> out;
  std::string cur;
  for (char ch : name + " ") {
    if (std::isalnum(static_cast<unsigned char>(ch))) {
      cur += static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    } else if (!cur.empty()) {
      out.push_back(cur);
      cur.clear();
    }
  }
  return out;
}

}  // namespace

const std::vector<MigModel>& mig_models() {
  static const std::vector<MigModel> models = build_models();
  return models;
}

const MigModel* mig_model_for(const std::string& gpu_name) {
  const auto t = name_tokens(gpu_name);
  auto has = [&](const char* tok) { return std::find(t.begin(), t.end(), tok) != t.end(); };
  auto has_prefix = [&](const char* p) {
    return std::any_of(t.begin(), t.end(),
                       [&](const std::string& s) { return s.rfind(p, 0) == 0; });
  };
  auto model = [&](const char* prefix) -> const MigModel* {
    for (const auto& m : mig_models()) {
      if (m.model.rfind(prefix, 0) == 0) {
        return &m;
      }
    }
    return nullptr;
  };
  if (has("A30")) {
    return model("A30 ");
  }
  if (has("A100")) {
    if (has_prefix("80G")) {
      return model("A100 80GB");
    }
    if (has_prefix("40G")) {
      return model("A100 40GB");
    }
    return nullptr;  // memory not in the name: ambiguous
  }
  if (has("GH200")) {
    return has_prefix("144G") ? model("GH200 144GB") : model("H100 96GB");
  }
  if (has("H200")) {
    return model("H200 ");
  }
  if (has("H20")) {
    return model("H100 96GB");
  }
  if (has("H100")) {
    if (has("NVL") || has_prefix("94G")) {
      return model("H100 94GB");
    }
    if (has_prefix("96G")) {
      return model("H100 96GB");
    }
    if (has("PCIE")) {
      return model("H100 80GB PCIe");
    }
    return model("H100 80GB HBM3");
  }
  if (has("B200")) {
    return model("B200 ");
  }
  return nullptr;
}

namespace {

// Backtracking placement of ps[i..] on the free memory slices.
bool place(const std::vector<const MigProfile*>& ps, std::size_t i, std::vector<bool>& used,
           std::vector<int>& starts) {
  if (i == ps.size()) {
    return true;
  }
  for (int s : ps[i]->starts) {
    const int end = s + ps[i]->mem_slices;
    if (end > static_cast<int>(used.size())) {
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
  if (const auto* m = mig_model_for(gpu_name)) {
    return m->profiles;
  }
  std::string known;
  for (const auto& m : mig_models()) {
    known += (known.empty() ? "" : ", ") + m.model;
  }
  return fail(ErrorCode::unsupported,
              fmt::format("no MIG profile table for '{}' and the driver reported none (known "
                          "models: {})",
                          gpu_name, known));
}

int mig_sm_slices(const std::vector<MigProfile>& table) {
  int n = 0;
  for (const auto& p : table) {
    n = std::max(n, p.sm_slices);
  }
  return n;
}

int mig_mem_slices(const std::vector<MigProfile>& table) {
  int n = 0;
  for (const auto& p : table) {
    n = std::max(n, p.mem_slices);
  }
  return n;
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
  const int total_sm = mig_sm_slices(table);
  const int total_mem = mig_mem_slices(table);
  if (layout.empty() || layout.size() > static_cast<std::size_t>(total_sm)) {
    return fail(ErrorCode::invalid_argument,
                fmt::format("a MIG layout has 1 to {} instances, not {}", total_sm, layout.size()));
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
  if (sm_slices > total_sm) {
    return fail(ErrorCode::invalid_argument, fmt::format("MIG layout needs {} compute slices, a "
                                                         "GPU has {}",
                                                         sm_slices, total_sm));
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
  std::vector<bool> used(static_cast<std::size_t>(total_mem), false);
  std::vector<int> starts(ps.size(), -1);
  if (!place(sorted, 0, used, starts)) {
    std::string joined;
    for (const auto& n : layout) {
      joined += (joined.empty() ? "" : "+") + n;
    }
    return fail(ErrorCode::invalid_argument,
                fmt::format("MIG layout {} has no legal placement on the GPU's {} memory slices",
                            joined, total_mem));
  }
  std::vector<MigPlacement> out(ps.size());
  for (std::size_t k = 0; k < order.size(); ++k) {
    out[order[k]] = {ps[order[k]].name, starts[k]};
  }
  return out;
}

MpsEquivalent mps_equivalent(const MigProfile& p, int device_sms) {
  MpsEquivalent e;
  e.sms = p.sms > 0 ? p.sms : device_sms * p.sm_slices / 7;
  e.mem_limit = p.memory_bytes;
  e.thread_percent = std::clamp(
      static_cast<int>(std::ceil(100.0 * e.sms / std::max(1, device_sms) - 1e-9)), 1, 100);
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
