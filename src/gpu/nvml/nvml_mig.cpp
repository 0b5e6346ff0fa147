#include "gpu/nvml/nvml_mig.hpp"

#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/os.hpp"

namespace colo::nvml {
namespace fs = std::filesystem;

namespace {

Device dev(Library& lib, int device) {
  return lib.devices.at(static_cast<std::size_t>(device));
}

Error nvml_error(const Library& lib, const std::string& what, Return r) {
  return Error(ErrorCode::gpu, what, lib.err(r));
}

// NVML's profile info for a table profile (matched by profile id), probing the enumerators.
Result<GpuInstanceProfileInfo> gi_profile_info(Library& lib, int device, int profile_id) {
  for (unsigned int e = 0; e < k_gi_profile_probe; ++e) {
    GpuInstanceProfileInfo info{};
    if (lib.nvmlDeviceGetGpuInstanceProfileInfo(dev(lib, device), e, &info) == k_success &&
        static_cast<int>(info.id) == profile_id) {
      return info;
    }
  }
  return fail(ErrorCode::unsupported,
              fmt::format("GPU {} does not offer MIG profile id {}", device, profile_id));
}

const MigProfile* profile_by_id(const std::vector<MigProfile>& table, unsigned int id) {
  for (const auto& p : table) {
    if (static_cast<unsigned int>(p.id) == id) {
      return &p;
    }
  }
  return nullptr;
}

// Every compute-instance profile id this GPU instance offers (shared engines).
std::vector<ComputeInstanceProfileInfo> ci_profiles(Library& lib, GpuInstance gi) {
  std::vector<ComputeInstanceProfileInfo> out;
  for (unsigned int e = 0; e < k_ci_profile_probe; ++e) {
    ComputeInstanceProfileInfo info{};
    if (lib.nvmlGpuInstanceGetComputeInstanceProfileInfo(gi, e, k_ci_engine_profile_shared,
                                                         &info) == k_success) {
      out.push_back(info);
    }
  }
  return out;
}

// Every GPU instance on `device`, over the profiles the device itself offers.
Result<std::vector<GpuInstance>> gpu_instances(Library& lib, int device) {
  std::vector<GpuInstance> out;
  for (unsigned int e = 0; e < k_gi_profile_probe; ++e) {
    GpuInstanceProfileInfo info{};
    if (lib.nvmlDeviceGetGpuInstanceProfileInfo(dev(lib, device), e, &info) != k_success) {
      continue;
    }
    GpuInstance buf[8] = {};
    unsigned int n = 8;
    const auto r = lib.nvmlDeviceGetGpuInstances(dev(lib, device), info.id, buf, &n);
    if (r != k_success) {
      return fail(nvml_error(lib, fmt::format("listing MIG instances of GPU {}", device), r));
    }
    out.insert(out.end(), buf, buf + std::min(n, 8U));
  }
  return out;
}

// Destroys GPU instance `gi_id` and its compute instances, if it still has `profile_id` at
// `start`; a missing instance is not an error.
Status destroy_instance(Library& lib, int device, const std::vector<MigProfile>& table,
                        const MigInstance& m) {
  auto gis = gpu_instances(lib, device);
  if (!gis) {
    return fail(gis.error());
  }
  for (auto gi : *gis) {
    GpuInstanceInfo info{};
    if (lib.nvmlGpuInstanceGetInfo(gi, &info) != k_success || info.id != m.gi_id) {
      continue;
    }
    const auto* p = profile_by_id(table, info.profileId);
    if (!p || p->name != m.profile || info.placement.start != m.start) {
      return {};  // the id was reused by someone else's instance: not ours
    }
    for (const auto& cp : ci_profiles(lib, gi)) {
      ComputeInstance cis[8] = {};
      unsigned int n = 8;
      if (lib.nvmlGpuInstanceGetComputeInstances(gi, cp.id, cis, &n) != k_success) {
        continue;
      }
      for (unsigned int i = 0; i < n && i < 8; ++i) {
        if (auto r = lib.nvmlComputeInstanceDestroy(cis[i]); r != k_success) {
          return fail(nvml_error(
              lib,
              fmt::format("destroying a compute instance of MIG {} on GPU {}", m.profile, device),
              r));
        }
      }
    }
    if (auto r = lib.nvmlGpuInstanceDestroy(gi); r != k_success) {
      return fail(nvml_error(
          lib, fmt::format("destroying MIG instance {} ({}) on GPU {}", m.gi_id, m.profile, device),
          r));
    }
  }
  return {};
}

// UUID and compute-instance id of the MIG device of GPU instance `gi_id`.
Status find_mig_device(Library& lib, int device, MigInstance& m) {
  unsigned int count = 0;
  if (auto r = lib.nvmlDeviceGetMaxMigDeviceCount(dev(lib, device), &count); r != k_success) {
    return fail(nvml_error(lib, "counting MIG devices", r));
  }
  for (unsigned int i = 0; i < count; ++i) {
    Device md = nullptr;
    unsigned int gi = 0;
    if (lib.nvmlDeviceGetMigDeviceHandleByIndex(dev(lib, device), i, &md) != k_success ||
        lib.nvmlDeviceGetGpuInstanceId(md, &gi) != k_success || gi != m.gi_id) {
      continue;
    }
    char uuid[96] = {};
    if (auto r = lib.nvmlDeviceGetUUID(md, uuid, sizeof(uuid)); r != k_success) {
      return fail(nvml_error(lib, "reading a MIG device UUID", r));
    }
    lib.nvmlDeviceGetComputeInstanceId(md, &m.ci_id);
    m.uuid = uuid;
    return {};
  }
  return fail(ErrorCode::gpu, fmt::format("MIG instance {} ({}) on GPU {} has no MIG device",
                                          m.gi_id, m.profile, device));
}

}  // namespace

bool has_mig_api(const Library& lib) {
  return lib.nvmlDeviceGetGpuInstanceProfileInfo && lib.nvmlDeviceCreateGpuInstanceWithPlacement &&
         lib.nvmlDeviceGetGpuInstances && lib.nvmlGpuInstanceGetInfo &&
         lib.nvmlGpuInstanceDestroy && lib.nvmlGpuInstanceGetComputeInstanceProfileInfo &&
         lib.nvmlGpuInstanceCreateComputeInstance && lib.nvmlGpuInstanceGetComputeInstances &&
         lib.nvmlComputeInstanceDestroy && lib.nvmlDeviceGetMaxMigDeviceCount &&
         lib.nvmlDeviceGetMigDeviceHandleByIndex && lib.nvmlDeviceGetGpuInstanceId &&
         lib.nvmlDeviceGetComputeInstanceId;
}

Result<std::vector<MigProfile>> read_mig_profiles(Library& lib, int device,
                                                  const std::vector<MigProfile>& shipped) {
  if (!lib.nvmlDeviceGetGpuInstancePossiblePlacements_v2 ||
      (!lib.nvmlDeviceGetGpuInstanceProfileInfoV && !lib.nvmlDeviceGetGpuInstanceProfileInfo)) {
    return fail(ErrorCode::unsupported, "this driver's NVML cannot list MIG profiles");
  }
  std::vector<MigProfile> out;
  for (unsigned int e = 0; e < k_gi_profile_probe; ++e) {
    GpuInstanceProfileInfoV2 info{};
    info.version = k_gi_profile_info_v2_version;
    std::string name;
    if (lib.nvmlDeviceGetGpuInstanceProfileInfoV &&
        lib.nvmlDeviceGetGpuInstanceProfileInfoV(dev(lib, device), e, &info) == k_success) {
      name.assign(info.name, strnlen(info.name, sizeof(info.name)));
      if (name.rfind("MIG ", 0) == 0) {
        name.erase(0, 4);
      }
    } else {
      GpuInstanceProfileInfo v1{};
      if (!lib.nvmlDeviceGetGpuInstanceProfileInfo ||
          lib.nvmlDeviceGetGpuInstanceProfileInfo(dev(lib, device), e, &v1) != k_success) {
        continue;
      }
      info = {k_gi_profile_info_v2_version,
              v1.id,
              v1.isP2pSupported,
              v1.sliceCount,
              v1.instanceCount,
              v1.multiprocessorCount,
              v1.copyEngineCount,
              v1.decoderCount,
              v1.encoderCount,
              v1.jpegCount,
              v1.ofaCount,
              v1.memorySizeMB,
              {}};
    }
    if (name.empty()) {
      const auto* p = profile_by_id(shipped, info.id);
      if (!p) {
        continue;  // unnamed and unknown: colo cannot refer to it
      }
      name = p->name;
    }
    GpuInstancePlacement pl[16] = {};
    unsigned int n = 16;
    if (lib.nvmlDeviceGetGpuInstancePossiblePlacements_v2(dev(lib, device), info.id, pl, &n) !=
            k_success ||
        n == 0) {
      continue;
    }
    MigProfile p;
    p.name = name;
    p.id = static_cast<int>(info.id);
    p.sm_slices = static_cast<int>(info.sliceCount);
    p.mem_slices = static_cast<int>(pl[0].size);
    for (unsigned int i = 0; i < n && i < 16; ++i) {
      p.starts.push_back(static_cast<int>(pl[i].start));
    }
    p.max_count = static_cast<int>(info.instanceCount);
    p.sms = static_cast<int>(info.multiprocessorCount);
    p.memory_bytes = info.memorySizeMB * 1024ULL * 1024ULL;
    out.push_back(std::move(p));
  }
  if (out.empty()) {
    return fail(ErrorCode::unsupported,
                fmt::format("GPU {}'s driver reports no MIG profiles", device));
  }
  return out;
}

Result<std::vector<MigInstance>> list_mig_instances(Library& lib, int device,
                                                    const std::vector<MigProfile>& table) {
  auto gis = gpu_instances(lib, device);
  if (!gis) {
    return fail(gis.error());
  }
  std::vector<MigInstance> out;
  for (auto gi : *gis) {
    GpuInstanceInfo info{};
    if (lib.nvmlGpuInstanceGetInfo(gi, &info) != k_success) {
      continue;
    }
    const auto* p = profile_by_id(table, info.profileId);
    out.push_back({p ? p->name : fmt::format("profile {}", info.profileId), info.placement.start,
                   info.id, 0, ""});
  }
  std::sort(out.begin(), out.end(),
            [](const MigInstance& a, const MigInstance& b) { return a.start < b.start; });
  return out;
}

std::string mig_state_file(const std::string& gpu_uuid) {
  return fmt::format("{}/mig-{}.json", user_state_dir(), gpu_uuid);
}

Status clean_stale_mig(Library& lib, int device, const std::vector<MigProfile>& table,
                       const std::string& state_file) {
  std::ifstream in(state_file);
  if (!in) {
    return {};
  }
  nlohmann::json j;
  try {
    in >> j;
  } catch (const std::exception& e) {
    return fail(ErrorCode::io, fmt::format("MIG state file {} is unreadable ({}); remove it after "
                                           "checking `nvidia-smi mig -lgi`",
                                           state_file, e.what()));
  }
  const pid_t owner = j.value("pid", 0);
  if (owner != ::getpid() && pid_alive(owner)) {
    return fail(ErrorCode::busy, fmt::format("GPU {}'s MIG instances belong to a running colo "
                                             "(pid {}, {})",
                                             device, owner, state_file));
  }
  for (const auto& e : j.value("instances", nlohmann::json::array())) {
    MigInstance m{e.value("profile", ""), e.value("start", 0U), e.value("gi", 0U), 0, ""};
    COLO_TRY(destroy_instance(lib, device, table, m));
  }
  std::error_code ec;
  fs::remove(state_file, ec);
  return {};
}

Result<std::unique_ptr<MigLayout>> MigLayout::create(Library& lib, int device,
                                                     const std::vector<MigProfile>& table,
                                                     const std::vector<MigPlacement>& placements,
                                                     std::string state_file) {
  if (!has_mig_api(lib)) {
    return fail(ErrorCode::unsupported,
                "this NVIDIA driver's NVML lacks the MIG instance functions colo needs");
  }
  COLO_TRY(clean_stale_mig(lib, device, table, state_file));
  auto existing = list_mig_instances(lib, device, table);
  if (!existing) {
    return fail(existing.error());
  }
  if (!existing->empty()) {
    std::string list;
    for (const auto& m : *existing) {
      list += fmt::format("{}{} at slice {}", list.empty() ? "" : ", ", m.profile, m.start);
    }
    return fail(ErrorCode::busy,
                fmt::format("GPU {} already has MIG instances ({}); colo only uses a GPU whose "
                            "instances it creates itself and never destroys others' (remove them "
                            "with `nvidia-smi mig -dci; nvidia-smi mig -dgi` if they are unused)",
                            device, list));
  }
  std::unique_ptr<MigLayout> layout(new MigLayout(lib, device, table, std::move(state_file)));
  COLO_TRY(layout->save());
  for (const auto& pl : placements) {
    auto prof = find_mig_profile(table, pl.profile);
    if (!prof) {
      return fail(prof.error());
    }
    auto info = gi_profile_info(lib, device, prof->id);
    if (!info) {
      return fail(info.error());
    }
    const GpuInstancePlacement where{static_cast<unsigned int>(pl.start),
                                     static_cast<unsigned int>(prof->mem_slices)};
    GpuInstance gi = nullptr;
    if (auto r =
            lib.nvmlDeviceCreateGpuInstanceWithPlacement(dev(lib, device), info->id, &where, &gi);
        r != k_success) {
      return fail(nvml_error(lib,
                             fmt::format("creating MIG instance {} at slice {} on GPU {}",
                                         pl.profile, pl.start, device),
                             r));
    }
    GpuInstanceInfo gi_info{};
    lib.nvmlGpuInstanceGetInfo(gi, &gi_info);
    MigInstance m{pl.profile, static_cast<unsigned int>(pl.start), gi_info.id, 0, ""};
    layout->m_instances.push_back(m);
    COLO_TRY(layout->save());
    const auto cps = ci_profiles(lib, gi);
    const auto full = std::find_if(
        cps.begin(), cps.end(),
        [&](const ComputeInstanceProfileInfo& c) { return c.sliceCount == info->sliceCount; });
    if (full == cps.end()) {
      return fail(ErrorCode::gpu, fmt::format("MIG instance {} on GPU {} offers no compute "
                                              "instance spanning it",
                                              pl.profile, device));
    }
    ComputeInstance ci = nullptr;
    if (auto r = lib.nvmlGpuInstanceCreateComputeInstance(gi, full->id, &ci); r != k_success) {
      return fail(nvml_error(
          lib, fmt::format("creating the compute instance of MIG {} on GPU {}", pl.profile, device),
          r));
    }
    COLO_TRY(find_mig_device(lib, device, layout->m_instances.back()));
  }
  return layout;
}

MigLayout::~MigLayout() {
  try {
    (void)destroy();
  } catch (...) {  // NOLINT(bugprone-empty-catch): a destructor must not throw; the state file
                   // left behind lets the next run clean up
  }
}

Status MigLayout::save() const {
  nlohmann::json j{{"pid", ::getpid()},
                   {"gpu", m_lib.infos.at(static_cast<std::size_t>(m_device)).uuid},
                   {"instances", nlohmann::json::array()}};
  for (const auto& m : m_instances) {
    j["instances"].push_back({{"profile", m.profile}, {"start", m.start}, {"gi", m.gi_id}});
  }
  std::error_code ec;
  fs::create_directories(fs::path(m_state_file).parent_path(), ec);
  const auto tmp = m_state_file + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << j.dump(1) << '\n';
    if (!out.flush()) {
      return fail(ErrorCode::io, fmt::format("cannot write MIG state file {}", tmp));
    }
  }
  fs::rename(tmp, m_state_file, ec);
  if (ec) {
    return fail(ErrorCode::io, fmt::format("cannot write MIG state file {}", m_state_file),
                ec.message());
  }
  return {};
}

Status MigLayout::destroy() {
  if (m_done) {
    return {};
  }
  m_done = true;
  Status result;
  while (!m_instances.empty()) {
    auto st = destroy_instance(m_lib, m_device, m_table, m_instances.back());
    if (!st) {
      // Keep the record: the next colo run retries (clean_stale_mig).
      if (result) {
        result = st;
      }
      m_done = false;
      (void)save();
      return result;
    }
    m_instances.pop_back();
  }
  std::error_code ec;
  fs::remove(m_state_file, ec);
  return result;
}

}  // namespace colo::nvml
