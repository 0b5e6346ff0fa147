#pragma once
// What an experiment produced, as plain values: written by engine, kept by store, read by
// report and cli. Times are seconds; `t` of progress and samples is relative to the run's start
// barrier (negative before it). Throughput is samples per second over the measurement window.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace colo {

using ExperimentId = std::int64_t;
using RunId = std::int64_t;
using WorkloadId = std::int64_t;

enum class RunStatus { pending, running, done, failed, interrupted };
const char* to_string(RunStatus s);
RunStatus run_status_from(const std::string& s);

// How a workload process ended (docs/cli.md, "exit classes").
enum class ExitClass {
  ok,            // exited 0, or stopped by colo's stop rule and left within the grace period
  failed,        // exited with a non-zero code
  killed,        // ended by a signal colo did not send, or SIGKILLed after ignoring SIGTERM
  timed_out,     // still running at the run's timeout
  oom,           // ran out of GPU (or host) memory
  gpu_fault,     // reported a GPU fault (illegal address, Xid, MPS client teardown)
  start_failed,  // could not be started (exec failed) or never became ready
  interrupted,   // colo itself was interrupted
};
const char* to_string(ExitClass c);
ExitClass exit_class_from(const std::string& s);

struct ExperimentRecord {
  ExperimentId id = 0;
  std::string name;
  std::string spec_path;
  std::string spec_yaml;
  std::string spec_hash;
  std::string backend;  // "sim", "nvml"
  bool simulated = false;
  std::string gpu_json;  // the devices used, as JSON
  std::string colo_version;
  std::string host;
  std::string status;     // "running", "done", "interrupted", "failed"
  double created_at = 0;  // Unix seconds
  double finished_at = 0;
  double wall_s = 0;                       // time spent running, summed over sessions
  std::optional<std::int64_t> order_seed;  // seed of a random run order (`order: random`)
};

struct RunRecord {
  RunId id = 0;
  ExperimentId experiment_id = 0;
  int seq = 0;  // order within the experiment
  std::string key;
  int repetition = 0;
  std::string mode;       // label, e.g. "mps(tp=25)"
  std::string mode_kind;  // "timeslice"
  std::string group;
  std::string sweep;  // "batch=64,lr=0.1"
  std::string settings_json;
  RunStatus status = RunStatus::pending;
  double started_at = 0;
  double finished_at = 0;
  double wall_s = 0;
  std::string error;
  // Why the run's telemetry is incomplete ("" = it is not): errors of the sampler, e.g. a GPU
  // lost mid-run. A degraded run is done (its workloads' own measurements stand) but flagged.
  std::string degraded;
};

// The run's warm-up in seconds from its settings_json ("warmup": {"duration_s": ...}); 0 when
// the settings say none or cannot be read.
double run_warmup_s(const RunRecord& r);

struct WorkloadRecord {
  WorkloadId id = 0;
  RunId run_id = 0;
  std::string name;
  int copy = 0;
  int gpu = 0;
  int pid = 0;
  std::string argv_json;
  ExitClass exit_class = ExitClass::ok;
  int exit_code = 0;
  int signal = 0;
  std::string message;               // why it failed, the tail of its stderr
  std::int64_t steps = 0;            // progress steps reported in total
  double samples = 0;                // samples inside the measurement window
  double window_s = 0;               // length of the measurement window
  std::optional<double> throughput;  // samples/s over the window; none without progress
  double runtime_s = 0;              // start barrier -> exit
  double peak_rss_bytes = 0;
  double peak_gpu_mem_bytes = 0;
  std::string stdout_path;
  std::string stderr_path;
};

struct ProgressRow {
  WorkloadId workload_id = 0;
  double t = 0;
  std::int64_t step = 0;
  double samples = 0;
  std::optional<double> loss;
  std::optional<double> latency_ms;
};

// One event of a pipeline workload's per-query log (docs/pipeline.md): kind is issued,
// scheduled, stage_start, stage_end, completed, dropped or failed; stage indexes the workload's
// stage names (-1: none); t_ns is nanoseconds from the pipeline's start.
struct PipelineEventRow {
  std::int64_t query = 0;
  std::string kind;
  int stage = -1;
  std::int64_t t_ns = 0;
  std::string detail;
};

struct PipelineEventLogRecord {
  std::vector<std::string> stages;  // chain order
  std::vector<PipelineEventRow> events;
};

// One telemetry value. workload_id set for per-workload host metrics, gpu for device metrics.
struct SampleRow {
  RunId run_id = 0;
  std::optional<WorkloadId> workload_id;
  std::optional<int> gpu;
  double t = 0;
  std::string metric;
  double value = 0;
};

// One `colo sim` run (a policy and a seed) as stored; result_json as `colo sim --format json`.
struct SimRunRecord {
  std::int64_t batch = 0;
  double created_at = 0;  // Unix seconds
  std::string mode;       // inflate | replay
  std::string policy;
  std::uint64_t seed = 0;
  double load = 0;
  std::string nodes;  // trace paths
  std::string pods;
  std::string variant;  // "" or "share=0.7,multi=0.05"
  std::string result_json;
};

// One workload profile (`colo profile`, docs/plan.md) as stored: its identity and the profile
// as JSON (src/plan/profile.hpp's form).
struct ProfileRecord {
  std::int64_t id = 0;
  std::string key;  // workload identity: command + args + env hash
  std::string workload;
  std::string gpu_model;
  std::string driver;
  bool simulated = false;
  double created_at = 0;  // Unix seconds
  std::int64_t experiment_id = 0;
  std::string profile_json;
};

// One stored `colo sim` batch at a glance.
struct SimBatchSummary {
  std::int64_t batch = 0;
  double created_at = 0;  // Unix seconds
  std::string mode;
  double load = 0;
  int runs = 0;
  std::string policies;  // comma-separated, in stored order
};

}  // namespace colo
