#pragma once
// `colo profile` (docs/plan.md): runs each workload of a spec alone at several SM shares (MPS
// active-thread %, and green-context SM counts where the workload supports them) as an ordinary
// experiment through run_experiment, then extracts its profile (throughput curve, peak GPU
// memory, telemetry averages) and stores it in the experiment store keyed by workload identity,
// GPU model and driver. A stored profile of the same workload on the same GPU model and driver is
// reused unless `force`.
#include <ostream>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/spec.hpp"
#include "engine/engine.hpp"
#include "plan/profile.hpp"

namespace colo {

class Store;

struct ProfileOptions {
  std::vector<int> thread_percents{10, 20, 30, 50, 70, 100};  // 100 is the solo run
  std::vector<int> green_sms;  // green-context SM counts; empty: not profiled
  bool force = false;          // profile again even when a stored profile matches
  int repeat = 0;              // repetitions of each share; 0: the spec's
};

struct ProfileOutcome {
  plan::Profile profile;
  bool reused = false;
};

// The spec that profiles workload `w` of `spec`: `w` alone (one copy, solo baseline) under MPS
// at each thread % below 100 and green at each SM count, the rest of `spec`'s settings kept.
// Errors: a spec with a sweep (profile one point), thread % outside 1..100.
Result<ExperimentSpec> profiling_spec(const ExperimentSpec& spec, const WorkloadSpec& w,
                                      const ProfileOptions& popts);

// Extracts the profile of the experiment `id` that profiling_spec built (the newest runs of
// each share, averaged over repetitions). Errors name the workload when it reported no
// throughput alone.
Result<plan::Profile> extract_profile(Store& store, ExperimentId id, const WorkloadSpec& w,
                                      const DeviceInfo& device);

// Profiles every workload of `spec` (or only `only` when not empty): reuses a stored profile or
// runs the profiling experiment, stores the result. Writes progress to `log`.
Result<std::vector<ProfileOutcome>> profile_workloads(const ExperimentSpec& spec,
                                                      const EngineOptions& opts,
                                                      const ProfileOptions& popts,
                                                      const std::string& only, const Clock& clock,
                                                      std::ostream& log);

// The stored profiles (read-only; none when the store does not exist yet).
Result<std::vector<plan::Profile>> stored_profiles(const std::string& results_dir);

}  // namespace colo
