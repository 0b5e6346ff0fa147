#pragma once
// A workload's solo profile (docs/plan.md): its throughput at several SM shares, peak GPU memory
// and telemetry averages, measured alone by `colo profile` on one GPU model. Pure values, with
// their JSON form (as stored in the experiment store's `profiles` table and shown by
// `colo profile --show --format json`).
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "core/spec.hpp"

namespace colo::plan {

// Throughput (samples/s) at a share of the GPU's SMs in (0, 1]: MPS active-thread % / 100, or
// green-context SMs / device SMs.
struct SharePoint {
  double share = 1.0;
  double throughput = 0;
};

struct Profile {
  std::string workload;  // the spec workload's name when profiled
  std::string key;       // workload_key(): command + args + env
  std::string gpu_model;
  std::string driver;
  bool simulated = false;  // measured on the simulated GPU: modelled, not measured
  int device_sms = 0;
  std::uint64_t device_memory_bytes = 0;
  std::vector<SharePoint> mps_curve;    // ascending shares; the solo run is share 1
  std::vector<SharePoint> green_curve;  // empty: green contexts not profiled (not supported)
  double peak_mem_bytes = 0;
  // Averages over the solo run's samples, fractions in [0, 1] (DCGM names); absent where the
  // backend has no such metric.
  std::optional<double> gpu_util;       // DCGM_FI_DEV_GPU_UTIL / 100
  std::optional<double> sm_active;      // DCGM_FI_PROF_SM_ACTIVE
  std::optional<double> sm_occupancy;   // DCGM_FI_PROF_SM_OCCUPANCY
  std::optional<double> tensor_active;  // DCGM_FI_PROF_PIPE_TENSOR_ACTIVE
  std::optional<double> dram_active;    // DCGM_FI_PROF_DRAM_ACTIVE
  std::optional<double> pcie_bytes_s;   // PCIe tx + rx bytes/s
  std::optional<double> latency_ms;     // mean step latency reported by the workload (solo)
  std::int64_t experiment_id = 0;       // the profiling experiment in the store
  double created_at = 0;                // Unix seconds

  // Throughput alone on the whole GPU (the curve's share-1 point; 0 when there is none).
  [[nodiscard]] double solo_throughput() const;
  // Speed at `share` relative to solo, in (0, 1]: linear between measured points, through
  // (0, 0) below the smallest, capped at 1 (a share never makes a job faster than alone).
  [[nodiscard]] double speed_at(double share) const;
  [[nodiscard]] double green_speed_at(double share) const;
  [[nodiscard]] bool supports_green() const { return !green_curve.empty(); }
  // The green curve with the solo run as its share-1 point where it lacks one (empty without a
  // green curve or a solo throughput).
  [[nodiscard]] std::vector<SharePoint> green_curve_with_solo() const;
};

nlohmann::json to_json(const Profile& p);
Result<Profile> profile_from_json(const nlohmann::json& j);

// Identity of a workload for profiles: 64-bit FNV-1a (hex) of its builtin name, argv, builtin
// args and environment (maps in key order). The name, cwd and copies do not count.
std::string workload_key(const WorkloadSpec& w);

// Relative speed at `share` on a curve (see Profile::speed_at).
double curve_speed(const std::vector<SharePoint>& curve, double share);

// What `share` is known to give: the relative speed measured at the largest share <= `share`
// (0 below the smallest), capped at 1. A lower bound where speed does not fall as the share
// grows; unlike curve_speed it never trusts a straight line between two measured shares (a
// kernel whose grid is sized to every SM is a step, not a line: measured on the H200, triad
// 0.72 from 50% to 90% of the SMs and 1.00 at 100%).
double curve_speed_measured(const std::vector<SharePoint>& curve, double share);

}  // namespace colo::plan
