#pragma once
// MIG instances through NVML: list, create from a placed layout, destroy, and the MIG device
// UUIDs for CUDA_VISIBLE_DEVICES. Internal to gpu/nvml.
// Privileges: creating and destroying instances needs root (NVML answers NO_PERMISSION
// otherwise, reported as such). colo never changes MIG mode and never destroys instances it did
// not create: ownership is recorded in a state file (user_state_dir()/mig-<gpu uuid>.json, pid +
// instances) written before the first instance exists, so the next colo run removes the
// instances of a colo that died (clean_stale_mig) and refuses to touch those of a live one.
#include <memory>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "gpu/mig/mig_profiles.hpp"
#include "gpu/nvml/nvml_library.hpp"

namespace colo::nvml {

struct MigInstance {
  std::string profile;     // "3g.40gb"
  unsigned int start = 0;  // first memory slice
  unsigned int gi_id = 0;
  unsigned int ci_id = 0;
  std::string uuid;  // "MIG-..." for CUDA_VISIBLE_DEVICES; empty when listing foreign instances
};

// True when the driver has every MIG entry point colo uses.
bool has_mig_api(const Library& lib);

// The MIG profile table the driver reports for `device` (names, ids, slices, placements, max
// counts, SMs and memory per profile: nvmlDeviceGetGpuInstanceProfileInfoV and
// nvmlDeviceGetGpuInstancePossiblePlacements_v2). Profiles the v2 call cannot name are named from
// `shipped` by id, or left out. Error (unsupported) when the driver lacks the calls or answers
// none, e.g. on a GPU without MIG.
Result<std::vector<MigProfile>> read_mig_profiles(Library& lib, int device,
                                                  const std::vector<MigProfile>& shipped);

// The GPU instances on `device` now, whoever created them (uuid left empty).
Result<std::vector<MigInstance>> list_mig_instances(Library& lib, int device,
                                                    const std::vector<MigProfile>& table);

// State file recording colo's MIG instances on the GPU with `gpu_uuid`.
std::string mig_state_file(const std::string& gpu_uuid);

// Removes the instances recorded in `state_file` when the colo that wrote it is gone (only those
// whose id, profile and start still match); error when a live colo holds them.
Status clean_stale_mig(Library& lib, int device, const std::vector<MigProfile>& table,
                       const std::string& state_file);

// The instances of one layout on one GPU, created by create() and destroyed by destroy() or the
// destructor, newest first. Not thread-safe.
class MigLayout {
 public:
  // Creates one GPU instance (at its placement) plus one full compute instance per entry. The
  // GPU must have no instances; on any failure the instances made so far are destroyed.
  static Result<std::unique_ptr<MigLayout>> create(Library& lib, int device,
                                                   const std::vector<MigProfile>& table,
                                                   const std::vector<MigPlacement>& placements,
                                                   std::string state_file);
  ~MigLayout();
  MigLayout(const MigLayout&) = delete;
  MigLayout& operator=(const MigLayout&) = delete;

  [[nodiscard]] const std::vector<MigInstance>& instances() const { return m_instances; }
  Status destroy();

 private:
  MigLayout(Library& lib, int device, std::vector<MigProfile> table, std::string state_file)
      : m_lib(lib),
        m_device(device),
        m_table(std::move(table)),
        m_state_file(std::move(state_file)) {}
  Status save() const;
  Library& m_lib;
  int m_device;
  std::vector<MigProfile> m_table;
  std::string m_state_file;
  std::vector<MigInstance> m_instances;
  bool m_done = false;
};

}  // namespace colo::nvml
