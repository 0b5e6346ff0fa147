#pragma once
// Chooses the GPU backend at run time: "nvml" (NVIDIA driver), "sim" (simulated GPU), or "auto"
// (NVML when a driver answers, else the simulated GPU with a notice saying so).
#include <memory>
#include <string>

#include "core/clock.hpp"
#include "gpu/gpu_backend.hpp"

namespace colo {

struct BackendChoice {
  std::unique_ptr<GpuBackend> backend;
  std::string notice;  // why this backend was chosen; non-empty when auto fell back to sim
};

// `sim_topology`: topology file for the simulated GPU ("" = built-in H100 80GB).
Result<BackendChoice> make_backend(const std::string& which, const Clock& clock,
                                   const std::string& sim_topology);

}  // namespace colo
