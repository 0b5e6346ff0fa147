#pragma once
// The simulated GPU's hardware description, loaded from a topology file
// (data/topologies/*.yaml, docs/simulated-gpu.md) or the built-in H100 80GB default.
#include <cstdint>
#include <string>

#include "core/result.hpp"
#include "gpu/sim/contention_model.hpp"

namespace colo::sim {

struct SimTopology {
  std::string name = "NVIDIA H100 80GB HBM3";
  int devices = 1;
  int sm_count = 132;
  std::uint64_t memory_bytes = 80ULL * 1024 * 1024 * 1024;
  double idle_power_w = 70;
  double max_power_w = 700;
  double sm_clock_mhz = 1980;
  std::string mig_mode = "disabled";
  ContentionParams contention;
};

Result<SimTopology> parse_topology(const std::string& yaml_text, const std::string& path);
Result<SimTopology> load_topology(const std::string& path);

}  // namespace colo::sim
