#include "gpu/mode/mode_env.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "gpu/gpu_backend.hpp"

namespace colo {

bool uses_mps(const ModeSettings& mode) {
  return mode.kind == ModeKind::mps || mode.kind == ModeKind::mig_equivalent ||
         (mode.kind == ModeKind::green && mode.green_over_mps);
}

ClientShare client_share(const ModeSettings& mode, const ClientPlan& c, int index,
                         const ModeDevices& d) {
  ClientShare s;
  s.device = device_for_client(d.devices, index);
  s.mps = uses_mps(mode);
  if (s.mps) {
    s.thread_percent = c.thread_percent;
    s.mem_limit = c.mem_limit;
  }
  if (c.thread_percent && s.mps) {
    s.sm_share = *c.thread_percent / 100.0;
  }
  if (c.sms) {
    s.green_sms = c.sms;
    if (d.device_sms > 0) {
      s.sm_share = std::min(1.0, static_cast<double>(*c.sms) / d.device_sms);
    }
  }
  if (c.mig_profile && (mode.kind == ModeKind::mig || mode.kind == ModeKind::mig_equivalent)) {
    if (auto p = find_mig_profile(d.mig_table, *c.mig_profile)) {
      const auto e = mps_equivalent(*p, d.device_sms);
      if (d.device_sms > 0) {
        s.sm_share = std::min(1.0, static_cast<double>(e.sms) / d.device_sms);
      }
      s.mem_limit = e.mem_limit;
      if (mode.kind == ModeKind::mig) {
        s.bw_share = static_cast<double>(p->mem_slices) / std::max(1, mig_mem_slices(d.mig_table));
        s.mig = *p;
      } else {
        s.thread_percent = e.thread_percent;
      }
    }
  }
  return s;
}

std::string mps_mem_limit_value(std::uint64_t bytes) {
  return fmt::format("0={}M", std::max<std::uint64_t>(1, bytes / (1024ULL * 1024)));
}

std::map<std::string, std::string> share_env(const ClientShare& s, const std::string& visible) {
  std::map<std::string, std::string> env{{"CUDA_VISIBLE_DEVICES", visible}};
  if (s.mps && s.thread_percent) {
    env["CUDA_MPS_ACTIVE_THREAD_PERCENTAGE"] = std::to_string(*s.thread_percent);
  }
  if (s.mps && s.mem_limit) {
    env["CUDA_MPS_PINNED_DEVICE_MEM_LIMIT"] = mps_mem_limit_value(*s.mem_limit);
  }
  if (s.green_sms) {
    env["COLO_GREEN_SMS"] = std::to_string(*s.green_sms);
  }
  if (s.mig) {
    env["COLO_MIG_PROFILE"] = s.mig->name;
  }
  return env;
}

}  // namespace colo
