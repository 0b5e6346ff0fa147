#pragma once
// The GPU layer's one interface (STYLE.md §4). Implementations: gpu/sim (SimBackend, every
// machine) and gpu/nvml (NvmlBackend, NVIDIA driver present). Chosen at run time by
// make_backend() in engine.
#include <cstdint>
#include <nlohmann/json.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "core/run_plan.hpp"
#include "core/spec.hpp"

namespace colo {

struct DeviceInfo {
  int index = 0;
  std::string uuid;
  std::string name;
  std::uint64_t memory_bytes = 0;
  int sm_count = 0;          // 0 when unknown
  std::string mig_mode;      // "disabled", "enabled", "unsupported"
  std::string compute_mode;  // "default", "exclusive_process", ...
  std::string driver_version;
  bool simulated = false;
};

// One telemetry value. Names are DCGM field names where one exists (docs/telemetry.md), units
// as DCGM's: FB_USED in MiB, POWER_USAGE in W, TOTAL_ENERGY_CONSUMPTION in mJ, PROF_* as 0..1.
struct Metric {
  std::string name;
  double value = 0;
  int pid = 0;  // for per-process metrics (colo.process_gpu_mem_bytes): the process; else 0
};

// A client fault that the mode's machinery reported (e.g. the MPS server log). pid 0: a fault of
// the machinery itself (the MPS daemon died mid-run), which fails the run.
struct ClientFault {
  int pid = 0;
  std::string message;
};

// A sharing mode set up on the devices of one run (an MPS daemon, a MIG layout, a simulated
// GPU's state directory). end() undoes it; the destructor calls end() if it was not called.
class ModeSession {
 public:
  virtual ~ModeSession() = default;
  // Environment for client `index` of the run (CUDA_VISIBLE_DEVICES, MPS limits, ...).
  [[nodiscard]] virtual std::map<std::string, std::string> client_env(const ClientPlan& client,
                                                                      int index) const = 0;
  virtual Status end() = 0;
  // Faults of client processes seen by the sharing machinery during the run (empty if none).
  [[nodiscard]] virtual std::vector<ClientFault> faults() const { return {}; }
};

class GpuBackend {
 public:
  virtual ~GpuBackend() = default;
  [[nodiscard]] virtual std::string name() const = 0;
  // True for the simulated GPU: every result it produces must be labelled simulated.
  [[nodiscard]] virtual bool simulated() const = 0;
  virtual Result<std::vector<DeviceInfo>> devices() = 0;
  // Telemetry of one device now. Called from the monitor thread only; an unsupported metric is
  // left out, a lost device is an error value.
  virtual Result<std::vector<Metric>> sample(int device) = 0;
  // Whether `mode` can run on `devices` here; the error explains why not and what to use.
  virtual Status check_mode(const ModeSettings& mode, const std::vector<int>& devices) = 0;
  // Sets the mode up for one run whose scratch files go under `run_dir`.
  virtual Result<std::unique_ptr<ModeSession>> begin_mode(const ModeSettings& mode,
                                                          const std::vector<int>& devices,
                                                          const std::string& run_dir) = 0;
};

// A device as JSON (stored with experiments, printed by `colo gpus --json`).
nlohmann::json to_json(const DeviceInfo& d);

// Checks the green-context SM counts of `mode` against a device of `device_sms` SMs.
Status check_green_sms(const ModeSettings& mode, int device_sms, int device);

// Green contexts of different processes get disjoint SMs only if each picks its own range:
// the first SM (COLO_GREEN_OFFSET) of each client's partition, packing the clients of each
// device in order, each rounded up to `granule` SMs (the green-context partition size of
// Hopper and Blackwell). Clients without sms get 0.
std::vector<int> green_offsets(const std::vector<ClientPlan>& clients,
                               const std::vector<int>& devices, int granule = 8);

// Device of client `index` when a run's clients are spread round-robin over `devices`.
inline int device_for_client(const std::vector<int>& devices, int index) {
  return devices.empty() ? 0 : devices[static_cast<std::size_t>(index) % devices.size()];
}

}  // namespace colo
