// colo's native CUDA models (model.cuh states the contract). Row-major tensors throughout; the
// cuBLAS calls (column-major) get the row-major product C = op(A) op(B) as C^T = op(B)^T op(A)^T.
// libcuda is not linked: the green context's driver calls come through
// cudaGetDriverEntryPointByVersion, so programs using this library load without a driver.
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "colo/green_context.hpp"
#include "cuda/model.cuh"

namespace colo::cuda_model {

namespace {

constexpr int k_threads = 256;  // per block, every kernel here
constexpr float k_ln_eps = 1e-5F;

// ---- errors -------------------------------------------------------------------------------

Outcome cuda_error(cudaError_t e, const std::string& what) {
  ErrorKind kind = ErrorKind::cuda;
  if (e == cudaErrorMemoryAllocation) {
    kind = ErrorKind::out_of_memory;
  } else if (e == cudaErrorIllegalAddress || e == cudaErrorLaunchFailure ||
             e == cudaErrorIllegalInstruction || e == cudaErrorMisalignedAddress ||
             e == cudaErrorHardwareStackError || e == cudaErrorInvalidPc) {
    kind = ErrorKind::gpu_fault;
  }
  return {kind, what + ": " + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")"};
}

Outcome check(cudaError_t e, const std::string& what) {
  return e == cudaSuccess ? Outcome{} : cuda_error(e, what);
}

Outcome check(cublasStatus_t s, const std::string& what) {
  if (s == CUBLAS_STATUS_SUCCESS) {
    return {};
  }
  return {s == CUBLAS_STATUS_ALLOC_FAILED ? ErrorKind::out_of_memory : ErrorKind::cuda,
          what + ": " + cublasGetStatusName(s) + " (" + cublasGetStatusString(s) + ")"};
}

// A launch's configuration errors now, its execution errors at the next synchronisation.
Outcome launched(const char* kernel) {
  return check(cudaGetLastError(), std::string("kernel ") + kernel);
}

#define MODEL_TRY(expr)            \
  do {                             \
    Outcome model_try_o_ = (expr); \
    if (!model_try_o_.ok()) {      \
      return model_try_o_;         \
    }                              \
  } while (0)

// ---- element types ------------------------------------------------------------------------

template <typename T>
struct Dtype;
template <>
struct Dtype<__half> {
  static constexpr cudaDataType_t k_value = CUDA_R_16F;
};
template <>
struct Dtype<__nv_bfloat16> {
  static constexpr cudaDataType_t k_value = CUDA_R_16BF;
};

__device__ __forceinline__ float to_f(__half v) {
  return __half2float(v);
}
__device__ __forceinline__ float to_f(__nv_bfloat16 v) {
  return __bfloat162float(v);
}
template <typename T>
__device__ __forceinline__ T from_f(float v);
template <>
__device__ __forceinline__ __half from_f<__half>(float v) {
  return __float2half(v);
}
template <>
__device__ __forceinline__ __nv_bfloat16 from_f<__nv_bfloat16>(float v) {
  return __float2bfloat16(v);
}

// ---- kernels ------------------------------------------------------------------------------

unsigned int grid_for(std::size_t n) {
  return static_cast<unsigned int>(std::min<std::size_t>((n + k_threads - 1) / k_threads, 8192));
}

__device__ __forceinline__ std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

// p[i] = uniform in [-scale, scale], a function of (seed, i) only.
template <typename T>
__global__ void init_uniform(T* p, std::size_t n, std::uint64_t seed, float scale) {
  for (std::size_t i = blockIdx.x * std::size_t{blockDim.x} + threadIdx.x; i < n;
       i += std::size_t{gridDim.x} * blockDim.x) {
    const std::uint64_t r = splitmix64(seed * 0x100000001B3ULL + i);
    const float u = static_cast<float>(r >> 40) * (1.0F / 16777216.0F);  // [0, 1)
    p[i] = from_f<T>((2.0F * u - 1.0F) * scale);
  }
}

__device__ __forceinline__ float gelu(float z) {
  constexpr float k_c = 0.7978845608F;  // sqrt(2/pi)
  return 0.5F * z * (1.0F + tanhf(k_c * (z + 0.044715F * z * z * z)));
}

__device__ __forceinline__ float gelu_grad(float z) {
  constexpr float k_c = 0.7978845608F;
  const float t = tanhf(k_c * (z + 0.044715F * z * z * z));
  return 0.5F * (1.0F + t) + 0.5F * z * (1.0F - t * t) * k_c * (1.0F + 3.0F * 0.044715F * z * z);
}

// z[r, c] += b[c]; out (when given) = GELU(z), else z stays the output.
template <typename T>
__global__ void bias_act(T* z, const T* b, T* out, std::size_t rows, int cols) {
  const std::size_t n = rows * cols;
  for (std::size_t i = blockIdx.x * std::size_t{blockDim.x} + threadIdx.x; i < n;
       i += std::size_t{gridDim.x} * blockDim.x) {
    const float v = to_f(z[i]) + to_f(b[i % cols]);
    z[i] = from_f<T>(v);
    if (out != nullptr) {
      out[i] = from_f<T>(gelu(v));
    }
  }
}

// out = x + y + b (the residual add after a projection); out may alias y.
template <typename T>
__global__ void bias_residual(T* out, const T* x, const T* y, const T* b, std::size_t rows,
                              int cols) {
  const std::size_t n = rows * cols;
  for (std::size_t i = blockIdx.x * std::size_t{blockDim.x} + threadIdx.x; i < n;
       i += std::size_t{gridDim.x} * blockDim.x) {
    out[i] = from_f<T>(to_f(x[i]) + to_f(y[i]) + to_f(b[i % cols]));
  }
}

// dz = dh * GELU'(z), in place over dh.
template <typename T>
__global__ void gelu_backward(const T* z, T* dh, std::size_t n) {
  for (std::size_t i = blockIdx.x * std::size_t{blockDim.x} + threadIdx.x; i < n;
       i += std::size_t{gridDim.x} * blockDim.x) {
    dh[i] = from_f<T>(to_f(dh[i]) * gelu_grad(to_f(z[i])));
  }
}

// dy = y * inv_tokens: the gradient of sum(y^2) / (2 tokens).
template <typename T>
__global__ void loss_grad(const T* y, T* dy, std::size_t n, float inv_tokens) {
  for (std::size_t i = blockIdx.x * std::size_t{blockDim.x} + threadIdx.x; i < n;
       i += std::size_t{gridDim.x} * blockDim.x) {
    dy[i] = from_f<T>(to_f(y[i]) * inv_tokens);
  }
}

// p[i] = v.
template <typename T>
__global__ void fill_value(T* p, std::size_t n, float v) {
  for (std::size_t i = blockIdx.x * std::size_t{blockDim.x} + threadIdx.x; i < n;
       i += std::size_t{gridDim.x} * blockDim.x) {
    p[i] = from_f<T>(v);
  }
}

// Block-wide sum or max of one value per thread (blockDim.x a multiple of 32, <= 1024).
template <bool k_max>
__device__ float block_reduce(float v) {
  __shared__ float sh[32];
  for (int o = 16; o > 0; o >>= 1) {
    const float other = __shfl_xor_sync(0xffffffffU, v, o);
    v = k_max ? fmaxf(v, other) : v + other;
  }
  const int lane = threadIdx.x & 31;
  const int warp = threadIdx.x >> 5;
  __syncthreads();  // sh may still be read by a previous call
  if (lane == 0) {
    sh[warp] = v;
  }
  __syncthreads();
  if (warp == 0) {
    const int warps = blockDim.x >> 5;
    v = lane < warps ? sh[lane] : (k_max ? -INFINITY : 0.0F);
    for (int o = 16; o > 0; o >>= 1) {
      const float other = __shfl_xor_sync(0xffffffffU, v, o);
      v = k_max ? fmaxf(v, other) : v + other;
    }
    if (lane == 0) {
      sh[0] = v;
    }
  }
  __syncthreads();
  return sh[0];
}

// y = (x - mean) / sqrt(var + eps) per row, one block per row; mean and rstd kept for backward.
template <typename T>
__global__ void layer_norm(const T* x, T* y, float* mean, float* rstd, int cols) {
  const std::size_t row = blockIdx.x;
  const T* xr = x + row * cols;
  T* yr = y + row * cols;
  float s = 0;
  for (int c = threadIdx.x; c < cols; c += blockDim.x) {
    s += to_f(xr[c]);
  }
  const float m = block_reduce<false>(s) / static_cast<float>(cols);
  float v = 0;
  for (int c = threadIdx.x; c < cols; c += blockDim.x) {
    const float d = to_f(xr[c]) - m;
    v += d * d;
  }
  const float r = rsqrtf(block_reduce<false>(v) / static_cast<float>(cols) + k_ln_eps);
  for (int c = threadIdx.x; c < cols; c += blockDim.x) {
    yr[c] = from_f<T>((to_f(xr[c]) - m) * r);
  }
  if (threadIdx.x == 0) {
    mean[row] = m;
    rstd[row] = r;
  }
}

// dx = dres + rstd (dy - mean(dy) - xhat mean(dy xhat)) per row: layer norm's gradient (no
// learned scale) plus the residual branch's gradient.
template <typename T>
__global__ void layer_norm_backward(const T* x, const float* mean, const float* rstd, const T* dy,
                                    const T* dres, T* dx, int cols) {
  const std::size_t row = blockIdx.x;
  const std::size_t at = row * cols;
  const float m = mean[row];
  const float r = rstd[row];
  float s1 = 0;
  float s2 = 0;
  for (int c = threadIdx.x; c < cols; c += blockDim.x) {
    const float g = to_f(dy[at + c]);
    s1 += g;
    s2 += g * (to_f(x[at + c]) - m) * r;
  }
  const float mean_dy = block_reduce<false>(s1) / static_cast<float>(cols);
  const float mean_dy_xhat = block_reduce<false>(s2) / static_cast<float>(cols);
  for (int c = threadIdx.x; c < cols; c += blockDim.x) {
    const float xhat = (to_f(x[at + c]) - m) * r;
    const float g = r * (to_f(dy[at + c]) - mean_dy - xhat * mean_dy_xhat);
    dx[at + c] = from_f<T>(to_f(dres[at + c]) + g);
  }
}

// p = softmax(scale s) per row, in place, one block per row.
template <typename T>
__global__ void softmax_rows(T* s, int cols, float scale) {
  T* row = s + std::size_t{blockIdx.x} * cols;
  float mx = -INFINITY;
  for (int c = threadIdx.x; c < cols; c += blockDim.x) {
    mx = fmaxf(mx, scale * to_f(row[c]));
  }
  mx = block_reduce<true>(mx);
  float sum = 0;
  for (int c = threadIdx.x; c < cols; c += blockDim.x) {
    sum += __expf(scale * to_f(row[c]) - mx);
  }
  const float inv = 1.0F / block_reduce<false>(sum);
  for (int c = threadIdx.x; c < cols; c += blockDim.x) {
    row[c] = from_f<T>(__expf(scale * to_f(row[c]) - mx) * inv);
  }
}

// ds = scale p (dp - sum(dp p)) per row, in place over dp: the gradient through softmax(scale s).
template <typename T>
__global__ void softmax_backward(const T* p, T* dp, int cols, float scale) {
  const std::size_t at = std::size_t{blockIdx.x} * cols;
  float s = 0;
  for (int c = threadIdx.x; c < cols; c += blockDim.x) {
    s += to_f(dp[at + c]) * to_f(p[at + c]);
  }
  const float dot = block_reduce<false>(s);
  for (int c = threadIdx.x; c < cols; c += blockDim.x) {
    dp[at + c] = from_f<T>(scale * to_f(p[at + c]) * (to_f(dp[at + c]) - dot));
  }
}

// Between token rows (batch x seq rows of ld elements, a head's dh columns from `offset`) and
// the per-head layout [batch, heads, seq, dh]; to_heads picks the direction.
template <typename T>
__global__ void heads_layout(T* rows_buf, int ld, int offset, T* heads_buf, int batch, int seq,
                             int heads, int dh, bool to_heads) {
  const std::size_t n = std::size_t{static_cast<unsigned>(batch)} * heads * seq * dh;
  for (std::size_t i = blockIdx.x * std::size_t{blockDim.x} + threadIdx.x; i < n;
       i += std::size_t{gridDim.x} * blockDim.x) {
    const std::size_t e = i % dh;
    const std::size_t t = (i / dh) % seq;
    const std::size_t h = (i / (std::size_t{static_cast<unsigned>(dh)} * seq)) % heads;
    const std::size_t b = i / (std::size_t{static_cast<unsigned>(dh)} * seq * heads);
    const std::size_t r = (b * seq + t) * ld + offset + h * dh + e;
    if (to_heads) {
      heads_buf[i] = rows_buf[r];
    } else {
      rows_buf[r] = heads_buf[i];
    }
  }
}

// ---- the green context (one per process) ---------------------------------------------------

struct GreenState {
  std::mutex mutex;
  bool made = false;
  int device = -1;
  int granted = 0;
  CUcontext ctx = nullptr;
  Outcome error;
  decltype(&cuCtxSetCurrent) set_current = nullptr;
};

GreenState& green_state() {
  static GreenState state;
  return state;
}

template <typename F>
Outcome entry_point(const char* name, F& fn) {
  void* p = nullptr;
  cudaDriverEntryPointQueryResult found{};
  const cudaError_t e =
      cudaGetDriverEntryPointByVersion(name, &p, CUDART_VERSION, cudaEnableDefault, &found);
  if (e != cudaSuccess || found != cudaDriverEntryPointSuccess || p == nullptr) {
    return e != cudaSuccess
               ? cuda_error(e, std::string("cudaGetDriverEntryPointByVersion(") + name + ")")
               : Outcome{ErrorKind::cuda, std::string("the CUDA driver has no ") + name +
                                              " (green contexts need a CUDA 13 driver)"};
  }
  fn = reinterpret_cast<F>(p);
  return {};
}

Outcome make_green(int device, int sms, int offset, GreenState& g) {
  colo_green::DriverApi api;
  MODEL_TRY(entry_point("cuInit", api.init));
  MODEL_TRY(entry_point("cuDeviceGet", api.device_get));
  MODEL_TRY(entry_point("cuDeviceGetDevResource", api.device_get_dev_resource));
  MODEL_TRY(entry_point("cuDevSmResourceSplitByCount", api.dev_sm_resource_split_by_count));
  MODEL_TRY(entry_point("cuDevResourceGenerateDesc", api.dev_resource_generate_desc));
  MODEL_TRY(entry_point("cuGreenCtxCreate", api.green_ctx_create));
  MODEL_TRY(entry_point("cuCtxFromGreenCtx", api.ctx_from_green_ctx));
  MODEL_TRY(entry_point("cuCtxSetCurrent", api.ctx_set_current));
  decltype(&cuCtxGetCurrent) get_current = nullptr;
  MODEL_TRY(entry_point("cuCtxGetCurrent", get_current));
  const int got = colo_green::make_current_green_context(api, static_cast<unsigned>(sms),
                                                         static_cast<unsigned>(offset), device);
  if (got < 0) {
    return {ErrorKind::cuda,
            "green context of " + std::to_string(sms) + " SMs from SM " + std::to_string(offset) +
                " (cuGreenCtxCreate and its set-up): " + "CUresult " + std::to_string(-got)};
  }
  CUcontext ctx = nullptr;
  if (get_current(&ctx) != CUDA_SUCCESS || ctx == nullptr) {
    return {ErrorKind::cuda, "cuCtxGetCurrent after the green context was made"};
  }
  g.ctx = ctx;
  g.granted = got;
  g.set_current = api.ctx_set_current;
  return {};
}

// The process's green context (made on first use); `ctx` to make current on every thread.
Outcome process_green_context(int device, int sms, int offset, CUcontext& ctx, int& granted,
                              decltype(&cuCtxSetCurrent)& set_current) {
  GreenState& g = green_state();
  std::lock_guard lock(g.mutex);
  if (!g.made) {
    g.made = true;
    g.device = device;
    g.error = make_green(device, sms, offset, g);
  }
  if (!g.error.ok()) {
    return g.error;
  }
  if (g.device != device) {
    return {ErrorKind::invalid_argument,
            "a green context exists on device " + std::to_string(g.device) + ", not " +
                std::to_string(device) + " (one green context per process)"};
  }
  ctx = g.ctx;
  granted = g.granted;
  set_current = g.set_current;
  return {};
}

}  // namespace

// ---- the model ----------------------------------------------------------------------------

struct Model::Impl {
  explicit Impl(const ModelConfig& c) : m_cfg(c) {}
  virtual ~Impl() = default;
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  virtual Outcome init() = 0;
  virtual Outcome run(int batch) = 0;
  virtual Outcome output_stats(double& sum, double& loss) = 0;

