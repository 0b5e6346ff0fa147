#include "cluster/plan_slurm.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "cluster/slurm_jobs.hpp"

namespace colo::cluster {

std::string gres_for_placement(const plan::GroupPlan& group, const plan::JobPlacement& job,
                               int mps_per_gpu) {
  const auto share = [mps_per_gpu](double fraction) {
    return fmt::format("mps:{}", std::clamp(static_cast<int>(std::lround(fraction * mps_per_gpu)),
                                            1, mps_per_gpu));
  };
  switch (group.mechanism) {
    case plan::Mechanism::solo:
    case plan::Mechanism::sequential:
      return "gpu:1";
    case plan::Mechanism::timeslice:
      return "shard:1";
    case plan::Mechanism::mps:
      return share(1.0 / static_cast<double>(std::max<std::size_t>(1, group.jobs.size())));
    case plan::Mechanism::mps_limits:
    case plan::Mechanism::mig_equivalent:
      return job.thread_percent ? share(*job.thread_percent / 100.0) : share(job.share);
    case plan::Mechanism::green:
      return share(job.share);
    case plan::Mechanism::mig:
      return job.mig_profile ? fmt::format("gpu:{}:1", *job.mig_profile) : "gpu:1";
  }
  return "gpu:1";
}

std::vector<EmittedScript> emit_slurm(const plan::Plan& plan,
                                      const std::map<std::string, JobCommand>& commands,
                                      const PlanSlurmOptions& opts) {
  std::vector<EmittedScript> out;
  for (const auto& g : plan.groups) {
    const std::string group_name = fmt::format("{}-gpu{}", opts.prefix, g.gpu);
    for (const auto& j : g.jobs) {
      SbatchJob job;
      job.name = g.mechanism == plan::Mechanism::sequential ? group_name : group_name + "-" + j.job;
      job.gres = gres_for_placement(g, j, opts.mps_per_gpu);
      job.partition = opts.partition;
      job.account = opts.account;
      job.time = opts.time;
      job.output = fmt::format("{}-{}-%j.out", group_name, j.job);
      job.singleton = g.mechanism == plan::Mechanism::sequential;
      job.comment = fmt::format(
          "colo plan --emit slurm: job '{}' (workload {}) on GPU {} ({}) of the plan: {}{}, "
          "predicted speed {:.2f} of alone{}",
          j.job, j.workload, g.gpu, g.gpu_model, to_string(g.mechanism),
          j.mig_profile ? " " + *j.mig_profile
                        : (j.thread_percent ? fmt::format(" {}%", *j.thread_percent) : ""),
          j.speed, plan.simulated ? " (from SIMULATED profiles)" : "");
      auto it = commands.find(j.workload);
      if (it == commands.end() || it->second.argv.empty()) {
        job.commands.push_back(
            fmt::format("echo 'colo: no command for workload {}' >&2; exit 2", j.workload));
      } else {
        const auto& c = it->second;
        if (!c.cwd.empty()) {
          job.commands.push_back("cd " + shell_quote(c.cwd));
        }
        for (const auto& [k, v] : c.env) {
          job.commands.push_back(fmt::format("export {}={}", k, shell_quote(v)));
        }
        std::string line = "exec";
        for (const auto& a : c.argv) {
          line += " " + shell_quote(a);
        }
        job.commands.push_back(line);
      }
      out.push_back({fmt::format("{}-{}.sbatch", group_name, j.job), job.gres, render_sbatch(job)});
    }
  }
  return out;
}

}  // namespace colo::cluster
