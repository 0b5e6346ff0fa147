#include "engine/backend_factory.hpp"

#include <fmt/format.h>

#include "gpu/nvml/nvml_backend.hpp"
#include "gpu/sim/sim_backend.hpp"

namespace colo {

Result<BackendChoice> make_backend(const std::string& which, const Clock& clock,
                                   const std::string& sim_topology) {
  auto make_sim = [&]() -> Result<std::unique_ptr<GpuBackend>> {
    sim::SimTopology topo;
    if (!sim_topology.empty()) {
      auto t = sim::load_topology(sim_topology);
      if (!t) {
        return fail(t.error());
      }
      topo = *t;
    }
    return std::unique_ptr<GpuBackend>(std::make_unique<sim::SimBackend>(topo, clock));
  };
  BackendChoice choice;
  if (which == "sim") {
    auto b = make_sim();
    if (!b) {
      return fail(b.error());
    }
    choice.backend = std::move(*b);
    choice.notice = "using the SIMULATED GPU (--gpu sim): results are modelled, not measured";
    return choice;
  }
  if (which == "nvml" || which == "auto") {
    auto n = NvmlBackend::create();
    if (n) {
      choice.backend = std::move(*n);
      return choice;
    }
    if (which == "nvml") {
      return fail(n.error());
    }
    auto b = make_sim();
    if (!b) {
      return fail(b.error());
    }
    choice.backend = std::move(*b);
    choice.notice = fmt::format(
        "no NVIDIA GPU available ({}); using the SIMULATED GPU: results are modelled, not "
        "measured",
        n.error().what());
    return choice;
  }
  return fail(ErrorCode::invalid_argument,
              fmt::format("unknown GPU backend '{}' (use auto, sim or nvml)", which));
}

}  // namespace colo
