#include "serve/mig_plan.hpp"

#include <fmt/format.h>

#include "gpu/mig/mig_profiles.hpp"

namespace colo::serve {
namespace {

// "file:line: functions.NAME.partition[.profile]: " of `f`'s partition.
std::string where(const FunctionConfig& f, const std::string& source, const char* field) {
  const std::string file = source.empty() ? "config" : source;
  const std::string at = f.partition.line > 0 ? fmt::format("{}:{}", file, f.partition.line) : file;
  return fmt::format("{}: functions.{}.partition{}: ", at, f.name, field);
}

// "a=3g.71gb, b=1g.18gb" of the first `n` pools of `l`.
std::string pools_of(const MigGpuLayout& l, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    out += fmt::format("{}'{}' ({})", out.empty() ? "" : ", ", l.functions[i], l.profiles[i]);
  }
  return out;
}

}  // namespace

Result<std::map<int, MigGpuLayout>> plan_mig_layouts(const std::vector<FunctionConfig>& functions,
                                                     const std::vector<DeviceInfo>& devices,
                                                     const std::string& source) {
  std::map<int, MigGpuLayout> layouts;
  for (const auto& f : functions) {
    if (!creates_mig(f.partition)) {
      continue;
    }
    const int d = f.partition.device;
    if (d < 0 || d >= static_cast<int>(devices.size())) {
      return fail(ErrorCode::invalid_argument,
                  fmt::format("{}GPU {}: this host has {} GPU(s)", where(f, source, ""), d,
                              devices.size()));
    }
    const DeviceInfo& info = devices[static_cast<std::size_t>(d)];
    auto table = mig_profiles_for(info.name);
    if (!table) {
      return fail(ErrorCode::unsupported,
                  fmt::format("{}GPU {} ({}) has no MIG placement table: {}", where(f, source, ""),
                              d, info.name, table.error().message));
    }
    const auto profile = find_mig_profile(*table, f.partition.mig_profile);
    if (!profile) {
      std::string valid;
      for (const auto& p : *table) {
        valid += (valid.empty() ? "" : ", ") + p.name;
      }
      return fail(
          ErrorCode::invalid_argument,
          fmt::format("{}'{}' is not a MIG profile of GPU {} ({}); valid: {}",
                      where(f, source, ".profile"), f.partition.mig_profile, d, info.name, valid));
    }
    if (info.mig_mode != "enabled") {
      const auto e = mps_equivalent(*profile, info.sm_count);
      const std::string instead = fmt::format(
          "; use the MIG-equivalent MPS share instead: partition: {{kind: mps, thread_percent: "
          "{}, mem_limit_mib: {}}} ({})",
          e.thread_percent, e.mem_limit >> 20U,
          mps_equivalents_hint(*table, {profile->name}, info.sm_count));
      return fail(
          ErrorCode::unsupported,
          fmt::format("{}MIG is {} on GPU {} ({}), so colo serve cannot create a {} "
                      "instance there (an administrator enables it: nvidia-smi -i {} "
                      "-mig 1){}",
                      where(f, source, ""), info.mig_mode.empty() ? "unknown" : info.mig_mode, d,
                      info.name, f.partition.mig_profile, d, instead));
    }
    auto& l = layouts[d];
    l.device = d;
    l.profiles.push_back(f.partition.mig_profile);
    l.functions.push_back(f.name);
    if (auto placed = place_mig_layout(*table, l.profiles); !placed) {
      int sm_used = 0;
      int mem_used = 0;
      for (std::size_t i = 0; i + 1 < l.profiles.size(); ++i) {
        if (const auto p = find_mig_profile(*table, l.profiles[i])) {
          sm_used += p->sm_slices;
          mem_used += p->mem_slices;
        }
      }
      const std::string before = pools_of(l, l.profiles.size() - 1);
      return fail(
          ErrorCode::invalid_argument,
          fmt::format("{}the MIG pools of GPU {} ({}) do not fit its placement table: {}{}'{}' "
                      "({}) does not ({}); free after the others: {} of {} compute slices, {} "
                      "of {} memory slices",
                      where(f, source, ".profile"), d, info.name,
                      before.empty() ? "" : before + " fit, ", before.empty() ? "" : "then ",
                      f.name, f.partition.mig_profile, placed.error().message,
                      mig_sm_slices(*table) - sm_used, mig_sm_slices(*table),
                      mig_mem_slices(*table) - mem_used, mig_mem_slices(*table)));
    }
  }
  return layouts;
}

}  // namespace colo::serve
