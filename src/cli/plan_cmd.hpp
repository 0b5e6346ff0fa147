#pragma once
// `colo profile`, `colo plan` and `colo run --plan` (docs/plan.md) on the command line: options
// registered on the CLI11 tree by register_plan_commands, run by run_plan_commands. Parses and
// prints only; the work is in src/engine/profile and src/plan.
#include <CLI/CLI.hpp>

#include <iosfwd>
#include <memory>
#include <string>

namespace colo {

struct EngineOptions;
struct ExperimentSpec;
struct PlanCli;  // the commands' options (plan_cmd.cpp)

struct PlanCliDeleter {
  void operator()(PlanCli* p) const;
};
using PlanCliPtr = std::unique_ptr<PlanCli, PlanCliDeleter>;

// Adds `profile` and `plan` to `app` and `--plan PLAN.json` to `run`.
PlanCliPtr register_plan_commands(CLI::App& app, CLI::App& run);

// Runs the parsed plan command, if one was given (`run` with --plan included): its exit code;
// -1 when none of them was on the command line.
int run_plan_commands(const PlanCli& cli, const EngineOptions& ropts, std::ostream& out,
                      std::ostream& err);

// `colo run`'s memory-fit guard: when every client of a run of `spec` has a stored profile on
// the GPU model it will run on, a group whose summed peak memory exceeds the GPU (or a client's
// MIG instance) is refused with the numbers before anything starts. Exit code 0 to go on.
int check_run_memory(const std::string& spec_path, const EngineOptions& ropts, std::ostream& err);
int check_run_memory(const ExperimentSpec& spec, const EngineOptions& ropts, std::ostream& err);

}  // namespace colo