  ModelConfig m_cfg;
  double m_flops = 0;  // of the last run
  std::uint64_t m_bytes = 0;
  int m_granted = 0;
};

namespace {

template <typename T>
class ModelImpl final : public Model::Impl {
 public:
  explicit ModelImpl(const ModelConfig& c) : Model::Impl(c) {}
  ModelImpl(const ModelImpl&) = delete;
  ModelImpl& operator=(const ModelImpl&) = delete;
  ~ModelImpl() override {
    if (current().ok()) {
      if (m_stream != nullptr) {
        (void)cudaStreamSynchronize(m_stream);
      }
      free_all(m_acts_mem);
      free_all(m_weights_mem);
      if (m_blas != nullptr) {
        (void)cublasDestroy(m_blas);
      }
      if (m_own_stream && m_stream != nullptr) {
        (void)cudaStreamDestroy(m_stream);
      }
    }
  }

  Outcome init() override {
    const ModelConfig& c = m_cfg;
    if (c.green_sms > 0) {
      MODEL_TRY(process_green_context(c.device, c.green_sms, c.green_offset, m_ctx, m_granted,
                                      m_set_current));
    }
    MODEL_TRY(current());
    // A stream of the model's own; under a green context its default stream if a new one
    // cannot be made there.
    const cudaError_t se = cudaStreamCreateWithFlags(&m_stream, cudaStreamNonBlocking);
    if (se == cudaSuccess) {
      m_own_stream = true;
    } else if (m_ctx != nullptr) {
      (void)cudaGetLastError();
      m_stream = nullptr;
    } else {
      return cuda_error(se, "cudaStreamCreateWithFlags");
    }
    MODEL_TRY(check(cublasCreate(&m_blas), "cublasCreate"));
    MODEL_TRY(check(cublasSetStream(m_blas, m_stream), "cublasSetStream"));
    const int d = c.hidden;
    const int f = c.ffn_mult * c.hidden;
    std::uint64_t tensor = 0;  // seeds: one stream of numbers per tensor
    auto weight = [&](T*& p, int rows, int cols, float scale) -> Outcome {
      MODEL_TRY(alloc(m_weights_mem, p, std::size_t{static_cast<unsigned>(rows)} * cols,
                      "cudaMalloc (weights)"));
      init_uniform<T>
          <<<grid_for(std::size_t{static_cast<unsigned>(rows)} * cols), k_threads, 0, m_stream>>>(
              p, std::size_t{static_cast<unsigned>(rows)} * cols, c.seed * 1000003ULL + ++tensor,
              scale);
      return launched("init_uniform");
    };
    m_layers.resize(static_cast<std::size_t>(c.layers));
    for (auto& w : m_layers) {
      const float sd = 1.0F / std::sqrt(static_cast<float>(d));
      if (c.arch == Arch::mlp) {
        MODEL_TRY(weight(w.w1, d, d, sd));
        MODEL_TRY(weight(w.b1, 1, d, sd));
        continue;
      }
      MODEL_TRY(weight(w.wqkv, d, 3 * d, sd));
      MODEL_TRY(weight(w.bqkv, 1, 3 * d, sd));
      MODEL_TRY(weight(w.wo, d, d, sd));
      MODEL_TRY(weight(w.bo, 1, d, sd));
      MODEL_TRY(weight(w.w1, d, f, sd));
      MODEL_TRY(weight(w.b1, 1, f, sd));
      MODEL_TRY(weight(w.w2, f, d, 1.0F / std::sqrt(static_cast<float>(f))));
      MODEL_TRY(weight(w.b2, 1, d, sd));
    }
    MODEL_TRY(grow(c.max_batch));
    return check(cudaStreamSynchronize(m_stream), "cudaStreamSynchronize (initialisation)");
  }

