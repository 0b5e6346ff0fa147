#pragma once
// NVIDIA MPS control daemons, one per GPU, each with private pipe and log directories under
// colo's run directory (never the shared /tmp/nvidia-mps defaults). Needs
// `nvidia-cuda-mps-control` on PATH and a GPU in Default compute mode; no root needed.
// A daemon is always quit by quit() or the destructor (also on failed or interrupted runs);
// daemons left by a colo that died are found through their environment (COLO_MPS_OWNER) and
// quit by cleanup_stale_mps(). Not thread-safe.
#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"

namespace colo {

struct MpsFault {
  int pid = 0;
  std::string message;  // the server log line
};

class MpsDaemon {
 public:
  // Starts `nvidia-cuda-mps-control -d` for the GPU with `uuid`, pipe and log directories under
  // `dir`. Errors: binary missing, directories not writable, daemon not answering.
  static Result<MpsDaemon> start(const std::string& dir, const std::string& uuid,
                                 const std::string& control = "nvidia-cuda-mps-control");
  MpsDaemon(MpsDaemon&& o) noexcept;
  MpsDaemon& operator=(MpsDaemon&&) = delete;
  MpsDaemon(const MpsDaemon&) = delete;
  ~MpsDaemon();

  // Environment that connects a client to this daemon: its pipe and log directories. The
  // client's limits come from the mode layer (gpu/mode/mode_env.hpp).
  [[nodiscard]] std::map<std::string, std::string> client_env() const;

  // Quits the daemon ("quit" on its control pipe), waits up to 10 s, then SIGKILLs what is left;
  // reaps daemon processes re-parented to colo (a child subreaper) and removes the pipe
  // directory (the log directory stays). A control daemon that is already gone (lost()) is not
  // asked: its servers are killed at once.
  Status quit();

  // Clients the server log reports as faulted or torn down by another client's fault (lines this
  // daemon's server wrote, not earlier ones in the same log directory); and, with pid 0, the
  // daemon itself when it was lost while running (see lost()).
  [[nodiscard]] std::vector<MpsFault> faults() const;

  // Why the daemon can no longer serve its clients, when it cannot: its control daemon process
  // is gone (killed or crashed) while colo still holds it, or the control log reports an MPS
  // server that exited with a non-zero status or a signal. nullopt while healthy or after quit().
  [[nodiscard]] std::optional<std::string> lost() const;

  [[nodiscard]] const std::string& pipe_dir() const { return m_pipe; }
  [[nodiscard]] const std::string& log_dir() const { return m_log; }

 private:
  MpsDaemon(std::string pipe, std::string log, std::string control)
      : m_pipe(std::move(pipe)), m_log(std::move(log)), m_control(std::move(control)) {}
  std::string m_pipe;
  std::string m_log;
  std::string m_control;
  pid_t m_control_pid = 0;  // the control daemon, found when it came up; 0 if not found
  bool m_running = false;
  // Where this daemon's lines start in the log files: a resumed run reuses the run's log
  // directory, and the failed attempt's lines (a killed server, a faulted client) are not this
  // daemon's.
  std::uintmax_t m_control_from = 0;
  std::uintmax_t m_server_from = 0;
};

// Parses MPS server log text for fatal-error and teardown lines (pure; tested on real lines).
std::vector<MpsFault> parse_mps_server_log(const std::string& text);

// Parses MPS control log text for servers that ended abnormally: "Server 1234 exited with status
// S" with S != 0, or with any S when no "Try shutting down server 1234" came before (a server
// killed mid-run is logged with status 0), "... killed", "... terminated": one fault per such
// line, pid = the server's (pure).
std::vector<MpsFault> parse_mps_control_log(const std::string& text);

// Quits MPS daemons whose owning colo process is gone. Returns how many were found.
int cleanup_stale_mps(const std::string& control = "nvidia-cuda-mps-control");

// A live MPS process (control daemon or server) as /proc shows it.
struct MpsProcess {
  pid_t pid = 0;
  std::string comm;           // its name in /proc/<pid>/comm (15 characters: "nvidia-cuda-mps")
  std::string pipe_dir;       // COLO_MPS_PIPE, else CUDA_MPS_PIPE_DIRECTORY; "" when neither is set
  pid_t owner = 0;            // the colo that started it (COLO_MPS_OWNER); 0 when not set
  bool colo_started = false;  // COLO_MPS_PIPE is in its environment
};

// Every live MPS process of this host that colo can see (zombies excluded): those named
// "nvidia-cuda-mps*" and those colo started (COLO_MPS_PIPE in the environment, whatever their
// name). Another user's processes are listed without pipe or owner (their environment is not
// readable). The one /proc scan for MPS processes: `colo doctor` and the daemon's teardown.
std::vector<MpsProcess> list_mps_processes();

// PIDs of live MPS processes (control daemon, server) started by colo for `pipe_dir`.
std::vector<pid_t> mps_processes(const std::string& pipe_dir);

}  // namespace colo
