#pragma once
// Known run records for report tests: a workload's result and a run of a mode and group.
#include <optional>
#include <string>
#include <vector>

#include "report/summary.hpp"

namespace colo::test {

inline WorkloadRecord wl(const std::string& name, int copy, std::optional<double> tput,
                         ExitClass c = ExitClass::ok, double runtime = 10) {
  WorkloadRecord w;
  w.name = name;
  w.copy = copy;
  w.throughput = tput;
  w.exit_class = c;
  w.runtime_s = runtime;
  return w;
}

// A run of repetition `rep` whose mode label and kind are both `kind`.
inline RunData run(int rep, const std::string& kind, const std::string& group,
                   std::vector<WorkloadRecord> ws, RunStatus st = RunStatus::done) {
  RunData rd;
  rd.run.key = "r" + std::to_string(rep) + "|" + kind + "|" + group;
  rd.run.repetition = rep;
  rd.run.mode = kind;
  rd.run.mode_kind = kind;
  rd.run.group = group;
  rd.run.status = st;
  rd.workloads = std::move(ws);
  return rd;
}

}  // namespace colo::test
