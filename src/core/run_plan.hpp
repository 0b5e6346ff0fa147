#pragma once
// Expansion of a spec into the ordered list of runs (sweep point x repetition x (solo baselines,
// then groups x modes)). Pure: no files, no clock. Each run has a stable key, so an interrupted
// experiment resumes by key.
#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "core/spec.hpp"

namespace colo {

// Prefix of argv[0] for builtin workloads; the engine maps it to an executable.
inline constexpr const char* k_builtin_prefix = "@builtin:";

struct ClientPlan {
  std::string workload;  // spec workload name
  int copy = 0;          // index among clients of the same workload in this run
  std::vector<std::string> argv;
  std::map<std::string, std::string> env;
  std::string cwd;  // absolute
  ProgressMode progress = ProgressMode::automatic;
  std::optional<int> thread_percent;
  std::optional<std::uint64_t> mem_limit;
  std::optional<int> sms;
  std::optional<std::string> mig_profile;

  [[nodiscard]] std::string label() const { return workload + "#" + std::to_string(copy); }
};

struct RunPlan {
  std::string key;  // unique and stable within an experiment
  int repetition = 0;
  std::vector<std::pair<std::string, std::string>> sweep_point;
  ModeSettings mode;
  std::string group;  // "r18x4", "r18+r50" ("r18x2@gpu1" when two groups share a label)
  std::vector<ClientPlan> clients;
  // The devices of this run (clients round-robin over them): a solo baseline's one GPU, a
  // group's `gpus:`, else the experiment's. Runs with disjoint sets may run concurrently.
  std::vector<int> gpus;

  [[nodiscard]] bool is_solo() const { return mode.kind == ModeKind::solo; }
  [[nodiscard]] std::string sweep_label() const;
  // Every setting that determines this run, stored with its results.
  [[nodiscard]] nlohmann::json settings_json(const ExperimentSpec& spec) const;
};

// Whether two runs share a device.
bool gpus_overlap(const RunPlan& a, const RunPlan& b);

// Plans max(repeat, repeat_max) repetitions: with adaptive repetitions the engine stores the
// first `repeat` and adds the others one repetition at a time while the CI target is not met.
Result<std::vector<RunPlan>> expand_runs(const ExperimentSpec& spec);

// Shuffles the runs of each (sweep point, repetition) block in place, keeping the blocks in
// order (so repetitions stay interleaved and pair). Deterministic for a seed on every platform
// (mt19937_64 and Fisher-Yates, not std::shuffle).
void shuffle_runs(std::vector<RunPlan>& runs, std::uint64_t seed);

// Replaces {param} by its value for each param of the sweep point.
std::string substitute(const std::string& text,
                       const std::vector<std::pair<std::string, std::string>>& point);

}  // namespace colo
