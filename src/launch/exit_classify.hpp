#pragma once
// Exit classification (docs/cli.md "exit classes"): facts about how a workload ended in, one
// ExitClass and a human message out. Pure.
#include <cstdint>
#include <string>
#include <vector>

#include "core/records.hpp"

namespace colo {

struct ExitFacts {
  bool exec_failed = false;     // the program could not be started
  std::string exec_error;       // why (strerror)
  bool never_ready = false;     // did not reach the start barrier in time
  bool init_timed_out = false;  // ... because init_timeout passed (colo then stopped it)
  double init_timeout_s = 0;
  bool exited = false;  // exit code valid
  int exit_code = 0;
  int signal = 0;                   // terminating signal, 0 if it exited
  bool stopped_by_colo = false;     // colo sent SIGTERM (stop rule reached)
  bool killed_after_grace = false;  // ... and SIGKILL after the grace period
  bool timed_out = false;
  bool interrupted = false;    // colo was interrupted, or a co-runner failed to start
  std::string reported_error;  // "oom", "gpu_fault" from a progress error event
  std::string reported_message;
  std::string stderr_tail;  // last lines of stderr
  // COLO_PROGRESS lines that were ignored as malformed (docs/progress-protocol.md), and why
  // the first one was.
  std::int64_t malformed_progress = 0;
  std::string first_malformed;
  // Limits the workload ran into (spec `limits`): forks its cgroup's pids.max refused
  // (pids.events "max") under `pids_max` tasks, and the streams cut at `output_limit` bytes.
  std::int64_t pids_refused = 0;
  std::int64_t pids_max = 0;
  std::vector<std::string> truncated_streams;  // "stdout", "stderr"
  std::uint64_t output_limit = 0;
};

struct Classification {
  ExitClass exit_class = ExitClass::ok;
  std::string message;
};

// A workload that wrote malformed progress lines gets a note after the message ("...; ignored 3
// malformed COLO_PROGRESS lines, the first: ..."), whatever its class; so does one that reached
// a limit ("...; fork refused 37 times: pids limit 4096 (limits.pids)", "...; output truncated at
// 64 MiB (limits.output): stdout").
Classification classify_exit(const ExitFacts& f);

// True when `text` shows a GPU/host out-of-memory error, or a GPU fault.
bool mentions_oom(const std::string& text);
bool mentions_gpu_fault(const std::string& text);

}  // namespace colo
