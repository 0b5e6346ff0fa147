#pragma once
// The process supervisor: launches one run's workloads, holds them at a start barrier until all
// are ready, applies the stop rules, escalates SIGTERM -> SIGKILL after the grace period,
// classifies every exit, and leaves no process behind (a cgroup per workload where the host
// allows it, process groups, PDEATHSIG, run token sweep; see cgroup.hpp). Single-threaded:
// supervise() blocks the calling thread; observer callbacks run on it.
#include <sys/types.h>

#include <atomic>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/spec.hpp"
#include "launch/exit_classify.hpp"
#include "launch/process.hpp"
#include "launch/progress_protocol.hpp"

namespace colo {

struct ClientLaunch {
  std::string label;
  SpawnRequest spawn;                               // protocol fds are filled in by the supervisor
  ProgressMode progress = ProgressMode::automatic;  // protocol: waits for {"event":"ready"}
};

struct StopPolicy {
  std::optional<Seconds> duration;    // after release, stop everyone
  std::optional<std::int64_t> steps;  // stop each client after this many steps
  bool on_exit = false;
  Seconds timeout{0};  // after release, stop everyone as timed out; 0 = none
  Seconds grace{5};
  Seconds init_timeout{300};
  // progress auto: a client silent on COLO_PROGRESS this long after launch is measured by wall
  // time (it counts as ready at once).
  Seconds hello_timeout{5};
};

struct ClientOutcome {
  pid_t pid = -1;
  ExitFacts facts;
  Classification classification;
  double runtime_s = 0;  // release -> exit of its main process
  std::int64_t steps = 0;
  bool output_truncated = false;  // stdout or stderr reached limits.output
  bool pids_limit_hit = false;    // a fork failed at the cgroup's pids.max (limits.pids)
  bool by_wall_time = false;      // progress false, or auto and silent: runtime is its measure
};

struct SupervisorResult {
  std::vector<ClientOutcome> clients;
  bool released = false;
  bool interrupted = false;
  double release_unix = 0;  // wall-clock time of the release
  int swept = 0;            // stray processes killed at teardown (cgroup kill or run-token sweep)
};

class SupervisorObserver {
 public:
  virtual ~SupervisorObserver() = default;
  virtual void on_started(int /*client*/, pid_t /*pid*/) {}
  // Start barrier released; `t` of later events is seconds since this moment.
  virtual void on_released() {}
  virtual void on_event(int /*client*/, double /*t*/, const ProgressEvent& /*e*/) {}
  virtual void on_exit(int /*client*/, double /*t*/, const ClientOutcome& /*o*/) {}
  // About every 100 ms while workloads run.
  virtual void on_tick(double /*t*/) {}
};

// `run_token` goes into every client's environment as COLO_RUN_TOKEN. Errors only for failures
// of colo itself (pipes); workload failures are outcomes. Polls Interrupt::fd().
Result<SupervisorResult> supervise(std::vector<ClientLaunch> clients, const StopPolicy& policy,
                                   const Clock& clock, SupervisorObserver& observer,
                                   const std::string& run_token);

// The engine's seam to the processes of a run (loadgen's SystemUnderTest): ProcessLauncher
// starts real processes through supervise(); tests hand the engine a FakeLauncher that scripts
// outcomes. Same contract as supervise(): errors only for failures of colo itself.
class Launcher {
 public:
  virtual ~Launcher() = default;
  virtual Result<SupervisorResult> launch(std::vector<ClientLaunch> clients,
                                          const StopPolicy& policy,
                                          SupervisorObserver& observer) = 0;
};

// Real processes, every one carrying `run_token` (which the caller's Guard sweeps).
class ProcessLauncher final : public Launcher {
 public:
  ProcessLauncher(const Clock& clock, std::string run_token)
      : m_clock(clock), m_token(std::move(run_token)) {}
  // Safe to call from several threads at once (concurrent runs on disjoint GPUs): each call
  // gets its own sub-token of the session's, so one run's teardown sweep spares the others.
  Result<SupervisorResult> launch(std::vector<ClientLaunch> clients, const StopPolicy& policy,
                                  SupervisorObserver& observer) override {
    return supervise(std::move(clients), policy, m_clock, observer,
                     sub_token(m_token, m_launches.fetch_add(1) + 1));
  }

 private:
  const Clock& m_clock;
  std::string m_token;
  std::atomic<long> m_launches{0};
};

}  // namespace colo