  Outcome run(int batch) override {
    if (batch < 1) {
      return {ErrorKind::invalid_argument, "batch " + std::to_string(batch) + " < 1"};
    }
    MODEL_TRY(current());
    if (batch > m_cap) {
      MODEL_TRY(grow(batch));
    }
    m_flops = 0;
    m_batch = batch;
    const int layers = m_cfg.layers;
    for (int l = 0; l < layers; ++l) {
      MODEL_TRY(m_cfg.arch == Arch::mlp ? mlp_forward(l) : block_forward(l));
    }
    if (m_cfg.mode == Mode::train) {
      const std::size_t n = tokens() * m_cfg.hidden;
      loss_grad<T><<<grid_for(n), k_threads, 0, m_stream>>>(x_at(layers), m_s.dx, n,
                                                            1.0F / static_cast<float>(tokens()));
      MODEL_TRY(launched("loss_grad"));
      for (int l = layers - 1; l >= 0; --l) {
        MODEL_TRY(m_cfg.arch == Arch::mlp ? mlp_backward(l) : block_backward(l));
      }
    }
    return check(cudaStreamSynchronize(m_stream), "cudaStreamSynchronize (end of the step)");
  }

  Outcome output_stats(double& sum, double& loss) override {
    MODEL_TRY(current());
    const std::size_t n = tokens() * m_cfg.hidden;
    std::vector<T> host(n);
    MODEL_TRY(check(cudaMemcpyAsync(host.data(), x_at(m_cfg.layers), n * sizeof(T),
                                    cudaMemcpyDeviceToHost, m_stream),
                    "cudaMemcpyAsync (output)"));
    MODEL_TRY(check(cudaStreamSynchronize(m_stream), "cudaStreamSynchronize (output)"));
    sum = 0;
    double squares = 0;
    for (const T& v : host) {
      const auto x = static_cast<double>(static_cast<float>(v));
      sum += x;
      squares += x * x;
    }
    loss = squares / (2.0 * static_cast<double>(tokens()));
    return {};
  }

