// Supervisor overhead: launch + start barrier + teardown of 16 trivial workloads (each says
// ready, does one tiny step, exits) through colo's supervisor, vs the same 16 programs started
// with plain fork/exec/waitpid (no barrier). Target: < 50 ms total for colo.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <vector>

#include "launch/supervisor.hpp"

namespace {
constexpr int k_workloads = 16;
constexpr int k_rounds = 15;
const std::string k_prog = COLO_BIN_DIR "/colo-cpu-work";

double plain_round() {
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<pid_t> pids;
  for (int i = 0; i < k_workloads; ++i) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      const int devnull = ::open("/dev/null", O_WRONLY);  // as colo does with no output file
      ::dup2(devnull, 1);
      ::dup2(devnull, 2);
      ::execl(k_prog.c_str(), "colo-cpu-work", "--steps", "1", "--work", "0", nullptr);
      ::_exit(127);
    }
    pids.push_back(pid);
  }
  for (pid_t p : pids) {
    int st = 0;
    ::waitpid(p, &st, 0);
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double colo_round(const colo::Clock& clock) {
  std::vector<colo::ClientLaunch> cs;
  for (int i = 0; i < k_workloads; ++i) {
    colo::ClientLaunch l;
    l.label = fmt::format("w{}", i);
    l.spawn.argv = {k_prog, "--steps", "1", "--work", "0"};
    cs.push_back(l);
  }
  colo::StopPolicy p;
  p.on_exit = true;
  p.timeout = colo::Seconds(30);
  colo::SupervisorObserver obs;
  const auto t0 = std::chrono::steady_clock::now();
  auto r = colo::supervise(std::move(cs), p, clock, obs, colo::make_run_token());
  const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!r || !r->released) {
    fmt::print(stderr, "supervise failed\n");
    std::exit(1);
  }
  return t;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}
}  // namespace

int main() {
  colo::SteadyClock clock;
  std::vector<double> plain;
  std::vector<double> sup;
  for (int i = 0; i < k_rounds; ++i) {  // interleaved, so both see the same machine state
    plain.push_back(plain_round());
    sup.push_back(colo_round(clock));
  }
  const double p = median(plain);
  const double s = median(sup);
  fmt::print("supervisor: {} workloads, median of {} rounds\n", k_workloads, k_rounds);
  fmt::print("  plain fork/exec/wait : {:8.2f} ms\n", p * 1e3);
  fmt::print("  colo supervise       : {:8.2f} ms  (ratio {:.2f}x)\n", s * 1e3, s / p);
  fmt::print("  target < 50 ms       : {}\n", s < 0.050 ? "met" : "NOT met");
  return 0;
}
