#pragma once
// The experiment spec: what a user writes in YAML (docs/spec.md), as plain structs with
// documented defaults. parse_spec() validates the whole document before anything runs; every
// error names the file, line and field ("spec.yaml:12: workloads[1].cmd: ...").
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"

namespace colo {

// Caps on what a spec may ask for, checked before anything is planned or allocated.
inline constexpr std::size_t k_max_spec_bytes = std::size_t{1} << 20;  // the YAML file, 1 MiB
inline constexpr std::size_t k_max_sweep_points = 10'000;              // product of sweep lists
inline constexpr std::size_t k_max_mode_expansions = 1'000;            // settings of one mode
inline constexpr std::size_t k_max_runs = 100'000;                     // runs of an experiment
inline constexpr std::size_t k_max_experiment_name = 128;              // bytes

// How collocated workloads share a GPU.
enum class ModeKind { solo, timeslice, mps, mig, mig_equivalent, green };

const char* to_string(ModeKind kind);
Result<ModeKind> parse_mode_kind(std::string_view name);

// How colo learns a workload's progress (docs/progress-protocol.md).
enum class ProgressMode {
  automatic,  // `auto` (default): the protocol if the workload says anything on COLO_PROGRESS
              // within hello_timeout of its launch, else measured by wall time
  protocol,   // `true`: waits for {"event":"ready"} at the barrier; throughput from steps
  wall_time,  // `false`: no barrier wait; measured by wall time from the barrier
};
// "auto", "true", "false": as written in a spec.
const char* to_string(ProgressMode mode);

// A per-client parameter: one value for every client, or one per workload name.
template <typename T>
struct PerClient {
  std::optional<T> all;
  std::map<std::string, T> by_workload;

  [[nodiscard]] std::optional<T> for_workload(const std::string& name) const {
    if (auto it = by_workload.find(name); it != by_workload.end()) {
      return it->second;
    }
    return all;
  }
  [[nodiscard]] bool empty() const { return !all && by_workload.empty(); }
};

// One sharing mode after sweep expansion: concrete parameters.
struct ModeSettings {
  ModeKind kind = ModeKind::solo;
  PerClient<int> thread_percent;        // mps: CUDA_MPS_ACTIVE_THREAD_PERCENTAGE, 1..100
  PerClient<std::uint64_t> mem_limit;   // mps: CUDA_MPS_PINNED_DEVICE_MEM_LIMIT, bytes
  PerClient<int> sms;                   // green: SMs per client
  std::vector<std::string> mig_layout;  // mig, mig-equivalent: profile per client, in order
  // green: the processes' green contexts run concurrently under one MPS daemon per GPU (true,
  // default) or are time-sliced by the driver (false; green contexts of different processes
  // then never run at the same time).
  bool green_over_mps = true;

