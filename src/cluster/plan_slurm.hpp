#pragma once
// `colo plan --emit slurm` (pure): one sbatch script per job of a plan, each asking Slurm for
// the share of a GPU the plan gave it (docs/slurm.md, "Plans as Slurm jobs"):
//   solo: gpu:1; sequential: gpu:1, one job of the group at a time (--dependency=singleton on
//   the group's name); timeslice: shard:1; mps (uncapped): mps:Count/K of the group's K jobs;
//   mps-limits, mig-equivalent: mps:<thread %>; green: mps:<SM share %>; mig: gpu:<profile>:1
//   (the MIG profile as gres.conf's Type, as Slurm's AutoDetect=nvml names MIG devices).
#include <map>
#include <string>
#include <vector>

#include "plan/planner.hpp"

namespace colo::cluster {

// What a job runs: the workload's command line, environment and directory.
struct JobCommand {
  std::vector<std::string> argv;
  std::map<std::string, std::string> env;
  std::string cwd;
};

struct PlanSlurmOptions {
  std::string prefix = "plan";  // job and file names: <prefix>-gpu<N>-<job>
  std::string partition;
  std::string account;
  std::string time;
  int mps_per_gpu = 100;  // the cluster's mps Count per GPU (colo slurm config --mps-count)
};

struct EmittedScript {
  std::string file;  // "<prefix>-gpu<N>-<job>.sbatch"
  std::string gres;
  std::string text;
};

// The gres a placement of `group` asks for.
std::string gres_for_placement(const plan::GroupPlan& group, const plan::JobPlacement& job,
                               int mps_per_gpu);

// Scripts for every job of `plan`; `commands` by workload name (a job without one gets a
// script that says so and exits 2).
std::vector<EmittedScript> emit_slurm(const plan::Plan& plan,
                                      const std::map<std::string, JobCommand>& commands,
                                      const PlanSlurmOptions& opts);

}  // namespace colo::cluster
