#pragma once
// Native CUDA work shared by colo-cuda-work and colo serve's builtin worker (library
// colo_cuda_kernels, built only where nvcc is found): a cuBLAS fp16 GEMM chain on tensor cores,
// bursts of tiny kernels, and a kernel that writes to an illegal address (for fault tests).
// Plain C++: no CUDA type here, so C++ callers compile without nvcc. Errors come back as values
// naming the call; after a gpu_fault the process's CUDA context is lost (a sticky error).
// Thread-safety: one object per thread.
#include <memory>
#include <string>

namespace colo::cuda_kernels {

enum class ErrorKind { none, out_of_memory, gpu_fault, cuda };

struct Outcome {
  ErrorKind kind = ErrorKind::none;
  std::string message;  // "cudaStreamSynchronize: an illegal memory access was encountered"
  [[nodiscard]] bool ok() const { return kind == ErrorKind::none; }
};

// `size` x `size` fp16 matrices A, B, C (zeros) and a cuBLAS handle on the current device and
// the default stream of its current context (a green context when one is current).
class GemmChain {
 public:
  static Outcome create(int size, std::unique_ptr<GemmChain>& out);
  ~GemmChain();
  GemmChain(const GemmChain&) = delete;
  GemmChain& operator=(const GemmChain&) = delete;
  // Enqueues `chain` GEMMs C = A B (not waiting for them).
  Outcome enqueue(long chain);
  // Enqueues `chain` GEMMs and waits for the GPU.
  Outcome run(long chain);
  // Floating-point operations of one GEMM (2 size^3).
  [[nodiscard]] double flops_per_gemm() const;

 private:
  struct Impl;
  explicit GemmChain(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> m_impl;
};

// 32 ints of device memory for tiny kernels; `kernels` launches of a one-warp increment.
class TinyKernels {
 public:
  static Outcome create(std::unique_ptr<TinyKernels>& out);
  ~TinyKernels();
  TinyKernels(const TinyKernels&) = delete;
  TinyKernels& operator=(const TinyKernels&) = delete;
  Outcome enqueue(long kernels);
  // A kernel that writes to address 0x100 (illegal): the next synchronisation fails.
  void enqueue_fault();

 private:
  explicit TinyKernels(int* x) : m_x(x) {}
  int* m_x;
};

// Waits for the current context's default stream.
Outcome synchronize();
// An Outcome of a CUDA error code (cudaError_t as int) from the call `what`.
Outcome from_cuda(int error, const char* what);

}  // namespace colo::cuda_kernels
