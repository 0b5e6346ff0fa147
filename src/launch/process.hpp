#pragma once
// Process primitives for the supervisor (Linux only). Each workload runs in its own process
// group with PR_SET_PDEATHSIG(SIGKILL), in a cgroup of its own where the host allows it
// (cgroup.hpp: what it forks cannot leave it), and its environment carries COLO_RUN_TOKEN so that
// anything it forks, even into another process group, can be found and killed (sweep_token; the
// fallback where there is no cgroup, and an extra net where there is).
#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "core/os.hpp"
#include "core/result.hpp"
#include "launch/cgroup.hpp"

namespace colo {

struct SpawnRequest {
  std::vector<std::string> argv;           // argv[0]: a path or a name looked up in PATH
  std::map<std::string, std::string> env;  // added to (and overriding) colo's environment
  std::string cwd;                         // empty: colo's
  std::string stdout_path;                 // created/truncated; empty: /dev/null
  std::string stderr_path;
  // >= 0: the child's stdin / stdout / stderr is this fd instead (a pipe of a warm worker,
  // src/serve); stdout_fd/stderr_fd override stdout_path/stderr_path. The caller keeps it open.
  int stdin_fd = -1;
  int stdout_fd = -1;
  int stderr_fd = -1;
  int progress_write_fd = -1;  // becomes fd 3 in the child (or closed)
  int start_read_fd = -1;      // becomes fd 4 in the child (or closed)
  // Containment: non-empty `cgroup_token` puts the child in a cgroup of its own under
  // colo-<token> (when `containment`, default host_containment(), offers one), with pids.max =
  // `pids_max` (0: no limit) where a pids controller is writable.
  std::string cgroup_token;
  const Containment* containment = nullptr;
  std::int64_t pids_max = 0;
  // > 0: stdout and stderr reach their files through pipes read by colo (OutputSink), each cut
  // at this many bytes with a truncation marker; 0: the files are the child's fds, unbounded.
  std::uint64_t output_limit = 0;
};

// Copies one output pipe of a workload into its log file up to a byte limit; past it, writes a
// truncation marker once and discards the rest, still draining the pipe so that the workload
// never blocks on it. Not thread-safe; owned by the supervisor's thread.
class OutputSink {
 public:
  // `stream` names it in messages ("stdout", "stderr").
  OutputSink(int pipe_fd, int file_fd, std::uint64_t limit, std::string stream)
      : m_pipe(pipe_fd), m_file(file_fd), m_limit(limit), m_stream(std::move(stream)) {}
  OutputSink(OutputSink&& o) noexcept;
  OutputSink& operator=(OutputSink&&) = delete;
  OutputSink(const OutputSink&) = delete;
  ~OutputSink();
  // The pipe's read end to poll (non-blocking); -1 once closed.
  [[nodiscard]] int fd() const { return m_pipe; }
  // Reads what is available now. At EOF closes the pipe and returns false.
  bool pump();
  // Drains what is available and closes both ends (teardown: a process that escaped with the
  // pipe open must not keep colo waiting).
  void close();
  [[nodiscard]] bool truncated() const { return m_truncated; }
  [[nodiscard]] std::uint64_t limit() const { return m_limit; }
  [[nodiscard]] const std::string& stream() const { return m_stream; }
  [[nodiscard]] std::uint64_t written() const { return m_written; }
  [[nodiscard]] std::uint64_t discarded() const { return m_discarded; }

 private:
  int m_pipe = -1;
  int m_file = -1;
  std::uint64_t m_limit = 0;
  std::string m_stream;
  std::uint64_t m_written = 0;
  std::uint64_t m_discarded = 0;
  bool m_truncated = false;
};

// The line written once where a capped output stops.
std::string truncation_marker(std::uint64_t limit);

struct Spawned {
  pid_t pid = -1;                   // also the process group id
  WorkloadCgroup cgroup;            // empty_handle() when only the token sweep contains it
  std::vector<OutputSink> outputs;  // stdout then stderr, when output_limit > 0
};

// Resolves argv[0] like execvp would, relative to `cwd` for paths with a '/'. Errors name the
// program: "executable 'x' not found in PATH", "'./y' is not executable".
Result<std::string> resolve_executable(const std::string& program, const std::string& cwd);

// Starts the program. Errors when it cannot be executed (the exec errno is reported back through
// a close-on-exec pipe), or when cwd or output files cannot be opened.
Result<Spawned> spawn(const SpawnRequest& req);

// Signals a whole process group; false when the group no longer exists.
bool signal_group(pid_t pgid, int sig);

// Kills (SIGKILL) every process whose environment holds COLO_RUN_TOKEN=token or a sub-token of
// it (COLO_RUN_TOKEN=token.<anything>: one run of a session, see sub_token). Returns the count.
int sweep_token(const std::string& token);

// A fresh random token for COLO_RUN_TOKEN (no '.').
std::string make_run_token();
// The token of one run of session `token`: sweeping it kills that run's processes only;
// sweeping `token` kills every run's. session_token() maps it back (for the cgroup directory,
// which is the session's).
std::string sub_token(const std::string& token, long n);
std::string session_token(const std::string& token);

// Makes this process reap orphaned descendants (PR_SET_CHILD_SUBREAPER).
void become_subreaper();

// A watchdog process forked from colo that kills every process in the token's cgroups
// (kill_token_cgroups) and every process carrying `token` once colo dies for any reason (kill -9
// included) or calls release(). Fork it before threads start.
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
