#pragma once
// MIG geometry from NVIDIA's profile and placement tables (shared/data/nvidia-mig/, checked
// against `nvidia-smi mig -lgip/-lgipp` on the project's H100): profiles, legal placements of a
// layout, and each profile's MPS equivalent (same SM share and memory) for GPUs without MIG.
// Pure.
#include <cstdint>
#include <string>
#include <vector>

#include "core/result.hpp"

namespace colo {

struct MigProfile {
  std::string name;         // "3g.40gb"
  int id = 0;               // NVML GPU-instance profile id
  int sm_slices = 0;        // of 7
  int mem_slices = 0;       // of 8
  std::vector<int> starts;  // memory-slice indices where an instance may start
  int max_count = 0;
  int sms = 0;  // SMs of an instance
  std::uint64_t memory_bytes = 0;
};

// Profiles of a GPU model ("NVIDIA H100 80GB HBM3"); errors name the model when unknown.
Result<std::vector<MigProfile>> mig_profiles_for(const std::string& gpu_name);
Result<MigProfile> find_mig_profile(const std::vector<MigProfile>& table, const std::string& name);

struct MigPlacement {
  std::string profile;
  int start = 0;  // first memory slice
};

// Places every profile of `layout` (names) without overlap, within 7 SM slices and 7 instances,
// honouring each profile's allowed starts and max count. Result in layout order.
Result<std::vector<MigPlacement>> place_mig_layout(const std::vector<MigProfile>& table,
                                                   const std::vector<std::string>& layout);

struct MpsEquivalent {
  int thread_percent = 100;  // ceil(sms / device SMs * 100)
  std::uint64_t mem_limit = 0;
  int sms = 0;
};
MpsEquivalent mps_equivalent(const MigProfile& p, int device_sms);

// "3g.40gb = 60 SMs (46% threads), 40448 MiB; ..." for the profiles of `layout` (messages).
std::string mps_equivalents_hint(const std::vector<MigProfile>& table,
                                 const std::vector<std::string>& layout, int device_sms);

}  // namespace colo
