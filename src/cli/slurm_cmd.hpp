#pragma once
// `colo slurm config` and `colo run --slurm` (docs/slurm.md) on the command line: options
// registered on the CLI11 tree by register_slurm_commands, run by run_slurm_commands. Parses,
// submits and follows; the configuration, job and state logic is in src/cluster.
#include <CLI/CLI.hpp>

#include <iosfwd>
#include <memory>
#include <string>

namespace colo {

struct EngineOptions;
struct SlurmCli;  // the commands' options (slurm_cmd.cpp)

struct SlurmCliDeleter {
  void operator()(SlurmCli* p) const;
};
using SlurmCliPtr = std::unique_ptr<SlurmCli, SlurmCliDeleter>;

// Adds `slurm config` to `app`, and to `run`: --slurm, --partition, --account, --time, and the
// options a Slurm job's colo runs its unit with (bound to `ropts`).
SlurmCliPtr register_slurm_commands(CLI::App& app, CLI::App& run, EngineOptions& ropts);

// Runs the parsed Slurm command, if one was given: its exit code; -1 when none was.
int run_slurm_commands(const SlurmCli& cli, const std::string& spec_path,
                       const EngineOptions& ropts, std::ostream& out, std::ostream& err);

}  // namespace colo
