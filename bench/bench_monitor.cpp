// Monitor overhead: throughput of a CPU workload (colo-cpu-work, one process) while colo's
// sampler watches it at 10 Hz (/proc + simulated GPU telemetry), vs with no sampler, alternating
// in pairs; the median of the paired ratios is reported (robust to a noisy shared machine),
// with the sampler's own CPU cost. Target: <= 1% throughput loss.
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "gpu/sim/sim_backend.hpp"
#include "monitor/sampler.hpp"

namespace {
const std::string k_prog = COLO_BIN_DIR "/colo-cpu-work";
constexpr double k_seconds = 1.5;
constexpr int k_pairs = 10;

double cpu_seconds_self() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         1e-6 * static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

struct Sampled {
  double rate = 0;
  double sampler_cpu_s = 0;  // CPU time of this process (the sampler) during the run
  long passes = 0;
};

// Steps per second of one colo-cpu-work run of k_seconds, counted from its progress pipe.
Sampled run_once(bool sample) {
  int fds[2];
  if (::pipe(fds) != 0) {
    std::exit(1);
  }
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);
    ::dup2(fds[1], 3);
    ::setenv("COLO_PROGRESS", "fd:3", 1);
    const int devnull = ::open("/dev/null", O_WRONLY);
    ::dup2(devnull, 1);
    ::execl(k_prog.c_str(), "colo-cpu-work", "--work", "5", nullptr);
    ::_exit(127);
  }
  ::close(fds[1]);
  ::setpgid(pid, pid);
  colo::SteadyClock clock;
  colo::sim::SimBackend backend(colo::sim::SimTopology{}, clock);
  colo::Sampler sampler(&backend, clock, colo::Seconds(0.1), {0});
  sampler.set_targets({{0, pid}});
  if (sample) {
    sampler.start();
  }
  long steps = 0;
  char buf[4096];
  const double cpu0 = cpu_seconds_self();
  const auto t0 = std::chrono::steady_clock::now();
  const auto end = t0 + std::chrono::duration<double>(k_seconds);
  ::fcntl(fds[0], F_SETFL, O_NONBLOCK);
  while (std::chrono::steady_clock::now() < end) {
    const ssize_t n = ::read(fds[0], buf, sizeof(buf));
    if (n > 0) {
      steps += std::count(buf, buf + n, '\n');
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  ::kill(pid, SIGKILL);
  int st = 0;
  ::waitpid(pid, &st, 0);
  sampler.stop();
  ::close(fds[0]);
  return {static_cast<double>(steps) / k_seconds, cpu_seconds_self() - cpu0, sampler.passes()};
}
}  // namespace

int main() {
  std::vector<double> ratios;
  double off_sum = 0;
  double on_sum = 0;
  double cpu = 0;
  double cpu_off = 0;
  long passes = 0;
  for (int i = 0; i < k_pairs; ++i) {
    const auto a = run_once(false);
    const auto b = run_once(true);
    ratios.push_back(b.rate / a.rate);
    off_sum += a.rate;
    on_sum += b.rate;
    cpu += b.sampler_cpu_s;
    cpu_off += a.sampler_cpu_s;
    passes += b.passes;
  }
  std::sort(ratios.begin(), ratios.end());
  const double median = 0.5 * (ratios[k_pairs / 2 - 1] + ratios[k_pairs / 2]);
  const double loss = (1.0 - median) * 100.0;
  const double sampler_cpu = (cpu - cpu_off) / (k_pairs * k_seconds);
  fmt::print("monitor overhead: colo-cpu-work steps/s, {} alternating pairs of {} s runs\n",
             k_pairs, k_seconds);
  fmt::print("  no sampler (mean)       : {:10.1f} steps/s\n", off_sum / k_pairs);
  fmt::print("  sampler at 10 Hz (mean) : {:10.1f} steps/s\n", on_sum / k_pairs);
  fmt::print("  median paired ratio     : {:10.4f}  (min {:.4f}, max {:.4f})\n", median,
             ratios.front(), ratios.back());
  fmt::print("  sampler CPU             : {:10.2f} % of one core, {:.0f} us per pass\n",
             100.0 * sampler_cpu,
             1e6 * (cpu - cpu_off) / static_cast<double>(std::max(1L, passes)));
  fmt::print("  throughput loss         : {:10.2f} %  (target <= 1%: {})\n", loss,
             loss <= 1.0 ? "met" : "NOT met");
  return 0;
}
