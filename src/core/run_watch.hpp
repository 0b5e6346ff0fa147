#pragma once
// A read-only view of a running experiment for observers outside the engine (`colo run
// --metrics-addr`, docs/serve.md: Metrics of colo run). The engine calls a RunWatcher, when one
// is given, from its run threads: several runs may be running at once (runs on disjoint GPUs),
// told apart by their seq. A watcher copies what it needs under its own lock and never blocks
// for long. Nothing flows back into the engine.
#include <string>
#include <vector>

namespace colo {

struct WatchedWorkload {
  int client = 0;  // index in the run
  std::string name;
  int copy = 0;
  int gpu = 0;
};

struct WatchedRun {
  long long experiment = 0;
  int seq = 0;       // the run's number in the experiment (RunRecord::seq, from 0)
  std::string mode;  // the mode's label ("mps", "timeslice", ...)
  std::string group;
  int repetition = 0;
  bool simulated = false;              // on the simulated GPU: everything is modelled
  std::vector<std::string> gpu_uuids;  // by GPU index ("" when unknown)
  std::vector<std::string> gpu_names;
  std::vector<WatchedWorkload> workloads;
};

class RunWatcher {
 public:
  virtual ~RunWatcher() = default;
  // A run starts; its workloads are about to be launched.
  virtual void run_started(const WatchedRun& run) = 0;
  // A progress step of `client` of run `seq` at `t` (seconds, the engine's clock) with
  // `samples` samples.
  virtual void progress(int seq, int client, double t, double samples) = 0;
  // A telemetry value of GPU `gpu` (a DCGM field name, docs/metrics.md).
  virtual void gpu_metric(int gpu, const std::string& metric, double value) = 0;
  // Run `seq` ended (done, failed or interrupted).
  virtual void run_finished(int seq) = 0;
};

}  // namespace colo
