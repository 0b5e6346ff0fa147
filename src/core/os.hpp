#pragma once
// Small POSIX facts shared by every module. Thread-safe; no privileges needed.
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace colo {

// True when a process with id `pid` (> 0) exists and is not a zombie (one that has exited but
// was not yet reaped is not alive), also one of another user (EPERM).
bool pid_alive(pid_t pid);

// When process `pid` started: clock ticks since boot (/proc/<pid>/stat field 22); none when it
// is gone or /proc cannot be read. With the pid it names one process, even after pid reuse.
std::optional<std::uint64_t> process_start_time(pid_t pid);

// pid_alive(pid), and the process is the one that started at `start_time` (not a later process
// given the same pid). start_time 0 means unknown: pid_alive only.
bool process_alive(pid_t pid, std::uint64_t start_time);

// True when process group `pgid` (> 0) still has a member.
bool group_alive(pid_t pgid);

// Directory for colo's per-user state that outlives a run (ownership records of MPS daemons and
// MIG instances): $COLO_STATE_DIR, else <temp dir>/colo-state-<uid>. Not created here.
std::string user_state_dir();

// This process's environment ("KEY=value" entries) with `overrides` replacing or adding keys:
// what a child spawned with `overrides` sees. Not thread-safe against setenv() elsewhere.
std::vector<std::string> merged_environment(const std::map<std::string, std::string>& overrides);

// The environment of process `pid` from /proc ("KEY=value" entries); empty when it is gone or
// not readable (another user's process, without privileges).
std::vector<std::string> process_environment(pid_t pid);

// Pointers into `strings`, null-terminated, for execve(); valid while `strings` lives unchanged.
std::vector<char*> c_strings(std::vector<std::string>& strings);

}  // namespace colo
