#pragma once
// One warm worker process of a pool: started through src/launch's spawn (its own process group,
// PDEATHSIG, COLO_RUN_TOKEN in its environment for the guard's sweep), fed one JSON task per line
// on its stdin, answering one JSON line per task on its stdout (docs/serve.md: the worker
// protocol). Not thread-safe: one pool thread owns it. PDEATHSIG is tied to the thread that
// started it, so the owning thread starts, uses and stops it.
#include <sys/types.h>

#include <memory>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "launch/process.hpp"

namespace colo::serve {

enum class CallStatus { ok, timeout, crashed };

struct CallResult {
  CallStatus status = CallStatus::ok;
  std::string line;    // ok: the worker's answer, without the newline
  std::string reason;  // timeout/crashed: why, for the task's error
};

class WorkerProcess {
 public:
  // Starts `req` (argv, env, cwd) with pipes on stdin and stdout; stderr goes to the daemon's.
  static Result<std::unique_ptr<WorkerProcess>> start(SpawnRequest req);
  WorkerProcess(const WorkerProcess&) = delete;
  WorkerProcess& operator=(const WorkerProcess&) = delete;
  ~WorkerProcess();

  // Writes `line` + '\n' and reads one answer line, within `timeout` of real time. A timeout
  // leaves the worker in an unknown state: the caller stops it.
  CallResult call(std::string_view line, Nanos timeout);
  // Closes stdin (a worker that reads EOF exits), then after `grace` SIGTERM and after another
  // `grace` SIGKILL to its process group; reaps it. Idempotent.
  void stop(Nanos grace);
  [[nodiscard]] pid_t pid() const { return m_pid; }

  // Longest answer line accepted (bytes).
  static constexpr std::size_t k_max_line = std::size_t{64} << 20U;

 private:
  WorkerProcess(pid_t pid, int in, int out) : m_pid(pid), m_in(in), m_out(out) {}
  // The exit, reaped: "worker exited with status 3" / "worker was killed by signal 9 (Killed)".
  std::string reap_reason(Nanos wait);

  pid_t m_pid = -1;
  int m_in = -1;
  int m_out = -1;
  bool m_reaped = false;
  std::string m_buf;
};

}  // namespace colo::serve
