#pragma once
// The experiment engine behind `colo run`: validates everything, then runs the planned runs one
// by one (mode set up -> workloads launched and supervised -> telemetry sampled -> results
// stored), resuming an interrupted experiment when asked. Errors are values; workload failures
// are results. Writes progress lines to `log`.
#include <ostream>
#include <string>

#include "core/clock.hpp"
#include "core/records.hpp"
#include "core/spec.hpp"
#include "report/summary.hpp"

namespace colo {

struct EngineOptions {
  std::string results_dir = "colo-results";  // colo.db and logs/ live here
  bool resume = false;                       // continue the newest unfinished experiment
  std::string gpu;                           // backend override: auto | sim | nvml ("" = spec)
  std::string sim_topology;                  // topology file for the simulated GPU
  std::string workload_dir;                  // builtin workload binaries ("" = next to colo)
  bool dry_run = false;                      // validate and print the plan only
  bool progress_bar = false;                 // a bar with ETA after each run (terminals)
};

struct EngineResult {
  ExperimentId id = 0;
  Summary summary;
  int failed_workloads = 0;
  bool interrupted = false;
  int runs_planned = 0;
  int runs_executed = 0;  // in this session
};

Result<EngineResult> run_experiment(const ExperimentSpec& spec, const EngineOptions& opts,
                                    const Clock& clock, std::ostream& log);

// Reads an experiment and its runs back from a store into report values.
Result<std::vector<RunData>> load_run_data(class Store& store, ExperimentId id);

// 64-bit FNV-1a of `text`, hex: identifies a spec across sessions.
std::string spec_hash(const std::string& text);

// Path of colo's database inside a results directory.
std::string store_path(const std::string& results_dir);

}  // namespace colo
