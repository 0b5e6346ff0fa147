#pragma once
// Running a command-line tool and capturing what it says (scontrol, sbatch, squeue, scancel):
// the seam between colo's Slurm client and the host, with a fake for tests (STYLE.md §4).
#include <chrono>
#include <string>
#include <vector>

#include "core/result.hpp"

namespace colo::cluster {

struct CommandOutput {
  int exit_code = 0;  // the program's exit status; 128+N when killed by signal N
  std::string out;    // its stdout
  std::string err;    // its stderr
};

class CommandRunner {
 public:
  CommandRunner() = default;
  CommandRunner(const CommandRunner&) = delete;
  CommandRunner& operator=(const CommandRunner&) = delete;
  CommandRunner(CommandRunner&&) = delete;
  CommandRunner& operator=(CommandRunner&&) = delete;
  virtual ~CommandRunner() = default;
  // Runs argv (argv[0] looked up in PATH) with colo's environment and waits for it. Errors:
  // not_found when the program is not installed, process when it cannot be started or runs
  // past the runner's timeout (it is killed then). A non-zero exit is a value, not an error.
  virtual Result<CommandOutput> run(const std::vector<std::string>& argv) = 0;
};

// fork + exec with stdout and stderr read through pipes. Thread-compatible.
class ProcessRunner final : public CommandRunner {
 public:
  explicit ProcessRunner(std::chrono::seconds timeout = std::chrono::seconds(60))
      : m_timeout(timeout) {}
  Result<CommandOutput> run(const std::vector<std::string>& argv) override;

 private:
  std::chrono::seconds m_timeout;
};

}  // namespace colo::cluster
