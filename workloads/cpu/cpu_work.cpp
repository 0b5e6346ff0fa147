// colo-cpu-work: the builtin CPU workload (`builtin: cpu`), for machines without a GPU.
// Each step multiplies two small matrices `work` times and reports `batch` samples.
// Flags: --work N (default 200), --batch N (32), --steps N (0: until stopped), --size N (64).
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "colo/progress.hpp"

namespace {
volatile std::sig_atomic_t g_stop = 0;
void on_term(int) {
  g_stop = 1;
}

long flag(int argc, char** argv, const char* name, long def) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], name) == 0) {
      char* end = nullptr;
      const long v = std::strtol(argv[i + 1], &end, 10);
      if (*end != '\0' || v < 0) {
        std::fprintf(stderr, "colo-cpu-work: %s needs a non-negative integer, got '%s'\n", name,
                     argv[i + 1]);
        std::exit(2);
      }
      return v;
    }
  }
  return def;
}
}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; i += 2) {
    const std::string f = argv[i];
    if (f != "--work" && f != "--batch" && f != "--steps" && f != "--size") {
      std::fprintf(stderr,
                   "colo-cpu-work: unknown flag '%s' (known: --work --batch --steps --size)\n",
                   argv[i]);
      return 2;
    }
  }
  const long work = flag(argc, argv, "--work", 200);
  const long batch = flag(argc, argv, "--batch", 32);
  const long steps = flag(argc, argv, "--steps", 0);
  const auto n = static_cast<std::size_t>(std::max(8L, flag(argc, argv, "--size", 64)));
  std::signal(SIGTERM, on_term);
  std::vector<double> a(n * n, 1.0001);
  std::vector<double> b(n * n, 0.9999);
  std::vector<double> c(n * n, 0.0);
  colo_progress::Reporter progress;
  progress.ready();
  double checksum = 0;
  for (long s = 0; (steps == 0 || s < steps) && !g_stop; ++s) {
    for (long w = 0; w < work && !g_stop; ++w) {
      for (std::size_t i = 0; i < n; ++i) {
        for (std::size_t k = 0; k < n; ++k) {
          const double aik = a[i * n + k];
          for (std::size_t j = 0; j < n; ++j) {
            c[i * n + j] += aik * b[k * n + j];
          }
        }
      }
      checksum += c[(static_cast<std::size_t>(w) * 7) % (n * n)];
      std::fill(c.begin(), c.end(), 0.0);
    }
    if (!g_stop) {
      progress.step(static_cast<double>(batch));
    }
  }
  progress.done();
  std::printf("colo-cpu-work: checksum %.3f\n", checksum);
  return 0;
}
