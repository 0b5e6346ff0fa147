// colo-cuda-work: native CUDA workloads for interference studies and fault tests.
//   colo-cuda-work gemm  [--size 4096] [--chain 8]     cuBLAS fp16 GEMM chain (tensor cores)
//   colo-cuda-work triad [--mem 2G]                     STREAM triad a = b + s*c (memory-bound)
//   colo-cuda-work tiny  [--kernels 1000]               many tiny kernels (launch-bound)
//   colo-cuda-work alloc [--mem 8G]                     holds --mem of device memory, touches it
//   colo-cuda-work fault [--after 20]                   illegal address after N steps
// Common: --sms N (green context; also COLO_GREEN_SMS), --sm-offset K (its first SM; also
// COLO_GREEN_OFFSET), --steps N (0: until SIGTERM).
// Reports progress through COLO_PROGRESS; CUDA out-of-memory -> {"kind":"oom"}, illegal
// address -> {"kind":"gpu_fault"}; exit 1 on either.
#include <cuda_runtime.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>

#include "colo/green_context.hpp"
#include "colo/progress.hpp"
#include "kernels.hpp"

namespace {
volatile std::sig_atomic_t g_stop = 0;
void on_term(int) {
  g_stop = 1;
}
colo_progress::Reporter g_progress;

namespace ck = colo::cuda_kernels;

[[noreturn]] void die(const ck::Outcome& o) {
  g_progress.error(o.kind == ck::ErrorKind::out_of_memory ? "oom"
                   : o.kind == ck::ErrorKind::gpu_fault   ? "gpu_fault"
                                                          : "cuda",
                   o.message);
  std::fprintf(stderr, "colo-cuda-work: CUDA error: %s\n", o.message.c_str());
  std::exit(1);
}
void check(const ck::Outcome& o) {
  if (!o.ok()) {
    die(o);
  }
}
#define CHECK(x) check(ck::from_cuda(static_cast<int>(x), #x))

__global__ void triad(float* a, const float* b, const float* c, float s, size_t n) {
  for (size_t i = blockIdx.x * blockDim.x + threadIdx.x; i < n;
       i += size_t(gridDim.x) * blockDim.x) {
    a[i] = b[i] + s * c[i];
  }
}
__global__ void fill(char* p, size_t n) {
  for (size_t i = blockIdx.x * blockDim.x + threadIdx.x; i < n;
       i += size_t(gridDim.x) * blockDim.x) {
    p[i] = static_cast<char>(i);
  }
}

size_t parse_size(const std::string& s) {
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  switch (*end) {
    case 'G':
    case 'g':
      v *= 1024.0 * 1024 * 1024;
      break;
    case 'M':
    case 'm':
      v *= 1024.0 * 1024;
      break;
    case 'K':
    case 'k':
      v *= 1024.0;
      break;
    default:
      break;
  }
  return static_cast<size_t>(v);
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: colo-cuda-work gemm|triad|tiny|alloc|fault [--flag value]...\n");
    return 2;
  }
  const std::string mode = argv[1];
  std::map<std::string, std::string> f;
  for (int i = 2; i + 1 < argc; i += 2) {
    f[argv[i]] = argv[i + 1];
  }
  auto num = [&](const char* k, long d) { return f.count(k) ? std::atol(f[k].c_str()) : d; };
  std::signal(SIGTERM, on_term);
  long sms = num("--sms", 0);
  if (sms == 0 && std::getenv("COLO_GREEN_SMS")) {
    sms = std::atol(std::getenv("COLO_GREEN_SMS"));
  }
  long offset = num("--sm-offset", 0);
  if (!f.count("--sm-offset") && std::getenv("COLO_GREEN_OFFSET")) {
    offset = std::atol(std::getenv("COLO_GREEN_OFFSET"));
  }
  if (sms > 0) {
    const int got = colo_green::make_current_green_context(static_cast<unsigned>(sms),
                                                           static_cast<unsigned>(offset));
    if (got < 0) {
      std::fprintf(stderr, "colo-cuda-work: green context of %ld SMs failed (CUresult %d)\n", sms,
                   -got);
      return 1;
    }
    std::fprintf(stderr, "colo-cuda-work: green context with %d SMs from SM %ld\n", got, offset);
  }
  const long steps = num("--steps", 0);
  cudaStream_t st = nullptr;  // default stream of the (green) context
  double samples_per_step = 1;
  // Set-up per mode.
  std::unique_ptr<ck::GemmChain> gemm;
  std::unique_ptr<ck::TinyKernels> tinies;
  float *ta = nullptr, *tb = nullptr, *tc = nullptr;
  char* hold = nullptr;
  size_t n = 0;
  const int size = static_cast<int>(num("--size", 4096));
  const long chain = num("--chain", 8);
  const long kernels = num("--kernels", 1000);
  if (mode == "gemm") {
    check(ck::GemmChain::create(size, gemm));
    samples_per_step = static_cast<double>(chain);
  } else if (mode == "triad") {
    n = parse_size(f.count("--mem") ? f["--mem"] : "2G") / (3 * sizeof(float));
    CHECK(cudaMalloc(&ta, n * sizeof(float)));
    CHECK(cudaMalloc(&tb, n * sizeof(float)));
    CHECK(cudaMalloc(&tc, n * sizeof(float)));
    CHECK(cudaMemset(tb, 0, n * sizeof(float)));
    CHECK(cudaMemset(tc, 0, n * sizeof(float)));
    samples_per_step = 10;
  } else if (mode == "tiny" || mode == "fault") {
    check(ck::TinyKernels::create(tinies));
    samples_per_step = static_cast<double>(mode == "tiny" ? kernels : 100);
  } else if (mode == "alloc") {
    n = parse_size(f.count("--mem") ? f["--mem"] : "8G");
    CHECK(cudaMalloc(&hold, n));
    fill<<<1024, 256, 0, st>>>(hold, n);
    CHECK(cudaStreamSynchronize(st));
  } else {
    std::fprintf(stderr, "colo-cuda-work: unknown mode '%s'\n", mode.c_str());
    return 2;
  }
  CHECK(cudaDeviceSynchronize());
  g_progress.ready();
  const long fault_after = num("--after", 20);
  for (long s = 0; (steps == 0 || s < steps) && !g_stop; ++s) {
    if (mode == "gemm") {
      check(gemm->enqueue(chain));
    } else if (mode == "triad") {
      for (int k = 0; k < 10; ++k) {
        triad<<<4 * 132, 512, 0, st>>>(ta, tb, tc, 3.0f, n);
      }
    } else if (mode == "tiny") {
      check(tinies->enqueue(kernels));
    } else if (mode == "fault") {
      check(tinies->enqueue(100));
      if (s + 1 == fault_after) {
        tinies->enqueue_fault();
      }
    } else if (mode == "alloc") {
      fill<<<256, 256, 0, st>>>(hold, n < (64u << 20) ? n : (64u << 20));
    }
    CHECK(cudaStreamSynchronize(st));
    if (!g_stop) {
      g_progress.step(samples_per_step);
    }
  }
  g_progress.done();
  return 0;
}
