// A fake libnvidia-ml.so for tests on machines without a GPU: one or more "NVIDIA H100 80GB
// HBM3" devices with fixed telemetry and a MIG model (H100 profiles, placements, overlap and
// slice accounting, GPU/compute instances, MIG device handles and UUIDs), loaded by colo through
// COLO_NVML_LIBRARY. Its numbers are test fixtures, never measurements.
// Environment: FAKE_NVML_GPUS (default 1), FAKE_NVML_MIG (1 = MIG enabled, default 1),
// FAKE_NVML_NAME (the device name, default "NVIDIA H100 80GB HBM3"), FAKE_NVML_NO_MIG_INFO (1 =
// the profile table calls, v2 info and placements, answer NOT_SUPPORTED; they answer with MIG
// disabled too, as the real driver does on an H100),
// FAKE_NVML_LOST (1 = every telemetry call answers GPU_IS_LOST), FAKE_NVML_NO_PERMISSION (1 =
// creating instances answers NO_PERMISSION), FAKE_NVML_STATE (file keeping the instances across
// processes). Not thread-safe beyond a global mutex.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <string>
#include <vector>

#include "gpu/nvml/nvml_api.hpp"

using namespace colo::nvml;  // NOLINT: the fake implements this API

namespace {

constexpr Return k_invalid_argument = 2;
constexpr Return k_no_permission = 4;
constexpr Return k_not_found = 6;
constexpr Return k_insufficient_size = 7;
constexpr Return k_gpu_lost = 15;
constexpr Return k_in_use = 19;

struct Profile {
  const char* name;
  unsigned int enumerator;
  unsigned int id;
  unsigned int slices;
  unsigned int size;  // memory slices
  unsigned int sms;
  unsigned long long mem_mb;
  std::vector<unsigned int> starts;
};

const std::vector<Profile>& profiles() {
  static const std::vector<Profile> p = {
      {"1g.10gb", 0, 19, 1, 1, 16, 9984, {0, 1, 2, 3, 4, 5, 6}},
      {"2g.20gb", 1, 14, 2, 2, 32, 20096, {0, 2, 4}},
      {"3g.40gb", 2, 9, 3, 4, 60, 40448, {0, 4}},
      {"4g.40gb", 3, 5, 4, 4, 64, 40448, {0}},
      {"7g.80gb", 4, 0, 7, 8, 132, 81152, {0}},
      {"1g.20gb", 9, 15, 1, 2, 26, 20096, {0, 2, 4, 6}},
  };
  return p;
}

const Profile* by_id(unsigned int id) {
  for (const auto& p : profiles()) {
    if (p.id == id) {
      return &p;
    }
  }
  return nullptr;
}

struct Gi {
  unsigned int gpu;
  unsigned int id;
  unsigned int profile_id;
  unsigned int start;
  bool has_ci;
};

std::mutex g_mutex;
std::vector<Gi> g_gis;
unsigned int g_next_id = 1;
unsigned long long g_energy = 0;

bool env_on(const char* name, bool dflt) {
  const char* v = std::getenv(name);
  return v ? std::strcmp(v, "1") == 0 : dflt;
}
unsigned int gpu_count() {
  const char* v = std::getenv("FAKE_NVML_GPUS");
  return v ? static_cast<unsigned int>(std::atoi(v)) : 1U;
}

void save() {
  const char* path = std::getenv("FAKE_NVML_STATE");
  if (!path) {
    return;
  }
  std::ofstream out(path, std::ios::trunc);
  out << g_next_id << '\n';
  for (const auto& g : g_gis) {
    out << g.gpu << ' ' << g.id << ' ' << g.profile_id << ' ' << g.start << ' ' << g.has_ci << '\n';
  }
}

// With FAKE_NVML_STATE, the file is the truth; without it, state lives in this process.
void load() {
  const char* path = std::getenv("FAKE_NVML_STATE");
  if (!path) {
    return;
  }
  g_gis.clear();
  g_next_id = 1;
  std::ifstream in(path);
  if (!(in >> g_next_id)) {
    g_next_id = 1;
    return;
  }
  Gi g{};
  while (in >> g.gpu >> g.id >> g.profile_id >> g.start >> g.has_ci) {
    g_gis.push_back(g);
  }
}

// Handles encode what they name: GPUs 0x10+i, GPU instances 0x1000+id, compute instances
// 0x100000+id, MIG devices 0x200000+id.
constexpr std::uintptr_t k_gpu = 0x10;
constexpr std::uintptr_t k_gi = 0x1000;
constexpr std::uintptr_t k_ci = 0x100000;
constexpr std::uintptr_t k_mig = 0x200000;
template <typename T>
T handle(std::uintptr_t base, unsigned int n) {
  return reinterpret_cast<T>(base + n);  // NOLINT: opaque handles
}
template <typename T>
bool decode(T h, std::uintptr_t base, std::uintptr_t span, unsigned int* n) {
  const auto v = reinterpret_cast<std::uintptr_t>(h);  // NOLINT
  if (v < base || v >= base + span) {
    return false;
  }
  *n = static_cast<unsigned int>(v - base);
  return true;
}
bool gpu_of(Device d, unsigned int* i) {
  return decode(d, k_gpu, gpu_count(), i);
}
Gi* gi_by_id(unsigned int id) {
  for (auto& g : g_gis) {
    if (g.id == id) {
      return &g;
    }
  }
  return nullptr;
}

}  // namespace

