#include <cublas_v2.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <string>

#include "kernels.hpp"

namespace colo::cuda_kernels {
namespace {

__global__ void tiny(int* x) {
  x[threadIdx.x] += 1;
}
__global__ void poke(int* p) {
  p[threadIdx.x] = 42;
}

}  // namespace

Outcome from_cuda(int error, const char* what) {
  const auto e = static_cast<cudaError_t>(error);
  if (e == cudaSuccess) {
    return {};
  }
  const bool oom = e == cudaErrorMemoryAllocation;
  const bool fault = e == cudaErrorIllegalAddress || e == cudaErrorLaunchFailure ||
                     e == cudaErrorIllegalInstruction || e == cudaErrorMisalignedAddress;
  return {oom ? ErrorKind::out_of_memory : (fault ? ErrorKind::gpu_fault : ErrorKind::cuda),
          std::string(what) + ": " + cudaGetErrorString(e)};
}

Outcome synchronize() {
  return from_cuda(cudaStreamSynchronize(nullptr), "cudaStreamSynchronize");
}

struct GemmChain::Impl {
  int size = 0;
  __half* a = nullptr;
  __half* b = nullptr;
  __half* c = nullptr;
  cublasHandle_t blas = nullptr;
  ~Impl() {
    if (blas != nullptr) {
      cublasDestroy(blas);
    }
    cudaFree(a);
    cudaFree(b);
    cudaFree(c);
  }
};

GemmChain::GemmChain(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
GemmChain::~GemmChain() = default;

Outcome GemmChain::create(int size, std::unique_ptr<GemmChain>& out) {
  auto impl = std::make_unique<Impl>();
  impl->size = size;
  const size_t bytes = sizeof(__half) * static_cast<size_t>(size) * static_cast<size_t>(size);
  for (__half** p : {&impl->a, &impl->b, &impl->c}) {
    if (auto o = from_cuda(cudaMalloc(p, bytes), "cudaMalloc"); !o.ok()) {
      return o;
    }
    if (auto o = from_cuda(cudaMemset(*p, 0, bytes), "cudaMemset"); !o.ok()) {
      return o;
    }
  }
  if (const cublasStatus_t s = cublasCreate(&impl->blas); s != CUBLAS_STATUS_SUCCESS) {
    impl->blas = nullptr;
    return {s == CUBLAS_STATUS_ALLOC_FAILED ? ErrorKind::out_of_memory : ErrorKind::cuda,
            std::string("cublasCreate: ") + cublasGetStatusString(s)};
  }
  out.reset(new GemmChain(std::move(impl)));
  return {};
}

Outcome GemmChain::enqueue(long chain) {
  const __half one = __float2half(1.0F);
  const __half zero = __float2half(0.0F);
  const int n = m_impl->size;
  for (long k = 0; k < chain; ++k) {
    const cublasStatus_t s = cublasGemmEx(
        m_impl->blas, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &one, m_impl->a, CUDA_R_16F, n, m_impl->b,
        CUDA_R_16F, n, &zero, m_impl->c, CUDA_R_16F, n, CUBLAS_COMPUTE_16F, CUBLAS_GEMM_DEFAULT);
    if (s != CUBLAS_STATUS_SUCCESS) {
      // A failed launch usually hides a CUDA error: report that one when there is one.
      if (auto o = from_cuda(cudaGetLastError(), "cublasGemmEx"); !o.ok()) {
        return o;
      }
      return {ErrorKind::cuda, std::string("cublasGemmEx: ") + cublasGetStatusString(s)};
    }
  }
  return {};
}

Outcome GemmChain::run(long chain) {
  if (auto o = enqueue(chain); !o.ok()) {
    return o;
  }
  return synchronize();
}

double GemmChain::flops_per_gemm() const {
  const double n = m_impl->size;
  return 2.0 * n * n * n;
}

TinyKernels::~TinyKernels() {
  cudaFree(m_x);
}

Outcome TinyKernels::create(std::unique_ptr<TinyKernels>& out) {
  int* x = nullptr;
  if (auto o = from_cuda(cudaMalloc(&x, 32 * sizeof(int)), "cudaMalloc"); !o.ok()) {
    return o;
  }
  if (auto o = from_cuda(cudaMemset(x, 0, 32 * sizeof(int)), "cudaMemset"); !o.ok()) {
    cudaFree(x);
    return o;
  }
  out.reset(new TinyKernels(x));
  return {};
}

Outcome TinyKernels::enqueue(long kernels) {
  for (long k = 0; k < kernels; ++k) {
    tiny<<<1, 32, 0, nullptr>>>(m_x);
  }
  return from_cuda(cudaGetLastError(), "tiny kernel launch");
}

void TinyKernels::enqueue_fault() {
  poke<<<1, 32, 0, nullptr>>>(reinterpret_cast<int*>(0x100));  // an illegal address
}

}  // namespace colo::cuda_kernels
