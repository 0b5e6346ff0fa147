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

}  // namespace colo::nvml
