#pragma once
// Helpers shared by colo's subcommands.
#include <iosfwd>
#include <string>

#include "core/error.hpp"
#include "core/records.hpp"
#include "core/result.hpp"
#include "engine/engine.hpp"
#include "store/store.hpp"

namespace colo {

// Prints "colo: error: ..." and returns the exit code of the error's class (docs/cli.md).
int report_error(std::ostream& err, const Error& e);

Result<ExperimentId> parse_id(const std::string& text);

// The GPUs that backend `which` (auto, sim, nvml; `topology` for the simulated GPU) sees; its
// notice (auto fell back to the simulated GPU) is said on `err`. `simulated`, when given, says
// whether the backend is the simulated GPU.
Result<std::vector<DeviceInfo>> detect_gpus(const std::string& which, const std::string& topology,
                                            std::ostream& err, bool* simulated = nullptr);

// Checks the --results directory before any command uses it: not empty, a directory or not yet
// there, reachable (no symlink loop, no over-long name), and the same for its colo.db. Errors
// are invalid_argument (exit 2) naming the option, the path and the reason.
Status check_results_dir(const std::string& results);

// The experiment named by `id_text`, or the newest one when empty.
Result<ExperimentRecord> pick_experiment(Store& store, const std::string& id_text);

// Writes `text` to `path` through a temporary file, so a failure never leaves a partial file.
// Errors: io (disk full, no permission), naming the path.
Status write_file_atomically(const std::string& path, const std::string& text);

// A command's output: printed to `out` when `output` is empty or "-", else written atomically
// to that file and "colo: wrote FILE (N KiB)<note>" said on `err`. Returns the exit code.
int write_output(const std::string& text, const std::string& output, std::ostream& out,
                 std::ostream& err, const std::string& note = "");

}  // namespace colo
