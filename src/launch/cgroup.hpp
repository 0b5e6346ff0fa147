#pragma once
// Process containment by control group, the way Slurm's proctrack/cgroup tracks job steps: each
// workload runs in a cgroup of its own, which no descendant can leave (not by setsid, a double
// fork or a cleared environment), and colo kills the whole cgroup at teardown. Linux only.
//
// Layout: <base>/colo-<token>/w<N>-<label> in every hierarchy used, where <base> is colo's own
// cgroup in that hierarchy and <token> the run token (so the guard process can find and kill
// everything of a colo that died). Chosen per host by detect_containment():
//   cgroup_v2  a writable cgroup2 tree: tracked there; killed by cgroup.kill (Linux >= 5.14),
//              else by freeze (cgroup.freeze) + SIGKILL each member + thaw, until empty.
//   cgroup_v1  writable v1 freezer (and/or pids) hierarchies: freeze + kill + thaw loop.
//   sweep      neither: the run-token sweep of process.hpp (COLO_RUN_TOKEN in /proc/<pid>/environ)
//              is all there is; a process that clears its environment escapes it.
// The pids limit (pids.max) applies where a pids controller is writable: v2 with pids delegated,
// else v1 pids (also next to a v2 tree on hybrid hosts). COLO_CONTAINMENT=sweep forces the
// fallback (COLO_CONTAINMENT=auto, the default, detects). Needs write access to the cgroup
// files (root, or a delegated subtree); never fatal when missing: the fallback is used and said.
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/result.hpp"

namespace colo {

enum class ContainmentKind { cgroup_v2, cgroup_v1, sweep };

const char* to_string(ContainmentKind kind);

// What this host offers colo for containing workloads.
struct Containment {
  ContainmentKind kind = ContainmentKind::sweep;
  std::string v2_base;       // colo's own cgroup in the v2 tree (a directory), when kind == v2
  bool v2_kill = false;      // cgroup.kill present
  std::string freezer_base;  // colo's own cgroup in the v1 freezer hierarchy, when writable
  std::string pids_base;     // where pids.max applies (v2 tree or v1 pids); empty: no pids limit
  std::string reason;        // why a cgroup way is not used (for the sweep) or caveats

  // One line for logs and `colo doctor`, e.g. "cgroup v2 (/sys/fs/cgroup/x, cgroup.kill),
  // pids limit via cgroup v1 pids".
  [[nodiscard]] std::string describe() const;
};

// Detects containment from <root>/proc/self/cgroup and <root>/proc/self/mountinfo, probing
// writability by creating and removing a directory. `root` is "" on a real host (a test may point
// it at a fake tree). Reads COLO_CONTAINMENT (auto | sweep). Never fails: the worst is `sweep`.
Containment detect_containment(const std::string& root = "");

// The host's containment, detected once per process (thread-safe).
const Containment& host_containment();

// A workload's cgroup: created before the workload starts, entered by the child itself between
// fork and exec (so nothing it forks is ever outside), killed and removed at teardown.
class WorkloadCgroup {
 public:
  // Creates <base>/colo-<token>/w<N>-<label> in each hierarchy of `c` and sets pids.max when
  // `pids_max` > 0 and a pids controller is available. Errors when a directory cannot be made.
  static Result<WorkloadCgroup> create(const Containment& c, const std::string& token,
                                       const std::string& label, std::int64_t pids_max);
  WorkloadCgroup() = default;
  WorkloadCgroup(WorkloadCgroup&& o) noexcept;
  WorkloadCgroup& operator=(WorkloadCgroup&& o) noexcept;
  WorkloadCgroup(const WorkloadCgroup&) = delete;
  WorkloadCgroup& operator=(const WorkloadCgroup&) = delete;
  ~WorkloadCgroup();  // kill() then remove()

  [[nodiscard]] bool empty_handle() const { return m_dirs.empty(); }
  // The cgroup directories a child must enter (write its pid to each one's cgroup.procs).
  [[nodiscard]] const std::vector<std::string>& dirs() const { return m_dirs; }
  // The members' pids (from the tracking hierarchy); empty when none or on error.
  [[nodiscard]] std::vector<pid_t> members() const;
  // SIGKILLs every member (cgroup.kill, or freeze + kill + thaw). Returns how many were signalled
  // by the loop (cgroup.kill does not say: counts members seen before); reaps the ones that are
  // colo's children (subreaper) so that they do not linger as zombies.
  int kill();
  // How many forks pids.max refused here (pids.events "max"); 0 when none or without a pids
  // controller.
  [[nodiscard]] std::int64_t pids_refused() const;
  // True when pids.max stopped a fork here (pids_refused() > 0).
  [[nodiscard]] bool pids_limit_hit() const { return pids_refused() > 0; }
  // Removes the directories (they must be empty); idempotent.
  void remove();

 private:
  ContainmentKind m_kind = ContainmentKind::sweep;
  bool m_v2_kill = false;
  std::vector<std::string> m_dirs;  // [0] is the tracking hierarchy (v2, or v1 freezer/pids)
  std::string m_freezer;            // v1 freezer dir, or ""
  std::string m_pids;               // dir with pids.max, or ""
};

// Kills and removes everything under colo-<token> in every hierarchy of `c` (the guard's last
// act, and the fault suite's check). Returns how many processes were seen there.
int kill_token_cgroups(const Containment& c, const std::string& token);

// Processes still inside colo-<token> of `c` (for tests and the fault suite).
std::vector<pid_t> token_cgroup_members(const Containment& c, const std::string& token);

}  // namespace colo
