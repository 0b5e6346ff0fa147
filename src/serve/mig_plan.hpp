#pragma once
// The MIG layouts colo serve creates (docs/serve.md "MIG pools"): the pools whose partition is
// {kind: mig, profile: P} are grouped by GPU, and each GPU's profiles form one layout, checked
// against that GPU model's placement table (gpu/mig). Pure: the functions and the host's
// devices in, the layouts or an error naming the config line, the function and the fix out.
#include <map>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "gpu/gpu_backend.hpp"
#include "serve/config.hpp"

namespace colo::serve {

// Whether `p` is an instance colo serve creates (kind mig with a profile).
inline bool creates_mig(const PartitionSpec& p) {
  return p.kind == PartitionKind::mig && !p.mig_profile.empty();
}

// One GPU's layout: instance k has profiles[k] and serves functions[k].
struct MigGpuLayout {
  int device = 0;
  std::vector<std::string> profiles;
  std::vector<std::string> functions;
};

// Plans the layouts of every GPU with creates_mig pools (by GPU index). `source`: the config
// file's name for "file:line" (PartitionSpec::line). Errors (invalid_argument, unsupported): a
// GPU the host lacks; MIG not enabled on the GPU (with the MIG-equivalent kind mps partition to
// use instead); a profile the GPU model's table lacks (with the valid ones); a layout that has no
// legal placement (which pools fit, which does not, and the slices left free).
Result<std::map<int, MigGpuLayout>> plan_mig_layouts(const std::vector<FunctionConfig>& functions,
                                                     const std::vector<DeviceInfo>& devices,
                                                     const std::string& source);

}  // namespace colo::serve