  // Short stable label, e.g. "timeslice", "mps(tp=25,mem=8G)", "green(sms=32)".
  [[nodiscard]] std::string label() const;
};

// A mode as written: scalar lists are sweeps, expanded into several ModeSettings.
struct ModeSpec {
  ModeKind kind = ModeKind::solo;
  std::vector<ModeSettings> expansions;
};

struct StopRule {
  std::optional<Seconds> duration;    // stop every workload this long after the start barrier
  std::optional<std::int64_t> steps;  // stop each workload after it reported this many steps
  bool on_exit = false;               // wait for workloads to end by themselves
  Seconds timeout{0};                 // hard limit per run; 0 = derived (docs/spec.md)
};

struct WarmupRule {
  Seconds duration{0};     // excluded from throughput after the barrier
  std::int64_t steps = 0;  // or: the first N steps of each workload are excluded
};

struct WorkloadSpec {
  std::string name;
  std::vector<std::string> cmd;  // argv; empty for a builtin
  std::string builtin;           // builtin workload name ("cpu", "sim-gpu", "pipeline", ...)
  std::map<std::string, std::string> args;  // builtin flags, passed as --key value
  // builtin "pipeline" (a `pipeline:` mapping, docs/pipeline.md): args["config"] holds it as
  // JSON, checked by the pipeline module when the experiment is planned; its line for messages.
  int pipeline_line = 0;
  std::map<std::string, std::string> env;
  std::string cwd;          // relative to the spec file's directory
  std::vector<int> copies;  // homogeneous groups of N copies
  ProgressMode progress = ProgressMode::automatic;
  // `gpus:` (docs/spec.md, multi-GPU): where this workload's solo baselines and copies groups
  // run; empty = solo baselines on the experiment's first GPU, copies groups on all of its GPUs.
  std::vector<int> gpus;
  int gpus_line = 0;  // where `gpus:` was written, for messages
  int line = 0;       // where it was defined, for messages
};

// An explicit mix of workloads (`groups:`), as a list of names or as
// {workloads: [...], gpus: [...]}: `gpus` pins its runs to those devices (empty = all of the
// experiment's GPUs).
struct GroupSpec {
  std::vector<std::string> workloads;
  std::vector<int> gpus;
  int gpus_line = 0;  // where `gpus:` was written (0: not written)
  int line = 0;
};

// Per-workload resource bounds that keep one workload from taking the host down (docs/spec.md).
struct Limits {
  std::int64_t pids = 8192;  // tasks (processes + threads) in the workload's cgroup (pids.max);
                             // applies where a pids controller is writable (colo doctor says)
  std::uint64_t output = std::uint64_t{64} << 20;  // bytes kept of each of stdout and stderr
};

struct ExperimentSpec {
  std::string name;
  std::string source_path;           // the YAML file as given
  std::string source_dir;            // its directory (absolute): base for cwd and relative commands
  std::string source_text;           // the YAML text, stored with every experiment
  std::string gpu_backend = "auto";  // auto | sim | nvml
  std::vector<int> gpus{0};          // the devices the experiment may use (no repeats)
  int gpus_line = 0;                 // where `gpus:` was written (0: the default)
  // `parallel: true` (or `colo run --parallel-gpus`): runs whose GPU sets do not overlap execute
  // at the same time (docs/spec.md, multi-GPU); false (default): one run after another.
  bool parallel = false;
  int repeat = 1;  // repetitions of every run (adaptive: the minimum)
  // Adaptive repetitions (`repeat: {min, max, ci}`): after `repeat` repetitions, colo adds one
  // repetition at a time until every group's aggregate speed-up has a 95% CI half-width within
  // `repeat_ci` (a fraction of its mean), or `repeat_max` repetitions ran. repeat_ci 0: fixed.
  int repeat_max = 1;
  double repeat_ci = 0;
  // `order: random`: the runs of each repetition in a random order drawn from `order_seed`
  // (`seed:`; chosen at run time and stored with the experiment when not given).
  bool order_random = false;
  std::optional<std::uint64_t> order_seed;
  Seconds hello_timeout{5};  // progress: auto: silence this long after launch means wall time
  StopRule stop;
  WarmupRule warmup;
  Seconds grace{5};           // SIGTERM -> SIGKILL
  Seconds init_timeout{300};  // launch -> ready (start barrier)
  Seconds sample_period{1};   // monitor period
  Seconds warmup_run{0};      // unrecorded run of the first workload before the first run
                              // of a session, so that no baseline meets a cold GPU
  std::vector<ModeSpec> modes;
  std::vector<WorkloadSpec> workloads;
  std::vector<GroupSpec> groups;  // explicit mixes of workload names
  std::vector<std::pair<std::string, std::vector<std::string>>> sweep;  // grid, in spec order
  bool solo_baseline = true;
  Limits limits;

  [[nodiscard]] const WorkloadSpec* find_workload(const std::string& name) const;
};

// Parses and validates YAML text. `path` is used in messages and to resolve relative paths.
Result<ExperimentSpec> parse_spec(const std::string& text, const std::string& path);
// Reads and parses a file; a missing or unreadable file is an error naming it.
Result<ExperimentSpec> load_spec(const std::string& path);

}  // namespace colo
