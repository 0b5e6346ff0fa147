#pragma once
// What colo serve needs of the host's GPUs (STYLE.md §4: a narrow seam with a real and a fake
// implementation): the devices, their telemetry, and one private MPS control daemon per GPU that
// has MPS pools. The real one (BackendGpuHost) wraps a GpuBackend (NVML or the simulated GPU) and
// src/gpu/mps's MpsDaemon, the same code `colo run` uses; tests use a Fake. Not thread-safe: the
// daemon calls it from one thread at a time (its own lock).
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "gpu/gpu_backend.hpp"
#include "gpu/mps/mps_daemon.hpp"

namespace colo::serve {

// One MPS control daemon serving one GPU's MPS pools.
class MpsServer {
 public:
  virtual ~MpsServer() = default;
  // CUDA_MPS_PIPE_DIRECTORY / CUDA_MPS_LOG_DIRECTORY of its clients (empty on the simulated GPU).
  [[nodiscard]] virtual std::map<std::string, std::string> client_env() const = 0;
  // Every fault seen since the daemon started (server-log fatal errors and teardowns; pid 0: the
  // daemon itself lost). Grows only; a caller remembers how many it has seen.
  [[nodiscard]] virtual std::vector<MpsFault> faults() const = 0;
  // Quits the daemon and its servers; idempotent.
  virtual Status quit() = 0;
};

// The MIG instances colo serve created on one GPU (one layout, through the backend's begin_mode:
// NVML creates GPU and compute instances, the simulated GPU simulates them).
class MigInstances {
 public:
  virtual ~MigInstances() = default;
  // Environment of the workers of instance `slot` (its layout's order): CUDA_VISIBLE_DEVICES is
  // the instance's MIG-... UUID.
  [[nodiscard]] virtual std::map<std::string, std::string> client_env(int slot) const = 0;
  // Destroys the instances; idempotent.
  virtual Status destroy() = 0;
};

class GpuHost {
 public:
  virtual ~GpuHost() = default;
  // True for the simulated GPU: everything it reports is labelled simulated.
  [[nodiscard]] virtual bool simulated() const = 0;
  virtual Result<std::vector<DeviceInfo>> devices() = 0;
  // Telemetry of `device` now (DCGM field names, gpu_backend.hpp's Metric).
  virtual Result<std::vector<Metric>> sample(int device) = 0;
  // Starts the MPS control daemon of `device` with its pipe and log directories under `dir`.
  virtual Result<std::unique_ptr<MpsServer>> start_mps(int device, const std::string& dir) = 0;
  // Creates one MIG instance per profile of `profiles` on `device` (a legal layout of its
  // placement table, serve/mig_plan.hpp), scratch files under `dir`. Default: unsupported.
  virtual Result<std::unique_ptr<MigInstances>> create_mig(int device,
                                                           const std::vector<std::string>& profiles,
                                                           const std::string& dir);
};

// The real host: `backend`'s devices and telemetry; MPS daemons through MpsDaemon on NVML, none
// on the simulated GPU (its MPS "server" has no environment and never faults); MIG instances
// through the backend's begin_mode (mode mig), destroyed by the session's end().
std::unique_ptr<GpuHost> make_gpu_host(std::unique_ptr<GpuBackend> backend);

}  // namespace colo::serve
