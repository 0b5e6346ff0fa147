#pragma once
// The mode layer: what a sharing mode gives each client of a run, whatever the backend. Pure:
// mode settings and the run's devices in, per-client share and environment out. The NVML and
// simulated backends both build their clients' environment here and add only their own
// machinery (MPS pipe directories, the simulated GPU's state directory).
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/run_plan.hpp"
#include "core/spec.hpp"
#include "gpu/mig/mig_profiles.hpp"

namespace colo {

// The devices of a run as the mode layer sees them.
struct ModeDevices {
  std::vector<int> devices;           // the run's GPUs; clients are placed round-robin
  int device_sms = 0;                 // SMs of one device (0 = unknown)
  std::vector<MigProfile> mig_table;  // the devices' MIG profiles (mig, mig-equivalent)
};

// One client's share of its GPU under a mode.
struct ClientShare {
  int device = 0;                          // GPU index (round-robin over ModeDevices::devices)
  bool mps = false;                        // a client of the device's MPS daemon
  std::optional<int> thread_percent;       // MPS active-thread limit, 1..100
  std::optional<std::uint64_t> mem_limit;  // bytes: MPS pinned memory limit / MIG instance size
  std::optional<int> green_sms;            // green-context SMs
  std::optional<MigProfile> mig;           // mode mig: the client's MIG instance
  double sm_share = 1.0;                   // share of the device's SMs the client may use
  double bw_share = 1.0;                   // share of the memory bandwidth (MIG: its slices / 8)
};

// Whether `mode`'s clients run under one MPS daemon per GPU: mps, mig-equivalent, and green
// unless it runs over time-slicing.
bool uses_mps(const ModeSettings& mode);

// The share of client `index` (plan `c`) under `mode`. mig-equivalent: the MPS limits of the
// client's profile (mps_equivalent); mig: the profile's instance; green: its SMs (over MPS
// unless mode.green_over_mps is false); mps: the plan's limits.
ClientShare client_share(const ModeSettings& mode, const ClientPlan& c, int index,
                         const ModeDevices& d);

// The environment of a share: CUDA_VISIBLE_DEVICES=`visible` (the device's UUID or index, or the
// MIG device's UUID), CUDA_MPS_ACTIVE_THREAD_PERCENTAGE and CUDA_MPS_PINNED_DEVICE_MEM_LIMIT
// ("0=<MiB>M") for MPS clients with limits, COLO_GREEN_SMS, COLO_MIG_PROFILE.
std::map<std::string, std::string> share_env(const ClientShare& s, const std::string& visible);

// "0=<MiB>M" (at least 1 MiB), the CUDA_MPS_PINNED_DEVICE_MEM_LIMIT value for device 0 of the
// client's view.
std::string mps_mem_limit_value(std::uint64_t bytes);

}  // namespace colo
