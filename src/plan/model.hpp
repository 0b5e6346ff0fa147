#pragma once
// The interference model of `colo plan` (docs/plan.md, "Model"): each job's collocated speed
// (relative to alone) under a sharing mechanism, predicted from solo profiles only. Pure.
//
// Each job i has, from its profile: a GPU time demand u_i (DCGM_FI_DEV_GPU_UTIL / 100), an SM
// demand a_i (DCGM_FI_PROF_SM_ACTIVE), a DRAM demand d_i (DCGM_FI_PROF_DRAM_ACTIVE) and a speed
// curve c_i(p) over SM shares p. Sharing stretches every job by one common factor s >= 1:
//   timeslice:            s = max(1, sum u_i / C_ts)                  speed_i = 1/s * (1 -
//   o_ts)^(n-1) mps (no limits):      s = max(1, sum a_i / C_mps, sum d_i / C_bw)  speed_i = 1/s *
//   (1 - o_mps)^(n-1) mps limits / green /  each job first runs at c_i(p_i) of its solo speed; then
//   mig-equivalent:       s = max(1, sum a_i c_i / C_mps, sum d_i c_i / C_bw), speed_i = c_i/s
//   *(1-o_mps)^(n-1) mig:                  isolated instances: speed_i = c_i(p_i), no contention
//   sequential:           one job at a time: speed_i = 1/n (do not collocate)
// Uncapped MPS shares C_mps unequally (measured on the H200: a light job beside a kernel that
// fills the SMs loses far more than its share): job i gets the weight w_i = a_i^g * exp(k occ_i)
// (occ_i: its DCGM_FI_PROF_SM_OCCUPANCY) and C_mps is water-filled by weight (a job never gets
// more than a_i; what it leaves goes to the others by weight); speed_i = min(1, x_i / a_i,
// C_bw / sum d_j) * (1 - o_mps)^(n-1). With g = 1, k = 0 every job gets C_mps / sum a_j (the
// common stretch above). Capped mechanisms keep the common stretch (each client is bounded).
// C_ts, C_mps, C_bw (capacities) and o_ts, o_mps (per extra client) are fitted on measured
// groups (fit_model), g and k on measured mixes (fit_mps_weights); k_fitted holds the fit on
// the committed H100/H200 results.
#include <string>
#include <vector>

#include "core/result.hpp"

namespace colo::plan {

enum class Mechanism { solo, sequential, timeslice, mps, mps_limits, mig, mig_equivalent, green };
const char* to_string(Mechanism m);

struct ModelParams {
  double ts_capacity = 1.0;           // C_ts: summed GPU busy fraction time-slicing can serve
  double mps_capacity = 1.0;          // C_mps: summed SM-active fraction MPS can serve
  double bw_capacity = 1.0;           // C_bw: summed DRAM-active fraction
  double ts_overhead = 0.0;           // o_ts: throughput lost per extra time-sliced client
  double mps_overhead = 0.0;          // o_mps: per extra MPS client
  double mps_weight_exp = 1.0;        // g: uncapped MPS weight's power of SM demand
  double mps_occupancy_weight = 0.0;  // k: uncapped MPS weight's growth with SM occupancy
};

// What the model knows of one job in a group.
struct Member {
  double gpu_busy = 1.0;   // u
  double sm_active = 1.0;  // a
  double dram = 0.0;       // d
  double speed_cap = 1.0;  // c(p) at its partition (1 without a partition)
  double occupancy = 0.0;  // occ: DCGM_FI_PROF_SM_OCCUPANCY, 0..1
};

// Which term set the common stretch factor.
enum class Bound { none, sms, bandwidth };

struct Prediction {
  std::vector<double> speed;  // per member, relative to alone, in (0, 1]
  Bound bound = Bound::none;
  double stretch = 1.0;  // s
};

Prediction predict(Mechanism m, const std::vector<Member>& members, const ModelParams& p);

// One measured group: its members' solo demands and their measured speeds (collocated rate /
// solo rate, same experiment).
struct Observation {
  std::string label;  // "h200 resnet18x4 mps"
  Mechanism mechanism = Mechanism::timeslice;
  std::vector<Member> members;
  std::vector<double> measured_speed;
};

// An observed group's aggregate normalized throughput (sum of speeds), predicted and measured.
struct Aggregates {
  double predicted = 0;
  double measured = 0;
};
Aggregates aggregates(const Observation& o, const ModelParams& p);

// Mean absolute error of predicted aggregate normalized throughput (sum of speeds), relative to
// the measured aggregate, over `obs`.
double aggregate_mape(const std::vector<Observation>& obs, const ModelParams& p);

// Mean absolute error of each member's predicted speed (relative to alone) over `obs`.
double member_mae(const std::vector<Observation>& obs, const ModelParams& p);

// Grid search of the parameters minimising aggregate_mape over `obs` (deterministic); the MPS
// weights stay those of a common stretch (g = 1, k = 0).
ModelParams fit_model(const std::vector<Observation>& obs);

// Grid search of g (1..3, step 0.05) and k (0..10, step 0.25) minimising member_mae over the
// uncapped-MPS groups of `obs`, the other parameters those of `base` (deterministic; ties keep
// the smaller g, then k). A sum over members cannot see who loses, hence the per-member error.
ModelParams fit_mps_weights(const std::vector<Observation>& obs, ModelParams base);

// Observations from CSV text: label,mechanism,member_index,gpu_busy,sm_active,dram,speed_cap,
// measured_speed[,sm_occupancy] (header line first; rows of one label form one group).
Result<std::vector<Observation>> observations_from_csv(const std::string& text);

// The parameters fitted on bench/results/plan-fit/fit.csv (capacities, overheads) and
// mixes-fit.csv (the MPS weights); docs/plan.md gives the fits and their errors on the held-out
// groups; tests/unit/plan checks that refitting reproduces them.
extern const ModelParams k_fitted;

}  // namespace colo::plan
