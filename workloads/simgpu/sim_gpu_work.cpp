// colo-sim-gpu: the builtin simulated-GPU workload (`builtin: sim-gpu`). It runs only under
// colo with the simulated GPU (COLO_SIM_GPU_DIR) and does no real work: each step sleeps for
// its solo step time divided by the speed the contention model gives it, given the other
// simulated workloads active on the same simulated device. Every number it produces is
// simulated.
// Flags: --duty F (GPU share of a solo step, default 0.6), --sm F (SM share its kernels fill,
// 0.3), --bw F (DRAM bandwidth share, 0.2), --mem SIZE (device memory, 4G), --step-ms MS (solo
// step time, 20), --batch N (samples per step, 64), --steps N (0: until stopped).
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <thread>

#include "colo/progress.hpp"
#include "core/os.hpp"
#include "core/units.hpp"
#include "gpu/sim/contention_model.hpp"
#include "gpu/sim/sim_registry.hpp"

namespace {
volatile std::sig_atomic_t g_stop = 0;
void on_term(int) {
  g_stop = 1;
}

[[noreturn]] void usage(const std::string& msg) {
  std::fprintf(stderr, "colo-sim-gpu: %s\n", msg.c_str());
  std::exit(2);
}

double number(const std::map<std::string, std::string>& f, const char* key, double def, double lo,
              double hi) {
  auto it = f.find(key);
  if (it == f.end()) {
    return def;
  }
  char* end = nullptr;
  const double v = std::strtod(it->second.c_str(), &end);
  if (*end != '\0' || v < lo || v > hi) {
    usage(std::string("--") + key + " must be a number in [" + std::to_string(lo) + ", " +
          std::to_string(hi) + "], got '" + it->second + "'");
  }
  return v;
}
}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> flags;
  for (int i = 1; i < argc; i += 2) {
    const std::string f = argv[i];
    if (f.rfind("--", 0) != 0 || i + 1 >= argc) {
      usage("expected --flag value pairs, got '" + f + "'");
    }
    const std::string key = f.substr(2);
    if (key != "duty" && key != "sm" && key != "bw" && key != "mem" && key != "step-ms" &&
        key != "batch" && key != "steps") {
      usage("unknown flag '" + f + "' (known: --duty --sm --bw --mem --step-ms --batch --steps)");
    }
    flags[key] = argv[i + 1];
  }
  const char* dir = std::getenv("COLO_SIM_GPU_DIR");
  if (!dir || !*dir) {
    usage("COLO_SIM_GPU_DIR is not set: run me under `colo run --gpu sim`");
  }
  colo::sim::SimClient model;
  model.duty = number(flags, "duty", 0.6, 0.001, 1.0);
  model.sm_fraction = number(flags, "sm", 0.3, 0.001, 1.0);
  model.bw_fraction = number(flags, "bw", 0.2, 0.0, 1.0);
  auto mem = colo::parse_bytes(flags.count("mem") ? flags["mem"] : "4G");
  if (!mem) {
    usage("--mem: " + mem.error().message);
  }
  auto rec = colo::sim::client_from_env(
      std::getenv("COLO_WORKLOAD") ? std::getenv("COLO_WORKLOAD") : "sim-gpu", model, *mem);
  const double step_ms = number(flags, "step-ms", 20, 0.1, 600000);
  const double batch = number(flags, "batch", 64, 0, 1e9);
  const auto steps = static_cast<long>(number(flags, "steps", 0, 0, 1e12));
  const auto mem_limit = colo::sim::mem_limit_from_env();

  std::signal(SIGTERM, on_term);
  colo_progress::Reporter progress;
  colo::sim::SimRegistry registry(dir);
  auto dev = registry.device();
  if (!dev) {
    std::fprintf(stderr, "colo-sim-gpu: %s\n", dev.error().what().c_str());
    return 2;
  }
  if (auto joined = registry.join(rec, mem_limit); !joined) {
    // The simulated counterpart of a CUDA allocation failure.
    std::fprintf(stderr, "colo-sim-gpu: CUDA error: %s\n", joined.error().message.c_str());
    progress.error("oom", joined.error().message);
    return 1;
  }
  progress.ready();
  rec.active = true;
  (void)registry.update(rec);
  auto next = std::chrono::steady_clock::now();
  for (long s = 0; (steps == 0 || s < steps) && !g_stop; ++s) {
    const double speed = colo::sim::client_speed(registry, *dev, rec.pid);
    next += std::chrono::microseconds(static_cast<long>(step_ms * 1000.0 / speed));
    // Sleep in slices so SIGTERM is honoured promptly.
    while (!g_stop && std::chrono::steady_clock::now() < next) {
      std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
          next - std::chrono::steady_clock::now(), std::chrono::milliseconds(20)));
    }
    if (!g_stop) {
      progress.step(batch, -1, step_ms / speed);  // the modelled step time, as latency
    }
  }
  registry.leave(rec.pid);
  progress.done();
  return 0;
}
