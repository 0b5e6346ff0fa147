#pragma once
// Completion time of fixed-size tasks (`stop: {steps: N}`; the KubeRay study's measure of what
// sharing costs): how long each copy took from the start barrier to its last step (its
// measured window), against the same task alone. Pure.
#include <optional>
#include <string>
#include <vector>

#include "report/stats.hpp"
#include "report/table.hpp"

namespace colo {

struct RunData;

struct CompletionRow {
  std::string sweep;
  std::string mode;  // "solo" for the task alone
  std::string group;
  std::string workload;                // workload name (copies pooled)
  int clients = 0;                     // processes in the group
  Stat time_s;                         // completion time (s) over every ok copy of every repetition
  int reps = 0;                        // repetitions with at least one ok copy
  std::optional<double> solo_s;        // mean completion time alone, same sweep point
  std::optional<double> increase_pct;  // (time / alone - 1) x 100
};

// Rows of the done runs whose stop rule is a step count (none otherwise): the solo rows first,
// then one per (sweep, mode, group, workload) in run order. Workloads that did not end ok, or
// have no measured window, are left out.
std::vector<CompletionRow> completion_times(const std::vector<RunData>& runs);

// "Completion time" table (s, mean ± 95% CI, increase vs alone in %); empty rows for none.
TextTable completion_table(const std::vector<CompletionRow>& rows);

}  // namespace colo
