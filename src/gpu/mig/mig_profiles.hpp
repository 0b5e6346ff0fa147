#pragma once
// MIG geometry of every MIG-capable data-centre GPU in NVIDIA's MIG user guide (r580,
// "Supported MIG Profiles"; sources per table in mig_profiles.cpp and docs/gpu.md): profiles,
// legal placements of a layout, and each profile's MPS equivalent (same SM share and memory) for
// GPUs without MIG. The NVML backend prefers the tables the driver reports (nvml_mig.hpp) and
// falls back to these. Pure.
#include <cstdint>
#include <string>
#include <vector>

#include "core/result.hpp"

namespace colo {

struct MigProfile {
  std::string name;         // "3g.40gb"
  int id = 0;               // NVML GPU-instance profile id (`nvidia-smi mig -lgip`)
  int sm_slices = 0;        // compute slices (of 7; A30: of 4)
  int mem_slices = 0;       // memory slices (of 8; A30: of 4)
  std::vector<int> starts;  // memory-slice indices where an instance may start
  int max_count = 0;
  int sms = 0;  // SMs of an instance; 0 = unknown (estimated from the slices when needed)
  std::uint64_t memory_bytes = 0;
};

// One GPU model's shipped table.
struct MigModel {
  std::string model;   // "H200 141GB (SXM, NVL)"
  std::string source;  // where the numbers come from, and which are assumed
  std::vector<MigProfile> profiles;
};

// Every shipped table, in the order of the guide.
const std::vector<MigModel>& mig_models();

// The model whose table serves an NVML device name ("NVIDIA H200", "NVIDIA A100-SXM4-40GB",
// "NVIDIA H100 NVL", "NVIDIA H100 80GB HBM3"...); nullptr when none does.
const MigModel* mig_model_for(const std::string& gpu_name);

// Profiles of a GPU model; the error names the model and the known ones when it is unknown.
Result<std::vector<MigProfile>> mig_profiles_for(const std::string& gpu_name);
Result<MigProfile> find_mig_profile(const std::vector<MigProfile>& table, const std::string& name);

// The GPU's compute and memory slices: those of the table's largest profile (7 and 8; A30: 4, 4).
int mig_sm_slices(const std::vector<MigProfile>& table);
int mig_mem_slices(const std::vector<MigProfile>& table);

struct MigPlacement {
  std::string profile;
  int start = 0;  // first memory slice
};

// Places every profile of `layout` (names) without overlap, within the GPU's compute slices
// (hence at most 7 instances; A30: 4) and memory slices, honouring each profile's allowed starts
// and max count. Result in layout order.
Result<std::vector<MigPlacement>> place_mig_layout(const std::vector<MigProfile>& table,
                                                   const std::vector<std::string>& layout);

struct MpsEquivalent {
  int thread_percent = 100;  // ceil(sms / device SMs * 100)
  std::uint64_t mem_limit = 0;
  int sms = 0;  // the profile's; when unknown, device SMs * sm_slices / 7 (rounded down)
};
MpsEquivalent mps_equivalent(const MigProfile& p, int device_sms);

// "3g.40gb = 60 SMs (46% threads), 40448 MiB; ..." for the profiles of `layout` (messages).
std::string mps_equivalents_hint(const std::vector<MigProfile>& table,
                                 const std::vector<std::string>& layout, int device_sms);

}  // namespace colo
