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

namespace colo {

struct RunData {
  RunRecord run;
  std::vector<WorkloadRecord> workloads;
};

struct SoloRow {
  std::string sweep;
  std::string workload;
  double rate = 0;  // mean over repetitions
  int reps = 0;
  bool by_wall_time = false;
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

Summary summarize(const ExperimentRecord& exp, const std::vector<RunData>& runs);

// The summary as a terminal table. Simulated results carry a banner on the first line.
std::string render_text(const Summary& s);

}  // namespace colo
