#pragma once
// The NVML entry points colo uses, declared here because no nvml.h is installed on the target
// machines (STYLE.md §5). Layouts follow NVML's public header (CUDA 12/13 drivers).
// X(name, return, (params)) generates the function-pointer table in NvmlLibrary.
namespace colo::nvml {

using Return = int;  // nvmlReturn_t; 0 = NVML_SUCCESS
inline constexpr Return k_success = 0;
inline constexpr Return k_not_supported = 3;
struct DeviceSt;
using Device = DeviceSt*;

struct Memory {  // nvmlMemory_t
  unsigned long long total;
  unsigned long long free;
  unsigned long long used;
};

struct Utilization {  // nvmlUtilization_t
  unsigned int gpu;
  unsigned int memory;
};

struct ProcessInfo {  // nvmlProcessInfo_t (v2/v3 layout)
  unsigned int pid;
  unsigned long long usedGpuMemory;
  unsigned int gpuInstanceId;
  unsigned int computeInstanceId;
};

// GPM (Hopper and newer).
struct GpmSampleSt;
using GpmSample = GpmSampleSt*;
struct GpmSupport {      // nvmlGpmSupport_t
  unsigned int version;  // k_gpm_support_version
  unsigned int isSupportedDevice;
};
struct GpmMetricInfo {
  char* shortName;
  char* longName;
  char* unit;
};
struct GpmMetric {  // nvmlGpmMetric_t
  unsigned int metricId;
  Return nvmlReturn;
  double value;
  GpmMetricInfo metricInfo;
};
inline constexpr int k_gpm_max_metrics = 333;  // NVML_GPM_METRIC_MAX; the caller sizes the array
struct GpmMetricsGet {                         // nvmlGpmMetricsGet_t
  unsigned int version;                        // k_gpm_metrics_get_version
  unsigned int numMetrics;
  GpmSample sample1;
  GpmSample sample2;
  GpmMetric metrics[k_gpm_max_metrics];
};
inline constexpr unsigned int k_gpm_support_version = 1;
inline constexpr unsigned int k_gpm_metrics_get_version = 1;
// nvmlGpmMetricId_t values used by colo, with the DCGM field each is exported as (0..1 ratios
// for *_UTIL, bytes/s for PCIe and NVLink).
inline constexpr unsigned int k_gpm_sm_util = 2;
inline constexpr unsigned int k_gpm_sm_occupancy = 3;
inline constexpr unsigned int k_gpm_any_tensor_util = 5;
inline constexpr unsigned int k_gpm_dram_bw_util = 10;
inline constexpr unsigned int k_gpm_fp64_util = 11;
inline constexpr unsigned int k_gpm_fp32_util = 12;
inline constexpr unsigned int k_gpm_fp16_util = 13;
inline constexpr unsigned int k_gpm_pcie_tx = 20;
inline constexpr unsigned int k_gpm_pcie_rx = 21;
inline constexpr unsigned int k_gpm_nvlink_rx = 60;
inline constexpr unsigned int k_gpm_nvlink_tx = 61;

// MIG (Ampere and newer, Linux). Instance handles are opaque.
struct GpuInstanceSt;
using GpuInstance = GpuInstanceSt*;
struct ComputeInstanceSt;
using ComputeInstance = ComputeInstanceSt*;
struct GpuInstancePlacement {  // nvmlGpuInstancePlacement_t; both in memory slices
  unsigned int start;
  unsigned int size;
};
struct GpuInstanceProfileInfo {  // nvmlGpuInstanceProfileInfo_t (v1)
  unsigned int id;               // the profile id of `nvidia-smi mig -lgip` (19 = 1g.10gb on H100)
  unsigned int isP2pSupported;
  unsigned int sliceCount;
  unsigned int instanceCount;
  unsigned int multiprocessorCount;
  unsigned int copyEngineCount;
  unsigned int decoderCount;
  unsigned int encoderCount;
  unsigned int jpegCount;
  unsigned int ofaCount;
  unsigned long long memorySizeMB;
};
struct GpuInstanceProfileInfoV2 {  // nvmlGpuInstanceProfileInfo_v2_t (with the profile's name)
  unsigned int version;            // k_gi_profile_info_v2_version
  unsigned int id;
  unsigned int isP2pSupported;
  unsigned int sliceCount;
  unsigned int instanceCount;
  unsigned int multiprocessorCount;
  unsigned int copyEngineCount;
  unsigned int decoderCount;
  unsigned int encoderCount;
  unsigned int jpegCount;
  unsigned int ofaCount;
  unsigned long long memorySizeMB;
  char name[96];  // "MIG 1g.18gb"
};
// NVML_STRUCT_VERSION(GpuInstanceProfileInfo, 2): the struct's size | version << 24.
inline constexpr unsigned int k_gi_profile_info_v2_version =
    static_cast<unsigned int>(sizeof(GpuInstanceProfileInfoV2)) | (2U << 24);
struct GpuInstanceInfo {  // nvmlGpuInstanceInfo_t
  Device device;
  unsigned int id;
  unsigned int profileId;
  GpuInstancePlacement placement;
};
struct ComputeInstanceProfileInfo {  // nvmlComputeInstanceProfileInfo_t (v1)
  unsigned int id;
  unsigned int sliceCount;
  unsigned int instanceCount;
  unsigned int multiprocessorCount;
  unsigned int sharedCopyEngineCount;
  unsigned int sharedDecoderCount;
  unsigned int sharedEncoderCount;
  unsigned int sharedJpegCount;
  unsigned int sharedOfaCount;
};
// Profile enumerators (NVML_GPU_INSTANCE_PROFILE_*, NVML_COMPUTE_INSTANCE_PROFILE_*) are probed
// from 0 up to these bounds; unknown ones answer an error and are skipped.
inline constexpr unsigned int k_gi_profile_probe = 32;
inline constexpr unsigned int k_ci_profile_probe = 16;
inline constexpr unsigned int k_ci_engine_profile_shared = 0;
inline constexpr Return k_error_insufficient_resources = 23;

inline constexpr int k_clock_sm = 1;   // NVML_CLOCK_SM
inline constexpr int k_clock_mem = 2;  // NVML_CLOCK_MEM
inline constexpr int k_temperature_gpu = 0;

#define COLO_NVML_FUNCTIONS(X)                                                  \
  X(nvmlInit_v2, Return, ())                                                    \
  X(nvmlShutdown, Return, ())                                                   \
  X(nvmlErrorString, const char*, (Return))                                     \
  X(nvmlSystemGetDriverVersion, Return, (char*, unsigned int))                  \
  X(nvmlDeviceGetCount_v2, Return, (unsigned int*))                             \
  X(nvmlDeviceGetHandleByIndex_v2, Return, (unsigned int, Device*))             \
  X(nvmlDeviceGetName, Return, (Device, char*, unsigned int))                   \
  X(nvmlDeviceGetUUID, Return, (Device, char*, unsigned int))                   \
  X(nvmlDeviceGetMemoryInfo, Return, (Device, Memory*))                         \
  X(nvmlDeviceGetUtilizationRates, Return, (Device, Utilization*))              \
  X(nvmlDeviceGetPowerUsage, Return, (Device, unsigned int*))                   \
  X(nvmlDeviceGetTotalEnergyConsumption, Return, (Device, unsigned long long*)) \
  X(nvmlDeviceGetClockInfo, Return, (Device, int, unsigned int*))               \
  X(nvmlDeviceGetTemperature, Return, (Device, int, unsigned int*))             \
  X(nvmlDeviceGetMigMode, Return, (Device, unsigned int*, unsigned int*))       \
  X(nvmlDeviceGetComputeMode, Return, (Device, int*))

// Entry points a driver may lack; missing ones leave their metrics out.
#define COLO_NVML_OPTIONAL_FUNCTIONS(X)                                                           \
  X(nvmlDeviceGetComputeRunningProcesses_v3, Return, (Device, unsigned int*, ProcessInfo*))       \
  X(nvmlDeviceGetCurrentClocksEventReasons, Return, (Device, unsigned long long*))                \
  X(nvmlGpmQueryDeviceSupport, Return, (Device, GpmSupport*))                                     \
  X(nvmlGpmSampleAlloc, Return, (GpmSample*))                                                     \
  X(nvmlGpmSampleFree, Return, (GpmSample))                                                       \
  X(nvmlGpmSampleGet, Return, (Device, GpmSample))                                                \
  X(nvmlGpmMetricsGet, Return, (GpmMetricsGet*))                                                  \
  X(nvmlDeviceGetGpuInstanceProfileInfo, Return, (Device, unsigned int, GpuInstanceProfileInfo*)) \
  X(nvmlDeviceCreateGpuInstanceWithPlacement, Return,                                             \
    (Device, unsigned int, const GpuInstancePlacement*, GpuInstance*))                            \
  X(nvmlDeviceGetGpuInstances, Return, (Device, unsigned int, GpuInstance*, unsigned int*))       \
  X(nvmlGpuInstanceGetInfo, Return, (GpuInstance, GpuInstanceInfo*))                              \
  X(nvmlGpuInstanceDestroy, Return, (GpuInstance))                                                \
  X(nvmlGpuInstanceGetComputeInstanceProfileInfo, Return,                                         \
    (GpuInstance, unsigned int, unsigned int, ComputeInstanceProfileInfo*))                       \
  X(nvmlGpuInstanceCreateComputeInstance, Return, (GpuInstance, unsigned int, ComputeInstance*))  \
  X(nvmlGpuInstanceGetComputeInstances, Return,                                                   \
    (GpuInstance, unsigned int, ComputeInstance*, unsigned int*))                                 \
  X(nvmlComputeInstanceDestroy, Return, (ComputeInstance))                                        \
  X(nvmlDeviceGetMaxMigDeviceCount, Return, (Device, unsigned int*))                              \
  X(nvmlDeviceGetMigDeviceHandleByIndex, Return, (Device, unsigned int, Device*))                 \
  X(nvmlDeviceGetGpuInstanceId, Return, (Device, unsigned int*))                                  \
  X(nvmlDeviceGetComputeInstanceId, Return, (Device, unsigned int*))                              \
  X(nvmlDeviceGetGpuInstanceProfileInfoV, Return,                                                 \
    (Device, unsigned int, GpuInstanceProfileInfoV2*))                                            \
  X(nvmlDeviceGetGpuInstancePossiblePlacements_v2, Return,                                        \
    (Device, unsigned int, GpuInstancePlacement*, unsigned int*))

}  // namespace colo::nvml
