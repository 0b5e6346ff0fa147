#pragma once
// Headroom: an upper bound on the GPU any scheduling policy, online or offline, can have
// allocated at any point of an inflate run (docs/sim.md "Headroom"). Pure.
//
// The pods an inflate run submits for a seed are fixed before any policy acts (inflate_pods).
// Whatever a policy does, the pods it holds at one moment are a subset of them placed without
// exceeding any node's CPU, memory or GPUs. Relax that packing to a linear program: nodes of
// one shape (GPU model, GPUs, CPU, memory) pool their capacity into one class, a pod may be
// split across classes whose nodes could each hold it (model allowed, enough GPUs, CPU and
// memory on one node), shares ignore which GPU they sit on. Every packing is a solution of the
// LP, so the LP's optimum bounds it, and by weak duality so does the dual objective at any
// non-negative multipliers (lambda per CPU, mu per GPU, nu per memory of each class):
//   B = sum_k (lambda_k CPU_k + mu_k GPU_k + nu_k MEM_k)
//       + sum_p max(0, max_{k fits p} (gpu_p (1 - mu_k) - lambda_k cpu_p - nu_k mem_p)).
// allocation_bound searches the multipliers (coordinate descent, starting from mu = 1: B = the
// capacity) and returns the smallest B it finds: always a valid bound, tight or not.
#include <cstdint>
#include <vector>

#include "core/result.hpp"
#include "sim/cluster.hpp"
#include "sim/experiment.hpp"

namespace colo::csim {

struct AllocationBound {
  double bound_pct = 0;      // the bound, % of the GPU capacity
  double requested_pct = 0;  // what the pods ask for in all, % of capacity
};

// The bound for `pods` (demands as `c` sees them) on the nodes of `c`.
AllocationBound allocation_bound(const Cluster& c, const std::vector<Demand>& pods);

// The pods an inflate run with `opt` submits, in order, as the cluster (with opt.mech) sees
// them: the same sequence inflate() draws, whatever the policy.
Result<std::vector<Demand>> inflate_pods(const std::vector<TraceNode>& nodes,
                                         const std::vector<TracePod>& pods,
                                         const InflateOptions& opt);

// allocation_bound of inflate_pods.
Result<AllocationBound> inflate_bound(const std::vector<TraceNode>& nodes,
                                      const std::vector<TracePod>& pods, const InflateOptions& opt);

}  // namespace colo::csim
