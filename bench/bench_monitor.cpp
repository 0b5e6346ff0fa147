// Monitor overhead: throughput of one workload process while colo's sampler watches it, vs with
// no sampler, in rotating rounds (each round runs every condition once, in a rotated order); the
// median of the per-round ratios against "off" is reported, robust to a noisy shared machine.
//   bench_monitor         colo-cpu-work, simulated GPU telemetry + /proc: off vs 10 Hz
//   bench_monitor --gpu   colo-cuda-work gemm on GPU 0, NVML + GPM telemetry: off vs 1 Hz vs
//                         10 Hz (needs an NVIDIA GPU)
// Rates are counted from the workload's first progress line, so start-up is excluded.
// Target: <= 1% throughput loss.
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gpu/nvml/nvml_backend.hpp"
#include "gpu/sim/sim_backend.hpp"
#include "monitor/sampler.hpp"

namespace {

double cpu_seconds_self() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         1e-6 * static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

struct Setup {
  std::vector<std::string> argv;
  double seconds = 1.5;
  int rounds = 10;
  std::vector<double> periods;  // 0 = no sampler
  colo::GpuBackend* backend = nullptr;
};

struct Sampled {
  double rate = 0;
  double sampler_cpu_s = 0;  // CPU time of this process (the sampler) during the run
  long passes = 0;
};

// Steps per second of one run, over `seconds` from the first progress line.
Sampled run_once(const Setup& s, double period, const colo::Clock& clock) {
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
    std::vector<char*> argv;
    for (const auto& a : s.argv) {
      argv.push_back(const_cast<char*>(a.c_str()));
    }
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  ::setpgid(pid, pid);
  colo::Sampler sampler(s.backend, clock, colo::Seconds(period > 0 ? period : 1.0), {0});
  sampler.set_targets({{0, pid}});
  ::fcntl(fds[0], F_SETFL, O_NONBLOCK);
  char buf[4096];
  long steps = 0;
  bool started = false;
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  double cpu0 = 0;
  while (std::chrono::steady_clock::now() < end) {
    const ssize_t n = ::read(fds[0], buf, sizeof(buf));
    if (n > 0) {
      if (!started) {
        started = true;  // the first line only opens the window
        end = std::chrono::steady_clock::now() +
              std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                  std::chrono::duration<double>(s.seconds));
        cpu0 = cpu_seconds_self();
        if (period > 0) {
          sampler.start();
        }
        continue;
      }
      steps += std::count(buf, buf + n, '\n');
    } else if (n == 0) {
      break;
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
  const double cpu = cpu_seconds_self() - cpu0;
  ::kill(-pid, SIGKILL);
  int st = 0;
  ::waitpid(pid, &st, 0);
  sampler.stop();
  ::close(fds[0]);
  if (!started) {
    fmt::print(stderr, "bench_monitor: {} reported no progress\n", s.argv[0]);
    std::exit(1);
  }
  return {static_cast<double>(steps) / s.seconds, cpu, sampler.passes()};
}

std::string label(double period) {
  return period > 0 ? fmt::format("sampler at {:g} Hz", 1.0 / period) : "no sampler";
}

}  // namespace

int main(int argc, char** argv) {
  const bool gpu = argc > 1 && std::strcmp(argv[1], "--gpu") == 0;
  const char* env_bin = std::getenv("COLO_BIN_DIR");  // where the workloads are, if moved
  const std::string bin = env_bin ? env_bin : COLO_BIN_DIR;
  colo::SteadyClock clock;
  Setup s;
  std::unique_ptr<colo::GpuBackend> backend;
  if (gpu) {
    auto b = colo::NvmlBackend::create();
    if (!b) {
      fmt::print(stderr, "bench_monitor --gpu: {}\n", b.error().what());
      return 1;
    }
    backend = std::move(*b);
    s.argv = {bin + "/colo-cuda-work", "gemm", "--size", "4096", "--chain", "8"};
    s.seconds = 5;
    s.rounds = 6;
    s.periods = {0, 1.0, 0.1};
  } else {
    backend = std::make_unique<colo::sim::SimBackend>(colo::sim::SimTopology{}, clock);
    s.argv = {bin + "/colo-cpu-work", "--work", "5"};
    s.periods = {0, 0.1};
  }
  s.backend = backend.get();
  const std::size_t k = s.periods.size();
  std::vector<std::vector<double>> rates(k);
  std::vector<double> cpu(k, 0);
  std::vector<long> passes(k, 0);
  for (int r = 0; r < s.rounds; ++r) {
    for (std::size_t j = 0; j < k; ++j) {
      const std::size_t c = (j + static_cast<std::size_t>(r)) % k;  // rotate the order
      const auto x = run_once(s, s.periods[c], clock);
      rates[c].push_back(x.rate);
      cpu[c] += x.sampler_cpu_s;
      passes[c] += x.passes;
    }
  }
  fmt::print("monitor overhead: {} steps/s, {} rounds of {} s runs, {}\n", s.argv[0], s.rounds,
             s.seconds, gpu ? "NVML+GPM telemetry of GPU 0" : "simulated GPU + /proc telemetry");
  bool met = true;
  for (std::size_t c = 0; c < k; ++c) {
    double mean = 0;
    for (double v : rates[c]) {
      mean += v / static_cast<double>(rates[c].size());
    }
    fmt::print("  {:<22}: mean {:10.1f} steps/s", label(s.periods[c]), mean);
    if (s.periods[c] > 0) {
      std::vector<double> ratio;
      for (std::size_t i = 0; i < rates[c].size(); ++i) {
        ratio.push_back(rates[c][i] / rates[0][i]);
      }
      std::sort(ratio.begin(), ratio.end());
      const std::size_t n = ratio.size();
      const double median = n % 2 ? ratio[n / 2] : 0.5 * (ratio[n / 2 - 1] + ratio[n / 2]);
      const double extra_cpu = (cpu[c] - cpu[0]) / (s.rounds * s.seconds);
      fmt::print(
          "  median ratio to off {:.4f} (min {:.4f}, max {:.4f}); loss {:.2f}%; sampler "
          "{:.2f}% of a core, {:.0f} us CPU per pass",
          median, ratio.front(), ratio.back(), (1 - median) * 100, 100 * extra_cpu,
          1e6 * (cpu[c] - cpu[0]) / static_cast<double>(std::max(1L, passes[c])));
      met = met && (1 - median) <= 0.01;
    }
    fmt::print("\n");
  }
  fmt::print("  target <= 1% throughput loss: {}\n", met ? "met" : "NOT met");
  return 0;
}
