#include "gpu/gpu_backend.hpp"

#include <fmt/format.h>

#include <map>

namespace colo {

nlohmann::json to_json(const DeviceInfo& d) {
  return {{"index", d.index},
          {"uuid", d.uuid},
          {"name", d.name},
          {"memory_bytes", d.memory_bytes},
          {"sm_count", d.sm_count},
          {"mig_mode", d.mig_mode},
          {"compute_mode", d.compute_mode},
          {"driver", d.driver_version},
          {"simulated", d.simulated}};
}

Status check_green_sms(const ModeSettings& mode, int device_sms, int device) {
  auto check = [&](int sms) -> Status {
    if (sms > device_sms) {
      return fail(ErrorCode::invalid_argument,
                  fmt::format("green: {} SMs asked for, GPU {} has {}", sms, device, device_sms));
    }
    return {};
  };
  if (mode.sms.all) {
    COLO_TRY(check(*mode.sms.all));
  }
  for (const auto& [w, v] : mode.sms.by_workload) {
    (void)w;
    COLO_TRY(check(v));
  }
  return {};
}

std::vector<int> green_offsets(const std::vector<ClientPlan>& clients,
                               const std::vector<int>& devices, int granule) {
  std::vector<int> out;
  std::map<int, int> next;  // device -> first free SM
  for (std::size_t i = 0; i < clients.size(); ++i) {
    const int d = device_for_client(devices, static_cast<int>(i));
    const int sms = clients[i].sms.value_or(0);
    out.push_back(sms > 0 ? next[d] : 0);
    next[d] += (sms + granule - 1) / granule * granule;
  }
  return out;
}

}  // namespace colo