 private:
  struct LayerWeights {
    T* wqkv = nullptr;  // transformer: hidden x 3 hidden, its bias
    T* bqkv = nullptr;
    T* wo = nullptr;  // hidden x hidden
    T* bo = nullptr;
    T* w1 = nullptr;  // transformer: hidden x ffn; mlp: the layer's hidden x hidden
    T* b1 = nullptr;
    T* w2 = nullptr;  // ffn x hidden
    T* b2 = nullptr;
  };
  // One layer's activations (train: one set per layer, for the backward pass; infer: one set).
  struct Acts {
    T* a1 = nullptr;  // LN1(x)
    T* qkv = nullptr;
    T* q = nullptr;  // [batch, heads, seq, dh]
    T* k = nullptr;
    T* v = nullptr;
    T* p = nullptr;     // softmax probabilities [batch, heads, seq, seq]
    T* o = nullptr;     // P V, per head
    T* attn = nullptr;  // o as token rows
    T* xmid = nullptr;  // after the attention's residual add
    T* a2 = nullptr;    // LN2(xmid)
    T* z = nullptr;     // pre-activation (mlp: of the layer; transformer: of the MLP's first GEMM)
    T* h = nullptr;     // GELU(z)
    float* mean1 = nullptr;
    float* rstd1 = nullptr;
    float* mean2 = nullptr;
    float* rstd2 = nullptr;
  };
  // Scratch shared by every layer: the projection output, and the backward pass's gradients.
  struct Scratch {
    T* y = nullptr;
    T* dx = nullptr;  // gradient of the residual stream (of the current layer's output)
    T* dx2 = nullptr;
    T* da = nullptr;
    T* dh = nullptr;  // [tokens, ffn]
    T* dqkv = nullptr;
    T* dq = nullptr;
    T* dk = nullptr;
    T* dv = nullptr;
    T* dout = nullptr;  // dO per head
    T* dp = nullptr;
  };

