#include "gpu/gpu_backend.hpp"

#include <fmt/format.h>

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

}  // namespace colo
