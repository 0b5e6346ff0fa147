#pragma once
// The fault suite's harness: runs the real `colo` binary on the simulated GPU, injects a fault
// (kill -9, a signal, a full disk, escaping workloads), resumes, and compares the final store
// value by value with an uninterrupted run. Test-only code: reads the store with plain SQL.
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace colo::faults {

namespace fs = std::filesystem;

// The compared fields that depend on wall-clock timing, and their relative tolerances:
// - each progress row's latency_ms, the simulated GPU's *modelled* step time (step-ms divided by
//   the speed the contention model gives for the clients sharing the GPU at that step): it
//   depends on the host only where a co-runner starts or ends near a step. A resume measured
//   against phantom clients (issue 11, item 1) doubles it; two uninterrupted runs agree within
//   a few percent.
constexpr double k_latency_tolerance = 0.35;
// - throughput and the measurement window: the simulated steps *sleep* for the modelled time,
//   so they stretch whenever the host is slow to wake them: uninterrupted runs differed by up to
//   60% on the 2-core development host while the whole ctest ran beside them. They are only
//   bounded to within a factor of k_throughput_factor (catches a wrong window or time base, not
//   noise); the latency above is the sharp check.
constexpr double k_throughput_factor = 3.0;

// The suite's experiment: two simulated workloads, each alone and together under time-slicing
// and MPS (4 runs); each workload stops itself after a fixed number of steps, so that every
// count, sample total and exit is deterministic.
std::string suite_spec(const std::string& name, const std::string& extra_workload_yaml = "");
// Issue 17: the same two workloads on two simulated GPUs (a on GPU 0, b on GPU 1), each alone
// and as two copies under time-slicing and MPS (6 runs), `parallel: true`: the runs of the two
// GPUs execute at the same time. Needs --sim-topology with two devices.
std::string concurrent_suite_spec(const std::string& name);

struct ColoRun {
  int rc = -1;      // exit code, or 128 + signal
  int signal = 0;   // the signal that ended colo, 0 if it exited
  std::string out;  // its stdout and stderr
  std::string err;
  double seconds = 0;
  std::string hung;  // non-empty: colo outlived k_colo_deadline and was killed (what it did)
};

// How long one colo invocation of the suite may take (an uninterrupted run takes about a
// second) before the case fails as hung.
inline constexpr std::chrono::seconds k_colo_deadline{100};

// One case's directory, experiment name and colo invocations.
class Case {
 public:
  Case(const std::string& tag);  // a fresh directory under the temp dir
  ~Case();
  Case(const Case&) = delete;
  Case& operator=(const Case&) = delete;

  [[nodiscard]] const fs::path& dir() const { return m_dir; }
  [[nodiscard]] const std::string& name() const { return m_name; }
  [[nodiscard]] fs::path results() const { return m_dir / "results"; }
  [[nodiscard]] std::string db() const { return (results() / "colo.db").string(); }
  fs::path write_spec(const std::string& text);

  // Starts `colo --results <results> args...`; returns its pid. `fsize_limit` > 0 sets
  // RLIMIT_FSIZE (with SIGXFSZ ignored, so writes past it fail with EFBIG like a full disk).
  pid_t start(const std::vector<std::string>& args, long fsize_limit = 0);
  ColoRun finish(pid_t pid);
  ColoRun run(const std::vector<std::string>& args, long fsize_limit = 0);

 private:
  fs::path m_dir;
  std::string m_name;
  int m_calls = 0;
  std::map<pid_t, std::pair<int, std::chrono::steady_clock::time_point>> m_started;
};

// A store read back as text rows: every column of experiments, runs, workloads and progress.
using Row = std::map<std::string, std::string>;
struct StoreDump {
  std::vector<Row> experiments;
  std::vector<Row> runs;                              // by seq
  std::map<std::string, std::vector<Row>> workloads;  // by run id, then (name, copy)
  std::map<std::string, std::vector<Row>> progress;   // by workload id, then rowid
  std::string integrity;                              // PRAGMA integrity_check ("ok")
  std::string error;                                  // why it could not be read, "" if it could
};
// Every occurrence of `case_dir` in a value reads "<case>" (paths differ between cases).
StoreDump dump_store(const std::string& db, const std::string& case_dir);

// Differences between `got` and `want` in the deterministic fields (exactly) and the timing
// fields (k_latency_tolerance, k_throughput_factor); empty when value-identical. Runs are
// matched by key.
std::vector<std::string> compare_to_baseline(const StoreDump& got, const StoreDump& want);

// `dumps[0]` with each timing field (throughput, window, step latency) replaced by its median
// over `dumps` (runs matched by key): a reference less at the mercy of one slow moment.
StoreDump median_timing(const std::vector<StoreDump>& dumps);

// The largest relative differences between `got` and `want` in the timing fields of runs
// matched by key: how much an uninterrupted run varies.
struct TimingDeviation {
  double latency = 0;     // progress rows' latency_ms
  double throughput = 0;  // throughput and window
};
TimingDeviation max_timing_deviation(const StoreDump& got, const StoreDump& want);

// Structural faults: duplicate runs, workloads or progress steps; not exactly one experiment;
// a failed integrity check; a step count that does not match the progress rows.
std::vector<std::string> structural_problems(const StoreDump& d);

// Runs that were done in `before` and are not identical (every column, timings included) in
// `after`: a finished run lost or changed.
std::vector<std::string> finished_runs_changed(const StoreDump& before, const StoreDump& after);

// Live (non-zombie) processes whose environment holds COLO_EXPERIMENT=name, after waiting up to
// `wait` for them to go (the guard kills a dead colo's workloads within about a second).
int processes_left(const std::string& name,
                   std::chrono::milliseconds wait = std::chrono::milliseconds(3000));

// Lines joined for a failure message.
std::string join(const std::vector<std::string>& lines, std::size_t max = 12);

}  // namespace colo::faults