  Outcome current() const {
    if (m_ctx != nullptr) {
      return m_set_current(m_ctx) == CUDA_SUCCESS
                 ? Outcome{}
                 : Outcome{ErrorKind::cuda, "cuCtxSetCurrent (the green context)"};
    }
    return check(cudaSetDevice(m_cfg.device),
                 "cudaSetDevice(" + std::to_string(m_cfg.device) + ")");
  }

  template <typename P>
  Outcome alloc(std::vector<void*>& list, P*& p, std::size_t n, const char* what) {
    void* raw = nullptr;
    MODEL_TRY(check(cudaMalloc(&raw, n * sizeof(P)), what));
    list.push_back(raw);
    m_bytes += n * sizeof(P);
    p = static_cast<P*>(raw);
    return {};
  }

  void free_all(std::vector<void*>& list) {
    for (void* p : list) {
      (void)cudaFree(p);
    }
    list.clear();
  }

  [[nodiscard]] std::size_t tokens() const {
    return std::size_t{static_cast<unsigned>(m_batch)} * m_cfg.seq;
  }

  // Activations for `batch` samples (frees the old ones; the input is redrawn from the seed).
  Outcome grow(int batch) {
    MODEL_TRY(check(cudaStreamSynchronize(m_stream), "cudaStreamSynchronize (before growing)"));
    for (void* p : m_acts_mem) {
      (void)cudaFree(p);
    }
    m_acts_mem.clear();
    m_bytes = 0;
    m_bytes = weight_bytes();
    const ModelConfig& c = m_cfg;
    const std::size_t n = std::size_t{static_cast<unsigned>(batch)} * c.seq;
    const std::size_t d = c.hidden;
    const std::size_t f = std::size_t{static_cast<unsigned>(c.ffn_mult)} * d;
    const std::size_t pp = std::size_t{static_cast<unsigned>(batch)} * c.heads * c.seq * c.seq;
    const bool train = c.mode == Mode::train;
    const bool mlp = c.arch == Arch::mlp;
    MODEL_TRY(alloc(m_acts_mem, m_input, n * d, "cudaMalloc (input)"));
    init_uniform<T><<<grid_for(n * d), k_threads, 0, m_stream>>>(m_input, n * d, c.seed, 1.0F);
    MODEL_TRY(launched("init_uniform"));
    m_xs.assign(train ? c.layers : 2, nullptr);
    for (auto& x : m_xs) {
      MODEL_TRY(alloc(m_acts_mem, x, n * d, "cudaMalloc (activations)"));
    }
    m_acts.assign(train ? c.layers : 1, Acts{});
    for (auto& a : m_acts) {
      if (mlp) {
        if (train) {
          MODEL_TRY(alloc(m_acts_mem, a.z, n * d, "cudaMalloc (activations)"));
        }
        continue;
      }
      for (T** p : {&a.a1, &a.q, &a.k, &a.v, &a.o, &a.attn, &a.xmid, &a.a2}) {
        MODEL_TRY(alloc(m_acts_mem, *p, n * d, "cudaMalloc (activations)"));
      }
      MODEL_TRY(alloc(m_acts_mem, a.qkv, n * 3 * d, "cudaMalloc (activations)"));
      MODEL_TRY(alloc(m_acts_mem, a.p, pp, "cudaMalloc (attention probabilities)"));
      MODEL_TRY(alloc(m_acts_mem, a.z, n * f, "cudaMalloc (activations)"));
      MODEL_TRY(alloc(m_acts_mem, a.h, n * f, "cudaMalloc (activations)"));
      for (float** p : {&a.mean1, &a.rstd1, &a.mean2, &a.rstd2}) {
        MODEL_TRY(alloc(m_acts_mem, *p, n, "cudaMalloc (layer norm statistics)"));
      }
    }
    m_s = Scratch{};
    MODEL_TRY(alloc(m_acts_mem, m_s.y, n * d, "cudaMalloc (scratch)"));
    if (train) {
      MODEL_TRY(alloc(m_acts_mem, m_ones, n, "cudaMalloc (ones)"));
      fill_value<T><<<grid_for(n), k_threads, 0, m_stream>>>(m_ones, n, 1.0F);
      MODEL_TRY(launched("fill_value"));
      for (T** p : {&m_s.dx, &m_s.dx2, &m_s.da}) {
        MODEL_TRY(alloc(m_acts_mem, *p, n * d, "cudaMalloc (gradients)"));
      }
      if (!mlp) {
        for (T** p : {&m_s.dq, &m_s.dk, &m_s.dv, &m_s.dout}) {
          MODEL_TRY(alloc(m_acts_mem, *p, n * d, "cudaMalloc (gradients)"));
        }
        MODEL_TRY(alloc(m_acts_mem, m_s.dh, n * f, "cudaMalloc (gradients)"));
        MODEL_TRY(alloc(m_acts_mem, m_s.dqkv, n * 3 * d, "cudaMalloc (gradients)"));
        MODEL_TRY(alloc(m_acts_mem, m_s.dp, pp, "cudaMalloc (gradients)"));
      }
    }
    m_cap = batch;
    return {};
  }

