#pragma once
// The Slurm commands colo uses (scontrol, sbatch, squeue, sacct, scancel) through a
// CommandRunner, with their failures as clear errors: Slurm not installed (not_found), the
// controller not reachable (unsupported), a refused submission (invalid_argument: an invalid
// partition, account or gres, with sbatch's own words). Honours SLURM_CONF like the tools.
#include <string>
#include <vector>

#include "cluster/command.hpp"
#include "cluster/slurm_conf.hpp"
#include "cluster/slurm_jobs.hpp"

namespace colo::cluster {

class SlurmClient {
 public:
  explicit SlurmClient(CommandRunner& runner) : m_runner(runner) {}

  Result<KeyValues> show_config();
  Result<std::vector<KeyValues>> show_nodes();
  // sbatch --parsable SCRIPT: the job id.
  Result<std::string> submit(const std::string& script_path);
  // The jobs among `ids` that squeue still lists (pending, running, completing).
  Result<std::vector<JobState>> queue(const std::vector<std::string>& ids);
  // A job squeue no longer lists: scontrol show job (kept MinJobAge seconds), else sacct.
  Result<JobState> final_state(const std::string& id);
  Status cancel(const std::vector<std::string>& ids);

 private:
  // Runs a Slurm tool; a non-zero exit is an error naming the tool and what it said.
  Result<std::string> call(const std::vector<std::string>& argv);
  CommandRunner& m_runner;
};

}  // namespace colo::cluster
