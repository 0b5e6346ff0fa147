#pragma once
// Experiments and plans as Slurm jobs (pure, namespace colo::cluster): which unit of an
// experiment becomes a job and what gres it asks for, the sbatch script that runs it, and the
// job states squeue and scontrol report (docs/slurm.md).
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "core/run_plan.hpp"

namespace colo::cluster {

// What a job asks of a node's GPUs: "gpu:1" (a whole GPU: the exclusive modes, where colo
// itself shares it among its clients), "mps:P" (a P% MPS share: MPS runs of one GPU whose
// clients' thread percentages add up to P <= 100), "shard:K" (K time-sliced shares; plans).
std::string gres_for_run(const RunPlan& run, int gpu_count);

// One job of `colo run --slurm`: the runs of one (mode, group) of the experiment, in every
// repetition and sweep point.
struct SlurmUnit {
  std::string mode;   // RunPlan::mode.label()
  std::string group;  // RunPlan::group
  std::string gres;   // the largest request among its runs (gpu over mps)
  int runs = 0;
  [[nodiscard]] std::string label() const { return mode + " " + group; }
};
// Units in the order of their first run.
std::vector<SlurmUnit> slurm_units(const std::vector<RunPlan>& runs, int gpu_count);

// A batch script: #SBATCH options, then the commands.
struct SbatchJob {
  std::string name;
  std::string gres;       // "" = none
  std::string partition;  // "" = the cluster's default
  std::string account;
  std::string time;        // Slurm's time format, "" = the partition's default
  std::string output;      // stdout+stderr file ("%j" = the job id)
  bool singleton = false;  // --dependency=singleton: one job of this name at a time
  int cpus = 0;            // --cpus-per-task, 0 = default
  std::string comment;     // a line of explanation above the options
  std::vector<std::string> commands;
};
std::string render_sbatch(const SbatchJob& job);

// Single-quotes `word` for a shell ("it's" -> 'it'\''s').
std::string shell_quote(std::string_view word);

// A job's state as Slurm names it (PENDING, RUNNING, COMPLETED, FAILED, CANCELLED, TIMEOUT,
// PREEMPTED, NODE_FAIL, OUT_OF_MEMORY, ...) and whether it is final.
struct JobState {
  std::string id;
  std::string state;
  std::string reason;     // squeue's reason, scontrol's Reason=
  std::string exit_code;  // "0:0" (scontrol's ExitCode=), "" when unknown
  [[nodiscard]] bool finished() const;
  [[nodiscard]] bool succeeded() const { return state == "COMPLETED"; }
};

// `squeue -h -o '%i|%T|%r' -j ...`: one job a line.
std::vector<JobState> parse_squeue(std::string_view text);
// `scontrol show job -o ID`: JobId=, JobState=, Reason=, ExitCode= of the first job.
std::optional<JobState> parse_show_job(std::string_view text);
// `sacct -n -X -P -o JobID,State,ExitCode -j ID`: "123|CANCELLED by 0|0:15".
std::optional<JobState> parse_sacct(std::string_view text);
// `sbatch --parsable`: "123" or "123;cluster".
Result<std::string> parse_sbatch_id(std::string_view text);

}  // namespace colo::cluster
