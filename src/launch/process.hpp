#pragma once
// Process primitives for the supervisor (Linux only). Each workload runs in its own process
// group with PR_SET_PDEATHSIG(SIGKILL); its environment carries COLO_RUN_TOKEN so that anything
// it forks, even into another process group, can be found and killed (sweep_token).
#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "core/os.hpp"
#include "core/result.hpp"

namespace colo {

struct SpawnRequest {
  std::vector<std::string> argv;           // argv[0]: a path or a name looked up in PATH
  std::map<std::string, std::string> env;  // added to (and overriding) colo's environment
  std::string cwd;                         // empty: colo's
  std::string stdout_path;                 // created/truncated; empty: /dev/null
  std::string stderr_path;
  int progress_write_fd = -1;  // becomes fd 3 in the child (or closed)
  int start_read_fd = -1;      // becomes fd 4 in the child (or closed)
};

struct Spawned {
  pid_t pid = -1;  // also the process group id
};

// Resolves argv[0] like execvp would, relative to `cwd` for paths with a '/'. Errors name the
// program: "executable 'x' not found in PATH", "'./y' is not executable".
Result<std::string> resolve_executable(const std::string& program, const std::string& cwd);

// Starts the program. Errors when it cannot be executed (the exec errno is reported back through
// a close-on-exec pipe), or when cwd or output files cannot be opened.
Result<Spawned> spawn(const SpawnRequest& req);

// Signals a whole process group; false when the group no longer exists.
bool signal_group(pid_t pgid, int sig);

// Kills (SIGKILL) every process whose environment holds COLO_RUN_TOKEN=token. Returns the count.
int sweep_token(const std::string& token);

// A fresh random token for COLO_RUN_TOKEN.
std::string make_run_token();

// Makes this process reap orphaned descendants (PR_SET_CHILD_SUBREAPER).
void become_subreaper();

// A watchdog process forked from colo that kills every process carrying `token` once colo dies
// for any reason (kill -9 included) or calls release(). Fork it before threads start.
class Guard {
 public:
  static Result<Guard> start(const std::string& token);
  Guard(Guard&& o) noexcept : m_pid(o.m_pid), m_fd(o.m_fd) {
    o.m_pid = -1;
    o.m_fd = -1;
  }
  Guard& operator=(Guard&&) = delete;
  Guard(const Guard&) = delete;
  ~Guard();
  // Tells the guard to sweep now and exit; waits for it.
  void release();

 private:
  Guard(pid_t pid, int fd) : m_pid(pid), m_fd(fd) {}
  pid_t m_pid = -1;
  int m_fd = -1;
};

}  // namespace colo
