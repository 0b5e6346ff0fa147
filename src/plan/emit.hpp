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
  // Per mode of the spec, in order: which candidates it runs ("plan", a rule's name, or both
  // joined by " = " when they are the same mode).
  std::vector<std::string> candidates;
};

enum class EmitRules { no, yes, all };

// `source_yaml`: the workloads spec's text; `source_dir`: its directory (absolute), written as
// the cwd of workloads without an absolute one so that the emitted spec runs from anywhere.
// EmitRules::yes adds the simple rules' modes of each group (GroupPlan::alternatives), so that
// one experiment measures the plan's choice and the rules side by side (a plan that runs jobs
// one at a time then runs the whole group under the rules only). A rule whose group exceeds the
// GPU's memory is never emitted. EmitRules::all adds every other candidate scored too
// (GroupPlan::others), so that the oracle is the best of every candidate configuration.
Result<std::vector<EmittedSpec>> emit_specs(const Plan& plan, const std::string& source_yaml,
                                            const std::string& source_dir,
                                            const std::string& prefix,
                                            EmitRules rules = EmitRules::no);

}  // namespace colo::plan
