#pragma once
// `colo compare A B`: the same workloads in two experiments (STYLE.md §3: pure). Per matched
// row (solo rate, collocated rate with copies pooled, aggregate speed-up; same mode, group and
// sweep point) the means with 95% CIs, the change of B against A, and a t-test of the
// difference: Welch's by default, paired by repetition number when asked (CompareOptions::
// paired) and both sides have the same repetitions. Copies of one workload in a group are pooled
// as the mean of the copies per repetition (copies of one run are not independent samples).
// Also lists how the two experiments differ: spec lines, backend, GPUs, host, colo version,
// run settings (overrides such as --gpu and --sim-topology land there).
#include <optional>
#include <string>
#include <vector>

#include "core/records.hpp"
#include "core/result.hpp"
#include "report/stats.hpp"
#include "report/summary.hpp"

namespace colo {

enum class CompareFormat { text, markdown, json, csv };
Result<CompareFormat> compare_format_from(const std::string& name);

struct CompareSide {
  ExperimentRecord exp;
  Summary summary;
  std::string settings_json;  // of the experiment's first run ("" when none)
};

struct CompareOptions {
  bool paired = false;  // pair repetition i of A with repetition i of B where both have them
};

struct CompareRow {
  std::string kind;  // "solo", "collocated", "speed-up"
  std::string mode;
  std::string group;
  std::string sweep;
  std::string workload;  // workload name (copies pooled); "" for speed-up rows
  int copies = 1;
  std::string unit;  // "samples/s", "runs/s" (by wall time) or "x"
  Stat a;
  Stat b;
  std::optional<double> change_pct;  // (mean b / mean a - 1) * 100; none when mean a is 0
  TTest test;
  std::string note;  // e.g. "unpaired: repetitions differ"
};

struct Comparison {
  CompareSide a;
  CompareSide b;
  std::vector<CompareRow> rows;
  std::vector<std::string> differences;  // "spec: - line", "backend: sim -> nvml", ...
};

// Errors: invalid_argument when nothing matches.
Result<Comparison> compare(const CompareSide& a, const CompareSide& b,
                           const CompareOptions& options = {});

// "beyond noise", "within noise", "noise unknown (needs 2+ repetitions each)".
std::string verdict(const CompareRow& r);

// The rows where B is slower than A by more than `pct` percent (every compared quantity is
// higher-is-better) and the drop is beyond noise, or the noise is unknown (fewer than 2
// repetitions on a side: the drop alone decides).
std::vector<const CompareRow*> regressions(const Comparison& c, double pct);

std::string render_comparison(const Comparison& c, CompareFormat format);

// Lines only in `a` ("- ...") and only in `b` ("+ ..."), in order (longest common subsequence).
std::vector<std::string> line_diff(const std::string& a, const std::string& b);

}  // namespace colo
