#pragma once
// Pure arithmetic of an experiment's results (STYLE.md §3): solo baselines, per-workload
// collocated throughput and slowdown, aggregate speed-up per group. Definitions (docs/metrics.md):
//   rate        = throughput (samples/s over the measurement window), or 1 / runtime for
//                 workloads that report no progress ("by wall time")
//   relative    = collocated rate / mean solo rate of the same workload and sweep point
//   slowdown %  = (1 - relative) * 100: the share of its solo speed a workload lost
//   speed-up    = sum of `relative` over a group's workloads (N copies with no interference: N)
// Means are over repetitions; runs that are not done are left out and counted.
#include <optional>
#include <string>
#include <vector>

#include "core/records.hpp"
#include "report/stats.hpp"

namespace colo {

struct RunData {
  RunRecord run;
  std::vector<WorkloadRecord> workloads;
  // GPU energy (J, all of the run's GPUs) over the measurement window, when the backend has an
  // energy counter (energy_in_window); none otherwise.
  std::optional<double> energy_j;
};

// Energy (J) between the first and last reading of DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION (mJ)
// inside [from, to] (run-relative seconds), summed over GPUs; none with fewer than two
// readings on every GPU.
std::optional<double> energy_in_window(const std::vector<SampleRow>& samples, double from,
                                       double to);

struct SoloRow {
  std::string sweep;
  std::string workload;
  double rate = 0;  // mean over repetitions
  int reps = 0;
  bool by_wall_time = false;
  Stat stat;                           // of the rate over repetitions
  double peak_gpu_mem_bytes = 0;       // max over repetitions
  std::optional<double> j_per_sample;  // GPU energy per sample, mean over repetitions
};

struct WorkloadRow {
  std::string sweep;
  std::string mode;
  std::string group;
  std::string workload;  // "name#copy"
  std::string base;      // workload name
  std::optional<double> solo;
  double rate = 0;  // mean over repetitions of ok runs
  std::optional<double> relative;
  std::optional<double> slowdown_pct;
  int reps = 0;
  int failed = 0;  // repetitions where this workload did not end ok
  bool by_wall_time = false;
  Stat stat;  // of the rate over repetitions
  double peak_gpu_mem_bytes = 0;
};

struct GroupRow {
  std::string sweep;
  std::string mode;
  std::string group;
  int clients = 0;
  double aggregate_rate = 0;      // sum of the workloads' mean rates
  std::optional<double> speedup;  // mean over repetitions of sum(relative)
  int reps = 0;
  int failed_reps = 0;
  Stat stat;                               // of the speed-up over complete repetitions
  std::optional<double> j_per_sample;      // GPU energy per sample of all workloads, mean over reps
  std::optional<double> worst_slowdown_x;  // max over workloads of solo / collocated rate
};

struct Failure {
  std::string run_key;
  std::string workload;
  std::string exit_class;
  std::string message;
};

struct Summary {
  std::string experiment;
  ExperimentId id = 0;
  bool simulated = false;
  std::string backend;
  int runs_total = 0;
  int runs_done = 0;
  double wall_s = 0;
  std::vector<SoloRow> solo;
  std::vector<WorkloadRow> workloads;
  std::vector<GroupRow> groups;
  std::vector<Failure> failures;
};

// The best mode per group (same workloads): highest speed-up among modes whose every workload
// keeps solo/collocated <= max_slowdown_x. One line per group; empty without collocated runs.
std::vector<std::string> recommendations(const Summary& s, double max_slowdown_x);

Summary summarize(const ExperimentRecord& exp, const std::vector<RunData>& runs);

// The summary as a terminal table. Simulated results carry a banner on the first line.
std::string render_text(const Summary& s);

}  // namespace colo
