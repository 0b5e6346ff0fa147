#pragma once
// `colo plan`'s decision (docs/plan.md): jobs with their solo profiles and a set of GPUs in, a
// plan out: which jobs share which GPU, by which mechanism (time-slicing, MPS, MPS with limits,
// MIG layout or its MPS equivalent, green contexts, or one at a time), the partition sizes, the
// predicted per-job speed and aggregate normalized throughput, the binding constraint and each
// group's blast radius. Pure and deterministic: no clock, no GPU, no files.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "gpu/mig/mig_profiles.hpp"
#include "plan/jobs.hpp"
#include "plan/model.hpp"
#include "plan/profile.hpp"

namespace colo::plan {

struct GpuSlot {
  int index = 0;
  std::string model;  // "NVIDIA H200"
  std::uint64_t memory_bytes = 0;
  int sms = 0;
  bool mig_enabled = false;           // MIG mode on: MIG layouts; off: their MPS equivalents
  std::vector<MigProfile> mig_table;  // empty: no MIG geometry for this model
};

struct PlanJob {
  Job job;
  Profile profile;
};

struct PlanOptions {
  ModelParams params = k_fitted;
  std::optional<double> max_slowdown;  // default per-job bound (a job's own wins)
  int max_rounds = 200;                // local-search passes
  int green_sm_granularity = 8;        // green contexts: SM counts in multiples of this
};

struct JobPlacement {
  std::string job;
  std::string workload;
  std::optional<int> thread_percent;  // mps-limits (and mig-equivalent: the profile's share)
  std::optional<int> green_sms;
  std::optional<std::string> mig_profile;
  double share = 1.0;     // of the GPU's SMs it may use
  double speed = 1.0;     // predicted, relative to alone
  double throughput = 0;  // predicted samples/s
  double slowdown = 1.0;  // 1 / speed
  std::optional<double> latency_ms;
  double peak_mem_bytes = 0;
};

// What a simple rule a user might apply instead would give on the same group (predicted).
struct Alternative {
  std::string rule;  // "always time-slice" | "always uncapped MPS" | "equal MPS caps"
  Mechanism mechanism = Mechanism::timeslice;
  std::vector<JobPlacement> jobs;
  double aggregate = 0;
  std::string refused;     // the constraint it breaks ("" = none)
  std::string refused_by;  // its category: memory | SLO | isolation ("" = none)
};

struct GroupPlan {
  int gpu = 0;
  std::string gpu_model;
  Mechanism mechanism = Mechanism::solo;
  std::vector<JobPlacement> jobs;
  double aggregate = 0;  // sum of predicted speeds (normalized throughput)
  double memory_bytes = 0;
  std::uint64_t memory_capacity = 0;
  std::string binding;                    // none | memory | SMs | bandwidth | SLO | isolation
  std::string why;                        // one line: why this mechanism
  int blast_radius = 1;                   // jobs one GPU fault takes down
  std::vector<Alternative> alternatives;  // the simple rules on this group (2+ jobs)
  // Every other sharing candidate scored for this group (knee-proportional MPS caps, a green
  // split, the MIG or MIG-equivalent layout), `rule` naming it; one at a time is not listed.
  std::vector<Alternative> others;
};

struct Plan {
  std::vector<GroupPlan> groups;  // GPUs with jobs, in GPU order
  double aggregate = 0;
  int jobs = 0;
  bool simulated = false;  // from profiles of the simulated GPU
  ModelParams params;
  std::optional<double> max_slowdown;  // the default per-job bound the plan honoured
  std::vector<std::string> notes;
};

// Plans `jobs` onto `gpus`. Errors (invalid_argument, naming the job and the constraint): a
// job that fits no GPU alone, or no assignment satisfying every job's constraints.
Result<Plan> make_plan(const std::vector<PlanJob>& jobs, const std::vector<GpuSlot>& gpus,
                       const PlanOptions& opts);

// The smallest partitions keeping the job within `within` (0.10 = 10%) of its speed alone, each
// a share that was measured: the smallest profiled MPS share, the smallest MIG profile whose SM
// fraction is at or above a profiled share that keeps the speed (and whose memory holds the
// job's peak), the smallest profiled green SM count. A straight line between profiled shares
// is never trusted for an answer (measured on the H200: triad 0.72 from 50% to 90%, 1.00 at
// 100%); where it would give a smaller MPS share, that share is reported as unmeasured, to be
// profiled (`colo profile SPEC --workload W --shares N`) before it is used.
struct RightSize {
  std::string job;
  double within = 0.1;
  std::optional<int> thread_percent;       // MPS active-thread % (a profiled share)
  std::optional<double> mps_speed;         // measured there, relative to solo
  std::optional<int> unmeasured_percent;   // smaller share the interpolated curve suggests
  std::optional<double> unmeasured_speed;  // its interpolated (unmeasured) speed
  std::optional<std::string> mig_profile;  // smallest MIG profile (memory fits too)
  std::optional<double> mig_speed;         // measured at a share <= the profile's SM fraction
  bool green_profiled = false;             // the profile has a green-context curve
  std::optional<int> green_sms;
  std::optional<double> green_speed;
};
RightSize right_size(const PlanJob& job, const GpuSlot& gpu, double within,
                     int green_sm_granularity = 8);

nlohmann::json to_json(const Plan& p);
Result<Plan> plan_from_json(const nlohmann::json& j);
nlohmann::json to_json(const RightSize& r);
// The inverse of to_json(RightSize). Errors (invalid_argument): not such an answer.
Result<RightSize> right_size_from_json(const nlohmann::json& j);
std::string render_text(const Plan& p);
std::string render_text(const RightSize& r);

}  // namespace colo::plan
