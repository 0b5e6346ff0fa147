#pragma once
// Small POSIX facts shared by every module. Thread-safe; no privileges needed.
#include <sys/types.h>

#include <string>

namespace colo {

// True when a process with id `pid` (> 0) exists, also one of another user (EPERM).
bool pid_alive(pid_t pid);

// True when process group `pgid` (> 0) still has a member.
bool group_alive(pid_t pgid);

// Directory for colo's per-user state that outlives a run (ownership records of MPS daemons and
// MIG instances): $COLO_STATE_DIR, else <temp dir>/colo-state-<uid>. Not created here.
std::string user_state_dir();

}  // namespace colo