  [[nodiscard]] std::uint64_t weight_bytes() const {
    const std::uint64_t d = m_cfg.hidden;
    const std::uint64_t f = static_cast<std::uint64_t>(m_cfg.ffn_mult) * d;
    const std::uint64_t per =
        m_cfg.arch == Arch::mlp ? d * d + d : 3 * d * d + 3 * d + d * d + d + 2 * d * f + f + d;
    return per * static_cast<std::uint64_t>(m_cfg.layers) * sizeof(T);
  }

  // The residual stream: x(0) the input, x(l) the output of layer l - 1.
  T* x_at(int l) {
    if (l == 0) {
      return m_input;
    }
    return m_cfg.mode == Mode::train ? m_xs[static_cast<std::size_t>(l - 1)]
                                     : m_xs[static_cast<std::size_t>((l - 1) % 2)];
  }
  Acts& acts(int l) { return m_acts[m_cfg.mode == Mode::train ? static_cast<std::size_t>(l) : 0]; }

  // Row-major C[m, n] = alpha op(A) op(B) + beta C; lda/ldb/ldc: the stored rows' lengths.
  Outcome gemm(const char* what, int l, bool ta, bool tb, std::size_t m, std::size_t n,
               std::size_t k, float alpha, const T* a, std::size_t lda, const T* b, std::size_t ldb,
               float beta, T* c, std::size_t ldc) {
    m_flops += 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
    return check(
        cublasGemmEx(m_blas, tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N,
                     static_cast<int>(n), static_cast<int>(m), static_cast<int>(k), &alpha, b,
                     Dtype<T>::k_value, static_cast<int>(ldb), a, Dtype<T>::k_value,
                     static_cast<int>(lda), &beta, c, Dtype<T>::k_value, static_cast<int>(ldc),
                     CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
        std::string("cublasGemmEx (layer ") + std::to_string(l) + " " + what + ")");
  }

  // The same per head: `count` products of matrices stored `stride_*` elements apart.
  Outcome gemm_heads(const char* what, int l, bool ta, bool tb, int m, int n, int k, const T* a,
                     int lda, long long stride_a, const T* b, int ldb, long long stride_b, T* c,
                     int ldc, long long stride_c, int count) {
    const float one = 1.0F;
    const float zero = 0.0F;
    m_flops += 2.0 * m * n * static_cast<double>(k) * count;
    return check(
        cublasGemmStridedBatchedEx(
            m_blas, tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N, n, m, k, &one,
            b, Dtype<T>::k_value, ldb, stride_b, a, Dtype<T>::k_value, lda, stride_a, &zero, c,
            Dtype<T>::k_value, ldc, stride_c, count, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
        std::string("cublasGemmStridedBatchedEx (layer ") + std::to_string(l) + " " + what + ")");
  }

  // Y = X W (X: tokens x k, W: k x n).
  Outcome linear(const char* what, int l, const T* x, const T* w, T* y, std::size_t k,
                 std::size_t n) {
    return gemm(what, l, false, false, tokens(), n, k, 1.0F, x, k, w, n, 0.0F, y, n);
  }
  // dX = dY W^T, then W -= lr X^T dY and b -= lr 1^T dY (the bias's gradient, a column sum, as
  // a GEMM with a row of ones). The data gradient comes first: it needs the weights before
  // their update.
  Outcome linear_backward(const char* what, int l, const T* x, T* w, T* b, const T* dy, T* dx,
                          std::size_t k, std::size_t n) {
    if (dx != nullptr) {
      MODEL_TRY(gemm(what, l, false, true, tokens(), k, n, 1.0F, dy, n, w, n, 0.0F, dx, k));
    }
    MODEL_TRY(gemm(what, l, true, false, k, n, tokens(), -m_cfg.lr, x, k, dy, n, 1.0F, w, n));
    return gemm(what, l, false, false, 1, n, tokens(), -m_cfg.lr, m_ones, tokens(), dy, n, 1.0F, b,
                n);
  }

  Outcome layer_norm_fwd(const T* x, T* y, float* mean, float* rstd) {
    layer_norm<T><<<static_cast<unsigned>(tokens()), k_threads, 0, m_stream>>>(x, y, mean, rstd,
                                                                               m_cfg.hidden);
    return launched("layer_norm");
  }

  Outcome heads(T* rows, int ld, int offset, T* per_head, bool to_heads) {
    const std::size_t n = tokens() * m_cfg.hidden;
    heads_layout<T><<<grid_for(n), k_threads, 0, m_stream>>>(rows, ld, offset, per_head, m_batch,
                                                             m_cfg.seq, m_cfg.heads,
                                                             m_cfg.hidden / m_cfg.heads, to_heads);
    return launched("heads_layout");
  }

  Outcome mlp_forward(int l) {
    const LayerWeights& w = m_layers[static_cast<std::size_t>(l)];
    const bool last = l + 1 == m_cfg.layers;
    const std::size_t d = m_cfg.hidden;
    T* out = x_at(l + 1);
    // The last layer has no activation: its z is its output. Training keeps the other layers'
    // z for the backward pass; inference computes it in the scratch.
    T* z = last ? out : (m_cfg.mode == Mode::train ? acts(l).z : m_s.y);
    MODEL_TRY(linear("linear", l, x_at(l), w.w1, z, d, d));
    bias_act<T><<<grid_for(tokens() * d), k_threads, 0, m_stream>>>(z, w.b1, last ? nullptr : out,
                                                                    tokens(), static_cast<int>(d));
    return launched("bias_act");
  }

  Outcome mlp_backward(int l) {
    LayerWeights& w = m_layers[static_cast<std::size_t>(l)];
    const std::size_t n = tokens() * m_cfg.hidden;
    if (l + 1 < m_cfg.layers) {
      gelu_backward<T><<<grid_for(n), k_threads, 0, m_stream>>>(acts(l).z, m_s.dx, n);
      MODEL_TRY(launched("gelu_backward"));
    }
    MODEL_TRY(linear_backward("linear backward", l, x_at(l), w.w1, w.b1, m_s.dx,
                              l > 0 ? m_s.dx2 : nullptr, m_cfg.hidden, m_cfg.hidden));
    std::swap(m_s.dx, m_s.dx2);
    return {};
  }

  // A transformer block's sizes for the current batch.
  struct BlockShape {
    int d;         // hidden
    int f;         // the MLP's inner width
    int seq;       // tokens per sample
    int dh;        // head width
    int bh;        // batch x heads: the per-head products
    long long sd;  // elements of one head's [seq, dh]
    long long ss;  // elements of one head's [seq, seq]
  };
  [[nodiscard]] BlockShape block_shape() const {
    const int d = m_cfg.hidden;
    const int seq = m_cfg.seq;
    const int dh = d / m_cfg.heads;
    return {d,
            m_cfg.ffn_mult * d,
            seq,
            dh,
            m_batch * m_cfg.heads,
            static_cast<long long>(seq) * dh,
            static_cast<long long>(seq) * seq};
  }

  Outcome block_forward(int l) {
    const LayerWeights& w = m_layers[static_cast<std::size_t>(l)];
    Acts& a = acts(l);
    const auto [d, f, seq, dh, bh, sd, ss] = block_shape();
    const T* x = x_at(l);
    const std::size_t n = tokens();
    MODEL_TRY(layer_norm_fwd(x, a.a1, a.mean1, a.rstd1));
    MODEL_TRY(linear("qkv", l, a.a1, w.wqkv, a.qkv, d, 3 * static_cast<std::size_t>(d)));
    bias_act<T><<<grid_for(n * 3 * d), k_threads, 0, m_stream>>>(a.qkv, w.bqkv, nullptr, n, 3 * d);
    MODEL_TRY(launched("bias_act"));
    MODEL_TRY(heads(a.qkv, 3 * d, 0, a.q, true));
    MODEL_TRY(heads(a.qkv, 3 * d, d, a.k, true));
    MODEL_TRY(heads(a.qkv, 3 * d, 2 * d, a.v, true));
    MODEL_TRY(gemm_heads("q k^T", l, false, true, seq, seq, dh, a.q, dh, sd, a.k, dh, sd, a.p, seq,
                         ss, bh));
    softmax_rows<T><<<static_cast<unsigned>(bh) * seq, k_threads, 0, m_stream>>>(
        a.p, seq, 1.0F / std::sqrt(static_cast<float>(dh)));
    MODEL_TRY(launched("softmax_rows"));
    MODEL_TRY(gemm_heads("p v", l, false, false, seq, dh, seq, a.p, seq, ss, a.v, dh, sd, a.o, dh,
                         sd, bh));
    MODEL_TRY(heads(a.attn, d, 0, a.o, false));
    MODEL_TRY(linear("out projection", l, a.attn, w.wo, m_s.y, d, d));
    bias_residual<T><<<grid_for(n * d), k_threads, 0, m_stream>>>(a.xmid, x, m_s.y, w.bo, n, d);
    MODEL_TRY(launched("bias_residual"));
    MODEL_TRY(layer_norm_fwd(a.xmid, a.a2, a.mean2, a.rstd2));
    MODEL_TRY(linear("mlp up", l, a.a2, w.w1, a.z, d, f));
    bias_act<T><<<grid_for(n * f), k_threads, 0, m_stream>>>(a.z, w.b1, a.h, n, f);
    MODEL_TRY(launched("bias_act"));
    MODEL_TRY(linear("mlp down", l, a.h, w.w2, m_s.y, f, d));
    bias_residual<T>
        <<<grid_for(n * d), k_threads, 0, m_stream>>>(x_at(l + 1), a.xmid, m_s.y, w.b2, n, d);
    return launched("bias_residual");
  }

  // m_s.dx: the gradient of layer l's output on entry, of its input on return.
  Outcome block_backward(int l) {
    LayerWeights& w = m_layers[static_cast<std::size_t>(l)];
    Acts& a = acts(l);
    const auto [d, f, seq, dh, bh, sd, ss] = block_shape();
    const std::size_t n = tokens();
    const unsigned rows = static_cast<unsigned>(n);
    // The MLP branch: out = xmid + W2 GELU(W1 a2 + b1) + b2.
    MODEL_TRY(linear_backward("mlp down backward", l, a.h, w.w2, w.b2, m_s.dx, m_s.dh, f, d));
    gelu_backward<T><<<grid_for(n * f), k_threads, 0, m_stream>>>(a.z, m_s.dh, n * f);
    MODEL_TRY(launched("gelu_backward"));
    MODEL_TRY(linear_backward("mlp up backward", l, a.a2, w.w1, w.b1, m_s.dh, m_s.da, d, f));
    layer_norm_backward<T>
        <<<rows, k_threads, 0, m_stream>>>(a.xmid, a.mean2, a.rstd2, m_s.da, m_s.dx, m_s.dx2, d);
    MODEL_TRY(launched("layer_norm_backward"));
    // The attention branch: xmid = x + Wo attn + bo; m_s.dx2 holds d xmid.
    MODEL_TRY(
        linear_backward("out projection backward", l, a.attn, w.wo, w.bo, m_s.dx2, m_s.da, d, d));
    MODEL_TRY(heads(m_s.da, d, 0, m_s.dout, true));
    MODEL_TRY(gemm_heads("dO v^T", l, false, true, seq, seq, dh, m_s.dout, dh, sd, a.v, dh, sd,
                         m_s.dp, seq, ss, bh));
    MODEL_TRY(gemm_heads("p^T dO", l, true, false, seq, dh, seq, a.p, seq, ss, m_s.dout, dh, sd,
                         m_s.dv, dh, sd, bh));
    softmax_backward<T><<<static_cast<unsigned>(bh) * seq, k_threads, 0, m_stream>>>(
        a.p, m_s.dp, seq, 1.0F / std::sqrt(static_cast<float>(dh)));
    MODEL_TRY(launched("softmax_backward"));
    MODEL_TRY(gemm_heads("dS k", l, false, false, seq, dh, seq, m_s.dp, seq, ss, a.k, dh, sd,
                         m_s.dq, dh, sd, bh));
    MODEL_TRY(gemm_heads("dS^T q", l, true, false, seq, dh, seq, m_s.dp, seq, ss, a.q, dh, sd,
                         m_s.dk, dh, sd, bh));
    MODEL_TRY(heads(m_s.dqkv, 3 * d, 0, m_s.dq, false));
    MODEL_TRY(heads(m_s.dqkv, 3 * d, d, m_s.dk, false));
    MODEL_TRY(heads(m_s.dqkv, 3 * d, 2 * d, m_s.dv, false));
    // The first layer's input is fixed: no gradient of it.
    MODEL_TRY(linear_backward("qkv backward", l, a.a1, w.wqkv, w.bqkv, m_s.dqkv,
                              l > 0 ? m_s.da : nullptr, d, 3 * static_cast<std::size_t>(d)));
    if (l == 0) {
      return {};
    }
    layer_norm_backward<T>
        <<<rows, k_threads, 0, m_stream>>>(x_at(l), a.mean1, a.rstd1, m_s.da, m_s.dx2, m_s.dx, d);
    return launched("layer_norm_backward");
  }

  CUcontext m_ctx = nullptr;
  decltype(&cuCtxSetCurrent) m_set_current = nullptr;
  cudaStream_t m_stream = nullptr;
  bool m_own_stream = false;
  cublasHandle_t m_blas = nullptr;
  std::vector<void*> m_weights_mem;
  std::vector<void*> m_acts_mem;
  std::vector<LayerWeights> m_layers;
  T* m_input = nullptr;
  T* m_ones = nullptr;  // train: tokens ones, for the biases' gradients
  std::vector<T*> m_xs;
  std::vector<Acts> m_acts;
  Scratch m_s;
  int m_cap = 0;    // samples the activations hold
  int m_batch = 1;  // of the current run
};

}  // namespace

Outcome check_config(const ModelConfig& c) {
  auto bad = [](const std::string& why) { return Outcome{ErrorKind::invalid_argument, why}; };
  if (c.hidden < 8 || c.hidden > 65536 || c.hidden % 8 != 0) {
    return bad("hidden " + std::to_string(c.hidden) + " is not a multiple of 8 in [8, 65536]");
  }
  if (c.layers < 1 || c.layers > 1000) {
    return bad("layers " + std::to_string(c.layers) + " is not in [1, 1000]");
  }
  if (c.seq < 1 || c.seq > 65536) {
    return bad("seq " + std::to_string(c.seq) + " is not in [1, 65536]");
  }
  if (c.arch == Arch::transformer) {
    if (c.heads < 1 || c.hidden % c.heads != 0 || (c.hidden / c.heads) % 8 != 0) {
      return bad("hidden " + std::to_string(c.hidden) + " / heads " + std::to_string(c.heads) +
                 " must be a whole multiple of 8 (the head width)");
    }
    if (c.ffn_mult < 1 || c.ffn_mult > 16) {
      return bad("ffn_mult " + std::to_string(c.ffn_mult) + " is not in [1, 16]");
    }
  }
  if (c.max_batch < 1 || c.max_batch > (1 << 20)) {
    return bad("max_batch " + std::to_string(c.max_batch) + " is not in [1, 2^20]");
  }
  if (!(c.lr >= 0) || !std::isfinite(c.lr)) {
    return bad("lr must be a finite number >= 0");
  }
  if (c.device < 0 || c.green_sms < 0 || c.green_offset < 0) {
    return bad("device, green_sms and green_offset must be >= 0");
  }
  // cuBLAS takes int dimensions: the widest activation must fit.
  const double widest = static_cast<double>(c.max_batch) * c.seq * c.hidden *
                        std::max(3, c.arch == Arch::transformer ? c.ffn_mult : 1);
  if (widest > 2147483647.0) {
    return bad("max_batch x seq x hidden x width is over 2^31 elements");
  }
  return {};
}

Outcome device_count(int& count) {
  count = 0;
  return check(cudaGetDeviceCount(&count), "cudaGetDeviceCount");
}

Model::Model(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
Model::~Model() = default;

Outcome Model::create(const ModelConfig& config, std::unique_ptr<Model>& out) {
  MODEL_TRY(check_config(config));
  std::unique_ptr<Impl> impl;
  if (config.precision == Precision::fp16) {
    impl = std::make_unique<ModelImpl<__half>>(config);
  } else {
    impl = std::make_unique<ModelImpl<__nv_bfloat16>>(config);
  }
  MODEL_TRY(impl->init());
  out.reset(new Model(std::move(impl)));
  return {};
}

Outcome Model::run(int batch) {
  ModelConfig grown = m_impl->m_cfg;
  grown.max_batch = std::max(grown.max_batch, batch);
  MODEL_TRY(check_config(grown));
  return m_impl->run(batch);
}

double Model::last_run_flops() const {
  return m_impl->m_flops;
}
std::uint64_t Model::device_bytes() const {
  return m_impl->m_bytes;
}
int Model::green_sms_granted() const {
  return m_impl->m_granted;
}
Outcome Model::output_stats(double& sum, double& loss) {
  return m_impl->output_stats(sum, loss);
}
const ModelConfig& Model::config() const {
  return m_impl->m_cfg;
}

}  // namespace colo::cuda_model
