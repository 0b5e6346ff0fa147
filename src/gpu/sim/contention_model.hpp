#pragma once
// The simulated GPU's contention model (docs/simulated-gpu.md). Pure and deterministic.
//
// A workload's solo step takes 1 time unit: a host part (1 - duty) and a GPU part (duty) during
// which its kernels fill `sm_fraction` of the SMs and `bw_fraction` of DRAM bandwidth. Sharing
// stretches every GPU part by a common factor s >= 1, the smallest that keeps the shared
// resource within capacity:
//   timeslice: contexts take turns: sum_i r_i * g_i <= 1
//   mps/green: kernels overlap: sum_i r_i * g_i * sm_i <= 1 and sum_i r_i * g_i * bw_i <= 1
// with r_i = 1 / ((1 - d_i) + g_i * s) the step rate and g_i = d_i * max(1, sm_i / limit_i) the
// GPU part stretched by an SM limit (MPS thread %, green-context SMs); r_i * g_i is the GPU work
// client i asks for per unit time. Each extra client costs
// `switch_overhead` (timeslice) or `mps_overhead` (mps/green) of throughput. MIG instances are
// isolated: each client is computed alone within its SM and bandwidth limits.
#include <vector>

#include "core/spec.hpp"

namespace colo::sim {

struct SimClient {
  double duty = 1.0;         // (0, 1]
  double sm_fraction = 1.0;  // (0, 1]
  double bw_fraction = 0.5;  // [0, 1]
  double sm_limit = 1.0;     // (0, 1]: thread % / 100 or green SMs / device SMs
  double bw_limit = 1.0;     // (0, 1]: share of DRAM bandwidth it may use (MIG memory slices / 8)
};

struct ContentionParams {
  double switch_overhead = 0.01;
  double mps_overhead = 0.005;
};

// Relative speed of each client (throughput vs alone without limits), each in (0, 1].
// `mode` is the sharing mode of all clients (solo and timeslice are temporal, the rest spatial).
std::vector<double> speed_factors(const std::vector<SimClient>& clients, ModeKind mode,
                                  const ContentionParams& params = {});

// Fractions of the device in use, given clients and the speeds speed_factors() returned.
struct Utilization {
  double gpu_busy = 0;     // share of time any kernel runs (DCGM_FI_DEV_GPU_UTIL / 100)
  double sm_active = 0;    // DCGM_FI_PROF_SM_ACTIVE
  double dram_active = 0;  // DCGM_FI_PROF_DRAM_ACTIVE
};
Utilization utilization(const std::vector<SimClient>& clients, const std::vector<double>& speeds,
                        ModeKind mode);

}  // namespace colo::sim
