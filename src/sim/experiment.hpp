#pragma once
// `colo sim` experiments on a trace (docs/sim.md). Pure and deterministic for a seed.
//   inflate: pods are submitted one by one, never deleted, until the requested GPU reaches
//            `load` x the cluster's GPU capacity (the FGD paper's method); a pod that fits
//            nowhere stays unscheduled. Artifact semantics: every trace pod once in a seeded
//            shuffle, then pods drawn with replacement while the next one keeps the request
//            within the load (or random pods dropped when the trace alone exceeds it), with Go's
//            generator as the artifact; exact semantics: draws with replacement only.
//   replay:  the trace's creation and deletion times as events; a pod that does not fit waits
//            in a FIFO queue (later pods may pass it) and runs for deletion - creation seconds
//            once placed.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "sim/cluster.hpp"
#include "sim/gorand.hpp"
#include "sim/trace.hpp"

namespace colo::csim {

// "cpu", "share" (a fraction of one GPU), "1gpu", "2gpu", "4gpu", "8gpu", "other".
std::string pod_type(const TracePod& p);

// A trace variant for sensitivity studies (as the FGD paper's): as many pods as `pods`, drawn
// with replacement, such that among GPU pods a fraction
// `share_frac` are GPU shares and `multi_frac` ask for several GPUs, and a fraction `cpu_frac`
// of all pods are CPU-only (the CPU-heavy variant; each negative: as in `pods`). Errors when a
// class it must draw from is empty, the GPU fractions exceed 1 or `cpu_frac` is 1 or more.
Result<std::vector<TracePod>> resample(const std::vector<TracePod>& pods, double share_frac,
                                       double multi_frac, std::uint64_t seed, double cpu_frac = -1);

struct CurvePoint {
  int requested_pct = 0;     // GPU requested so far, % of capacity (every 1%)
  double allocated_pct = 0;  // GPU allocated, % of capacity
  double frag_pct = 0;       // FGD fragmentation of the cluster, % of capacity
};

struct InflateOptions {
  double load = 1.3;
  std::uint64_t seed = 1;
  SimSwitches sw = switches_for(Semantics::artifact);
  MechanismOptions mech;  // how shares are served (what-if)
  // The job every pod is taken to run for the effective throughput (sim/throughput.hpp).
  std::string job = "resnet50";
};

struct InflateResult {
  std::string policy;
  std::string semantics;  // "artifact", "exact" or "custom" (switches changed one by one)
  std::string mechanism = "fractional";
  std::string mechanism_note;  // e.g. which GPU models have no MIG table
  double blast_radius = 0;     // Cluster::blast_radius() at the end
  // mig: placed GPU shares served by a MIG profile, and those rounded up to a whole GPU (the
  // GPU model has no profile small enough or no MIG table); 0 under other mechanisms.
  int mig_served = 0;
  int mig_whole = 0;
  std::uint64_t seed = 0;
  double load = 0;
  std::vector<CurvePoint> curve;
  // At the load (e.g. 130%): with the bin metric the mean allocation over the events whose
  // request rounds to that % (the artifact's metric), else the allocation at the end.
  double allocated_pct = 0;
  double final_pct = 0;                    // GPU allocated after the last pod
  std::map<std::string, int> submitted;    // by pod type
  std::map<std::string, int> unscheduled;  // by pod type
  double seconds = 0;                      // wall time of the simulation (with calibration)
  std::optional<double> colo_gpu_weight;   // colo: the calibrated weight (w or a); else empty
  // Headroom (sim/bound.hpp): an upper bound on the GPU any policy can hold with this seed's
  // pods, % of capacity; set by run_batch (empty when not computed).
  std::optional<double> bound_pct;
  // Effective throughput at the end (sim/throughput.hpp), GPU-equivalents of `job`'s solo
  // throughput: under the run's mechanism (NaN for mig: not measured) and without
  // interference (every pod at its solo rate, the upper reference).
  std::string job;
  double throughput = 0;
  double throughput_ideal = 0;
};

// colo's calibration, from the trace only: the candidate weight whose colo allocates most in
// pilot inflate runs to 130% on this trace (2 pilot seeds derived from `seed`, never equal to
// the seeds 1..1000 an experiment reports; ties keep the first). In the artifact's formulas
// the look-ahead weight a in {0 (= FGD), 0.25, 0.5}; in colo's exact model the GPU weight w
// of its target distribution in {0, 0.5, -0.5}. docs/sim.md.
Result<double> calibrate_colo(const std::vector<TraceNode>& nodes,
                              const std::vector<TracePod>& pods, std::uint64_t seed,
                              const SimSwitches& sw = switches_for(Semantics::exact),
                              const MechanismOptions& mech = {});

// Pods are submitted (see the top of this file) until the GPU requested reaches `load` x
// capacity; nothing leaves. The curve has a point per 1% of capacity requested. Errors at once
// when the trace has no GPU pod or the nodes no GPU.
Result<InflateResult> inflate(const std::vector<TraceNode>& nodes,
                              const std::vector<TracePod>& pods, const std::string& policy,
                              const InflateOptions& opt);
// colo's exact model (Semantics::exact).
Result<InflateResult> inflate(const std::vector<TraceNode>& nodes,
                              const std::vector<TracePod>& pods, const std::string& policy,
                              double load, std::uint64_t seed);

// "artifact" or "exact" when `sw` is one of them, else "custom".
std::string semantics_label(const SimSwitches& sw);

// The artifact's workload (simulator.go:843-852, 1067-1139): trace pods sorted by name,
// shuffled, then tuned to `load` x `gpu_capacity` milli-GPU; drawn from `go` after its first
// rand.Int() (core.go:102-103). Returns indices into `pods`.
std::vector<std::size_t> artifact_workload(const std::vector<TracePod>& pods,
                                           std::int64_t gpu_capacity, double load, GoRand& go);
// The artifact's node order for ties (simulator.go:476-485): nodes sorted by name get the
// prefix "%04d-" from rand.Perm; returns each node's rank in the order of the prefixed names.
std::vector<int> artifact_node_rank(const std::vector<TraceNode>& nodes, GoRand& go);

struct ReplayResult {
  std::string policy;
  std::uint64_t seed = 0;
  int pods = 0;
  int scheduled = 0;
  int completed = 0;
  int never_scheduled = 0;  // still waiting when the trace ran out of events
  int skipped = 0;          // deletion not after creation
  double delay_mean_s = 0;  // queueing delay of scheduled pods
  double delay_p50_s = 0;
  double delay_p99_s = 0;
  double jct_mean_s = 0;  // job completion time: queueing delay + the pod's run time
  double jct_p99_s = 0;
  double makespan_s = 0;  // first arrival to last completion
  // (bin start s, peak GPU allocated % in the bin): 200 equal bins over the replay
  std::vector<std::pair<double, double>> utilization;
  double seconds = 0;
  std::optional<double> colo_gpu_weight;  // colo: the calibrated weight; empty for others
};

// `load` scales the pods: each trace pod arrives floor(load) times, plus once more with
// probability frac(load) (seeded), at its own creation time; 1 = the trace as recorded (which
// fits this cluster: it is a snapshot of it), > 1 stresses the cluster.
// Needs a timed trace (creation_time and deletion_time columns). `sw` as inflate's (the
// workload and metric switches do not apply).
Result<ReplayResult> replay(const std::vector<TraceNode>& nodes, const std::vector<TracePod>& pods,
                            const std::string& policy, std::uint64_t seed, double load = 1.0,
                            const SimSwitches& sw = switches_for(Semantics::exact));

}  // namespace colo::csim
