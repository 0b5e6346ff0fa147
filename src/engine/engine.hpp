#pragma once
// The experiment engine behind `colo run`: validates everything, then runs the planned runs one
// by one (or, with `parallel: true`, runs on disjoint GPUs at the same time, each on a thread of
// its own) (mode set up -> workloads launched and supervised -> telemetry sampled -> results
// stored), resuming an interrupted experiment when asked. Errors are values; workload failures
// are results; an internal error (an exception) inside one run fails that run, never the loop.
// Writes progress lines to `log`.
//
// Collaborators are passed in (STYLE.md §4, loadgen's SystemUnderTest): the GPU backend, the
// store, the clock and the launcher that starts a run's processes. run_experiment(spec, opts,
// clock, log) builds the real ones (backend from the spec, store under its lock, guard process,
// ProcessLauncher); unit tests pass fakes to run_experiment(spec, opts, deps, log).
#include <ostream>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/records.hpp"
#include "core/run_plan.hpp"
#include "core/run_watch.hpp"
#include "core/spec.hpp"
#include "gpu/gpu_backend.hpp"
#include "launch/supervisor.hpp"
#include "report/summary.hpp"

namespace colo {

class Store;

struct EngineOptions {
  std::string results_dir = "colo-results";  // colo.db and logs/ live here
  bool resume = false;                       // continue the newest unfinished experiment
  std::string gpu;                           // backend override: auto | sim | nvml ("" = spec)
  std::string sim_topology;                  // topology file for the simulated GPU
  // Builtin workload binaries; "" = $COLO_WORKLOAD_DIR, else found next to colo's executable
  // (build tree) or in <prefix>/libexec/colo (installed); see colo_paths().
  std::string workload_dir;
  bool dry_run = false;       // validate and print the plan only
  bool progress_bar = false;  // a bar with ETA after each run (terminals)
  // `--parallel-gpus`: as `parallel: true` in the spec (runs on disjoint GPUs at the same time).
  bool parallel_gpus = false;
  // One unit of an experiment, as a Slurm job of `colo run --slurm` runs it (cluster/): resume
  // the newest unfinished experiment of this spec or create it, and run only the runs of this
  // mode label and group (empty: all). Other runs stay pending; the experiment stays
  // unfinished ("partial") until every run is done, and adaptive repetitions are not added.
  bool resume_or_create = false;
  std::string only_mode;
  std::string only_group;
  // Told about each run, its progress steps and its GPU telemetry (colo run --metrics-addr);
  // read-only, nullptr: none. Outlives the call.
  RunWatcher* watcher = nullptr;
};

struct EngineResult {
  ExperimentId id = 0;
  Summary summary;
  int failed_workloads = 0;
  int internal_errors = 0;  // runs failed by an error inside colo; --resume runs them again
  int degraded_runs = 0;    // runs whose telemetry had errors (a GPU lost mid-run)
  bool interrupted = false;
  int runs_planned = 0;
  int runs_executed = 0;  // in this session
};

// Collaborators of one experiment, owned by the caller; they outlive the call.
struct EngineDeps {
  GpuBackend& backend;
  Store& store;
  const Clock& clock;
  Launcher& launcher;
};

// Where colo's own files are, found relative to its executable so that both the build tree and
// an installed prefix (`cmake --install`) work: builtin workload binaries and the Python client
// directory (put on every workload's PYTHONPATH). Empty strings when not found.
struct ColoPaths {
  std::string workload_dir;  // colo-cpu-work, colo-sim-gpu, colo-cuda-work
  std::string python_dir;    // colo_progress.py
};
// `exe_dir`: the directory of the colo executable ("" = of this process).
ColoPaths colo_paths(const std::string& exe_dir = "");

// The argv prefix of builtin workload `name` ("cpu", "sim-gpu", "cuda-gemm", ...) whose binaries
// are in `workload_dir`: its program and, for the CUDA ones, the kernel.
std::vector<std::string> builtin_command(const std::string& workload_dir, const std::string& name);

// Validates `spec` against `backend` (modes, devices, builtins, executables, working
// directories) and returns the planned runs with builtins resolved. Touches no store.
Result<std::vector<RunPlan>> plan_experiment(const ExperimentSpec& spec, const EngineOptions& opts,
                                             GpuBackend& backend);

// Plans and runs (or, with opts.resume, resumes) the experiment on the given collaborators.
// opts.dry_run prints the plan only.
Result<EngineResult> run_experiment(const ExperimentSpec& spec, const EngineOptions& opts,
                                    EngineDeps& deps, std::ostream& log);

// `colo run`: builds the backend, guard, store lock, store and launcher, then runs as above.
Result<EngineResult> run_experiment(const ExperimentSpec& spec, const EngineOptions& opts,
                                    const Clock& clock, std::ostream& log);

// `colo run --plan` (one experiment per GPU group): several experiments on one set of real
// collaborators (backend, guard, store lock and store, launcher). When no two specs share a GPU
// they run at the same time, each on a thread of its own, its log lines prefixed with
// "[<name>] "; otherwise one after another (stopping after an interrupted one). The outer error
// is one that stops everything before any experiment starts (a spec that does not validate, the
// store lock); then one result per experiment that ran, in the order of `specs`.
Result<std::vector<Result<EngineResult>>> run_experiments(const std::vector<ExperimentSpec>& specs,
                                                          const EngineOptions& opts,
                                                          const Clock& clock, std::ostream& log);

// Reads an experiment and its runs back from a store into report values.
Result<std::vector<RunData>> load_run_data(Store& store, ExperimentId id);

// 64-bit FNV-1a of `text`, hex: identifies a spec across sessions.
std::string spec_hash(const std::string& text);

// Path of colo's database inside a results directory.
std::string store_path(const std::string& results_dir);

}  // namespace colo
