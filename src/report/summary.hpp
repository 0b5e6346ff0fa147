#pragma once
// Pure arithmetic of an experiment's results (STYLE.md §3): solo baselines, per-workload
// collocated throughput and slowdown, aggregate speed-up per group. Definitions (docs/metrics.md):
//   rate        = throughput (samples/s over the measurement window), or 1 / runtime for
//                 workloads that report no progress ("by wall time")
//   relative    = collocated rate / mean solo rate of the same workload and sweep point
//   slowdown %  = (1 - relative) * 100: the share of its solo speed a workload lost
//   speed-up    = sum of `relative` over a group's workloads (N copies with no interference: N),
//                 paired: in each repetition every workload's rate is divided by its solo rate
//                 of the *same* repetition (runs are interleaved per repetition), and the mean
//                 and CI are taken over these per-repetition ratios. A repetition without its
//                 own solo run falls back to the mean solo rate and is counted as unpaired.
// Means are over repetitions; runs that are not done are left out and counted.
#include <optional>
#include <string>
#include <vector>

#include "core/records.hpp"
#include "report/completion.hpp"
#include "report/stats.hpp"
#include "report/table.hpp"

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
  std::vector<double> values;          // the rate of each repetition, in run order
  std::vector<int> repetitions;        // their repetition numbers
};

struct WorkloadRow {
  std::string sweep;
  std::string mode;
  std::string group;
  std::string workload;  // "name#copy"
  std::string base;      // workload name
  std::optional<double> solo;
  double rate = 0;  // mean over repetitions of ok runs
  // Paired per repetition like the aggregate speed-up: each ok repetition's rate divided by the
  // solo rate of the same repetition; `relative` is the mean of these ratios, `relative_stat`
  // their statistics (the slowdown's CI is over the paired ratios), slowdown_pct =
  // (1 - relative) * 100.
  std::optional<double> relative;
  std::optional<double> slowdown_pct;
  Stat relative_stat;
  std::vector<double> ratios;  // rate / solo rate of the same repetition, in run order
  int unpaired_reps = 0;       // ratios over the mean solo rate (no solo run of their own)
  int reps = 0;
  int failed = 0;  // repetitions where this workload did not end ok
  bool by_wall_time = false;
  Stat stat;  // of the rate over repetitions
  double peak_gpu_mem_bytes = 0;
  std::vector<double> values;    // the rate of each ok repetition, in run order
  std::vector<int> repetitions;  // their repetition numbers
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
  std::vector<double> values;              // the speed-up of each complete repetition
  std::vector<int> repetitions;            // their repetition numbers
  int unpaired_reps = 0;  // complete repetitions divided by the mean solo rate (no solo run of
                          // their own); 0 = the CI is over fully paired ratios
  // The GPUs its clients ran on (sorted): a group spread over k GPUs holds k GPUs' capacity,
  // and its speed-up per GPU is speedup / k (docs/metrics.md, several GPUs).
  std::vector<int> gpus;
  [[nodiscard]] std::optional<double> speedup_per_gpu() const {
    return speedup && !gpus.empty()
               ? std::optional<double>(*speedup / static_cast<double>(gpus.size()))
               : std::nullopt;
  }
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
  // The numbers come from the simulated GPU: a simulated backend and not CPU-only. A CPU-only
  // experiment on the simulated backend is measured, not simulated.
  bool simulated = false;
  // Every workload is CPU-only (builtin `cpu`, colo-cpu-work): no GPU energy per sample.
  bool cpu_only = false;
  std::string backend;
  int runs_total = 0;
  int runs_done = 0;
  int runs_failed = 0;  // runs that are done but where some workload did not end ok
  double wall_s = 0;
  std::vector<SoloRow> solo;
  std::vector<WorkloadRow> workloads;
  std::vector<GroupRow> groups;
  std::vector<Failure> failures;
  std::vector<CompletionRow> completion;  // stop: {steps: N} experiments only
  // The experiment's workloads ran on more than one GPU: the speed-up table says what its
  // numbers mean on several GPUs and adds the GPUs and the speed-up per GPU.
  bool multi_gpu = false;
};

// What the aggregate speed-up means on several GPUs (one sentence; reports print it when
// Summary::multi_gpu).
extern const char* const k_multi_gpu_speedup_note;

// The best mode per group (same workloads): highest speed-up among modes whose every workload
// keeps solo/collocated <= max_slowdown_x. A winner is named only when its speed-up is beyond
// noise of the next best eligible mode (paired t-test over repetitions when both have the same
// repetitions, else Welch's); otherwise the line says there is no winner beyond noise. One line
// per group; empty without collocated runs.
std::vector<std::string> recommendations(const Summary& s, double max_slowdown_x);

// The test recommendations() uses between two modes of one group: paired by repetition when
// both have the same repetitions (2+), else Welch's.
TTest compare_groups(const GroupRow& a, const GroupRow& b);

Summary summarize(const ExperimentRecord& exp, const std::vector<RunData>& runs);

// The summary's tables (alone, collocated, speed-up), aligned, units in the headers or a unit
// column, rates in fixed notation, slowdown in % of the solo rate lost everywhere, noise notes
// (CI wider than ±10%, outliers) per row. The sweep column appears when there is a sweep.
struct SummaryTable {
  std::string title;
  TextTable table;
};
std::vector<SummaryTable> summary_tables(const Summary& s);

// "6/6 runs done", or "6/6 runs done, 2 with failed workloads (...)": never reads as success
// when a workload failed.
std::string runs_line(const Summary& s);

// A number with `decimals` decimals, or fixed4() when decimals < 0.
std::string number_text(double v, int decimals);
// "7733 ± 1325" (n >= 2) or "7733"; "-" without values. `suffix` follows each number ("x");
// `decimals` as number_text.
std::string mean_ci_text(const Stat& st, const std::string& suffix, int decimals = -1);
// "σ 533.3, 6667–7733" (n >= 2), else "-".
std::string spread_text(const Stat& st, const std::string& suffix, int decimals = -1);

// The summary as text: what failed first, then the tables. Simulated results carry a banner on
// the first line.
std::string render_text(const Summary& s);

}  // namespace colo
