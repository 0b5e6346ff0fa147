#pragma once
// `colo plan --emit spec`: the experiment specs that carry out a plan, one per GPU group, built
// from the spec the jobs file names (its settings: backend, stop rule, warm-up, repeat...; its
// workloads, one entry per job, named after the job). Pure: YAML text in, YAML text out.
#include <string>
#include <vector>

#include "core/result.hpp"
#include "plan/planner.hpp"

namespace colo::plan {

struct EmittedSpec {
  int gpu = 0;
  std::string name;  // experiment name: "<prefix>-gpu<N>"
  std::string yaml;
};

// `source_yaml`: the workloads spec's text; `source_dir`: its directory (absolute), written as
// the cwd of workloads without an absolute one so that the emitted spec runs from anywhere.
Result<std::vector<EmittedSpec>> emit_specs(const Plan& plan, const std::string& source_yaml,
                                            const std::string& source_dir,
                                            const std::string& prefix);

}  // namespace colo::plan