extern "C" {

// Test hook: forget every instance.
void fake_nvml_reset() {
  std::lock_guard lock(g_mutex);
  g_gis.clear();
  g_next_id = 1;
  save();
}

Return nvmlInit_v2() {
  std::lock_guard lock(g_mutex);
  load();
  return k_success;
}
Return nvmlShutdown() {
  return k_success;
}
const char* nvmlErrorString(Return r) {
  switch (r) {
    case k_success:
      return "Success";
    case k_invalid_argument:
      return "Invalid Argument";
    case k_not_supported:
      return "Not Supported";
    case k_no_permission:
      return "Insufficient Permissions";
    case k_not_found:
      return "Not Found";
    case k_gpu_lost:
      return "GPU is lost";
    case k_in_use:
      return "In use by another client";
    case k_error_insufficient_resources:
      return "Insufficient resources";
    default:
      return "Unknown Error";
  }
}
Return nvmlSystemGetDriverVersion(char* buf, unsigned int n) {
  std::snprintf(buf, n, "580.0-fake");
  return k_success;
}
Return nvmlDeviceGetCount_v2(unsigned int* n) {
  *n = gpu_count();
  return k_success;
}
Return nvmlDeviceGetHandleByIndex_v2(unsigned int i, Device* d) {
  if (i >= gpu_count()) {
    return k_invalid_argument;
  }
  *d = handle<Device>(k_gpu, i);
  return k_success;
}
Return nvmlDeviceGetName(Device, char* buf, unsigned int n) {
  const char* name = std::getenv("FAKE_NVML_NAME");
  std::snprintf(buf, n, "%s", name ? name : "NVIDIA H100 80GB HBM3");
  return k_success;
}
Return nvmlDeviceGetUUID(Device d, char* buf, unsigned int n) {
  unsigned int i = 0;
  if (gpu_of(d, &i)) {
    std::snprintf(buf, n, "GPU-fa4e0000-0000-0000-0000-%012u", i);
    return k_success;
  }
  if (decode(d, k_mig, 1U << 20, &i)) {
    std::snprintf(buf, n, "MIG-fa4e%04u-0000-0000-0000-000000000000", i);
    return k_success;
  }
  return k_invalid_argument;
}
Return nvmlDeviceGetMemoryInfo(Device, Memory* m) {
  if (env_on("FAKE_NVML_LOST", false)) {
    return k_gpu_lost;
  }
  m->total = 80ULL << 30;
  m->used = 1ULL << 30;
  m->free = m->total - m->used;
  return k_success;
}
Return nvmlDeviceGetUtilizationRates(Device, Utilization* u) {
  if (env_on("FAKE_NVML_LOST", false)) {
    return k_gpu_lost;
  }
  u->gpu = 42;
  u->memory = 17;
  return k_success;
}
Return nvmlDeviceGetPowerUsage(Device, unsigned int* mw) {
  *mw = 123456;
  return env_on("FAKE_NVML_LOST", false) ? k_gpu_lost : k_success;
}
Return nvmlDeviceGetTotalEnergyConsumption(Device, unsigned long long* mj) {
  std::lock_guard lock(g_mutex);
  g_energy += 1000;
  *mj = g_energy;
  return env_on("FAKE_NVML_LOST", false) ? k_gpu_lost : k_success;
}
Return nvmlDeviceGetClockInfo(Device, int type, unsigned int* mhz) {
  *mhz = type == k_clock_sm ? 1980 : 2619;
  return env_on("FAKE_NVML_LOST", false) ? k_gpu_lost : k_success;
}
Return nvmlDeviceGetTemperature(Device, int, unsigned int* c) {
  *c = 40;
  return env_on("FAKE_NVML_LOST", false) ? k_gpu_lost : k_success;
}
Return nvmlDeviceGetMigMode(Device, unsigned int* cur, unsigned int* pending) {
  *cur = *pending = env_on("FAKE_NVML_MIG", true) ? 1 : 0;
  return k_success;
}
Return nvmlDeviceGetComputeMode(Device, int* mode) {
  *mode = 0;
  return k_success;
}
Return nvmlDeviceGetComputeRunningProcesses_v3(Device, unsigned int* n, ProcessInfo*) {
  *n = 0;
  return k_success;
}

Return nvmlDeviceGetGpuInstanceProfileInfo(Device d, unsigned int e, GpuInstanceProfileInfo* info) {
  unsigned int gpu = 0;
  if (!gpu_of(d, &gpu)) {
    return k_invalid_argument;
  }
  if (!env_on("FAKE_NVML_MIG", true)) {
    return k_not_supported;
  }
  for (const auto& p : profiles()) {
    if (p.enumerator == e) {
      *info = {};
      info->id = p.id;
      info->sliceCount = p.slices;
      info->instanceCount = static_cast<unsigned int>(p.starts.size());
      info->multiprocessorCount = p.sms;
      info->memorySizeMB = p.mem_mb;
      return k_success;
    }
  }
  return k_invalid_argument;
}

Return nvmlDeviceGetGpuInstanceProfileInfoV(Device d, unsigned int e,
                                            GpuInstanceProfileInfoV2* info) {
  unsigned int gpu = 0;
  if (!gpu_of(d, &gpu) || info->version != k_gi_profile_info_v2_version) {
    return k_invalid_argument;
  }
  if (env_on("FAKE_NVML_NO_MIG_INFO", false)) {
    return k_not_supported;
  }
  for (const auto& p : profiles()) {
    if (p.enumerator == e) {
      *info = {};
      info->version = k_gi_profile_info_v2_version;
      info->id = p.id;
      info->sliceCount = p.slices;
      info->instanceCount = static_cast<unsigned int>(p.starts.size());
      info->multiprocessorCount = p.sms;
      info->memorySizeMB = p.mem_mb;
      std::snprintf(info->name, sizeof(info->name), "MIG %s", p.name);
      return k_success;
    }
  }
  return k_invalid_argument;
}

Return nvmlDeviceGetGpuInstancePossiblePlacements_v2(Device d, unsigned int profile_id,
                                                     GpuInstancePlacement* out,
                                                     unsigned int* count) {
  unsigned int gpu = 0;
  const Profile* p = by_id(profile_id);
  if (!gpu_of(d, &gpu) || !p || !count) {
    return k_invalid_argument;
  }
  if (env_on("FAKE_NVML_NO_MIG_INFO", false)) {
    return k_not_supported;
  }
  if (!out) {
    *count = static_cast<unsigned int>(p->starts.size());
    return k_success;
  }
  if (*count < p->starts.size()) {
    return k_insufficient_size;
  }
  for (std::size_t i = 0; i < p->starts.size(); ++i) {
    out[i] = {p->starts[i], p->size};
  }
  *count = static_cast<unsigned int>(p->starts.size());
  return k_success;
}

Return nvmlDeviceCreateGpuInstanceWithPlacement(Device d, unsigned int profile_id,
                                                const GpuInstancePlacement* where,
                                                GpuInstance* out) {
  std::lock_guard lock(g_mutex);
  unsigned int gpu = 0;
  const Profile* p = by_id(profile_id);
  if (!gpu_of(d, &gpu) || !p || !where) {
    return k_invalid_argument;
  }
  if (!env_on("FAKE_NVML_MIG", true)) {
    return k_not_supported;
  }
  if (env_on("FAKE_NVML_NO_PERMISSION", false)) {
    return k_no_permission;
  }
  bool start_ok = false;
  for (auto s : p->starts) {
    start_ok = start_ok || s == where->start;
  }
  if (!start_ok || where->size != p->size) {
    return k_invalid_argument;
  }
  unsigned int slices = p->slices;
  for (const auto& g : g_gis) {
    if (g.gpu != gpu) {
      continue;
    }
    const Profile* q = by_id(g.profile_id);
    slices += q->slices;
    if (where->start < g.start + q->size && g.start < where->start + p->size) {
      return k_error_insufficient_resources;  // overlapping memory slices
    }
  }
  if (slices > 7) {
    return k_error_insufficient_resources;
  }
  const unsigned int id = g_next_id++;
  g_gis.push_back({gpu, id, p->id, where->start, false});
  save();
  *out = handle<GpuInstance>(k_gi, id);
  return k_success;
}

Return nvmlDeviceGetGpuInstances(Device d, unsigned int profile_id, GpuInstance* out,
                                 unsigned int* count) {
  std::lock_guard lock(g_mutex);
  unsigned int gpu = 0;
  if (!gpu_of(d, &gpu) || !by_id(profile_id)) {
    return k_invalid_argument;
  }
  if (!env_on("FAKE_NVML_MIG", true)) {
    return k_not_supported;
  }
  unsigned int n = 0;
  for (const auto& g : g_gis) {
    if (g.gpu == gpu && g.profile_id == profile_id) {
      if (n >= *count) {
        return k_insufficient_size;
      }
      out[n++] = handle<GpuInstance>(k_gi, g.id);
    }
  }
  *count = n;
  return k_success;
}

Return nvmlGpuInstanceGetInfo(GpuInstance h, GpuInstanceInfo* info) {
  std::lock_guard lock(g_mutex);
  unsigned int id = 0;
  Gi* g = decode(h, k_gi, 1U << 16, &id) ? gi_by_id(id) : nullptr;
  if (!g) {
    return k_invalid_argument;
  }
  info->device = handle<Device>(k_gpu, g->gpu);
  info->id = g->id;
  info->profileId = g->profile_id;
  info->placement = {g->start, by_id(g->profile_id)->size};
  return k_success;
}

Return nvmlGpuInstanceDestroy(GpuInstance h) {
  std::lock_guard lock(g_mutex);
  unsigned int id = 0;
  Gi* g = decode(h, k_gi, 1U << 16, &id) ? gi_by_id(id) : nullptr;
  if (!g) {
    return k_invalid_argument;
  }
  if (g->has_ci) {
    return k_in_use;
  }
  std::erase_if(g_gis, [&](const Gi& x) { return x.id == id; });
  save();
  return k_success;
}

// Compute-instance profiles: enumerator e spans {1,2,3,4,7} slices, id = e.
Return nvmlGpuInstanceGetComputeInstanceProfileInfo(GpuInstance h, unsigned int e, unsigned int,
                                                    ComputeInstanceProfileInfo* info) {
  static const unsigned int k_slices[] = {1, 2, 3, 4, 7};
  std::lock_guard lock(g_mutex);
  unsigned int id = 0;
  Gi* g = decode(h, k_gi, 1U << 16, &id) ? gi_by_id(id) : nullptr;
  if (!g || e >= 5) {
    return k_invalid_argument;
  }
  if (k_slices[e] > by_id(g->profile_id)->slices) {
    return k_not_supported;
  }
  *info = {};
  info->id = e;
  info->sliceCount = k_slices[e];
  info->instanceCount = by_id(g->profile_id)->slices / k_slices[e];
  return k_success;
}

Return nvmlGpuInstanceCreateComputeInstance(GpuInstance h, unsigned int ci_profile,
                                            ComputeInstance* out) {
  static const unsigned int k_slices[] = {1, 2, 3, 4, 7};
  std::lock_guard lock(g_mutex);
  unsigned int id = 0;
  Gi* g = decode(h, k_gi, 1U << 16, &id) ? gi_by_id(id) : nullptr;
  if (!g || ci_profile >= 5 || k_slices[ci_profile] != by_id(g->profile_id)->slices) {
    return k_invalid_argument;  // the fake models full-size compute instances only
  }
  if (g->has_ci) {
    return k_error_insufficient_resources;
  }
  g->has_ci = true;
  save();
  *out = handle<ComputeInstance>(k_ci, id);
  return k_success;
}

Return nvmlGpuInstanceGetComputeInstances(GpuInstance h, unsigned int ci_profile,
                                          ComputeInstance* out, unsigned int* count) {
  static const unsigned int k_slices[] = {1, 2, 3, 4, 7};
  std::lock_guard lock(g_mutex);
  unsigned int id = 0;
  Gi* g = decode(h, k_gi, 1U << 16, &id) ? gi_by_id(id) : nullptr;
  if (!g || ci_profile >= 5) {
    return k_invalid_argument;
  }
  unsigned int n = 0;
  if (g->has_ci && k_slices[ci_profile] == by_id(g->profile_id)->slices && *count > 0) {
    out[n++] = handle<ComputeInstance>(k_ci, id);
  }
  *count = n;
  return k_success;
}

Return nvmlComputeInstanceDestroy(ComputeInstance h) {
  std::lock_guard lock(g_mutex);
  unsigned int id = 0;
  Gi* g = decode(h, k_ci, 1U << 16, &id) ? gi_by_id(id) : nullptr;
  if (!g || !g->has_ci) {
    return k_invalid_argument;
  }
  g->has_ci = false;
  save();
  return k_success;
}

Return nvmlDeviceGetMaxMigDeviceCount(Device, unsigned int* n) {
  *n = 7;
  return k_success;
}

Return nvmlDeviceGetMigDeviceHandleByIndex(Device d, unsigned int index, Device* out) {
  std::lock_guard lock(g_mutex);
  unsigned int gpu = 0;
  if (!gpu_of(d, &gpu)) {
    return k_invalid_argument;
  }
  unsigned int n = 0;
  for (const auto& g : g_gis) {
    if (g.gpu == gpu && g.has_ci && n++ == index) {
      *out = handle<Device>(k_mig, g.id);
      return k_success;
    }
  }
  return k_not_found;
}

Return nvmlDeviceGetGpuInstanceId(Device d, unsigned int* id) {
  return decode(d, k_mig, 1U << 16, id) ? k_success : k_invalid_argument;
}

Return nvmlDeviceGetComputeInstanceId(Device d, unsigned int* id) {
  unsigned int gi = 0;
  if (!decode(d, k_mig, 1U << 16, &gi)) {
    return k_invalid_argument;
  }
  *id = 0;
  return k_success;
}

}  // extern "C"
