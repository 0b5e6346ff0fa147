#pragma once
// colo's native CUDA models (library colo_cuda_model, built only where nvcc is found): an MLP
// and a stack of transformer blocks with random weights, run as inference (forward pass) or
// training (forward, backward, SGD update) on cuBLAS tensor-core GEMMs (fp16 or bf16 storage,
// fp32 accumulation) and a few kernels of their own (bias + GELU, layer norm, softmax, their
// gradients). Real GPU work, no sleeps. Used by colo-pipeline's `cuda-model` stage and by colo
// serve's builtin functions.
//
// Plain C++17: no CUDA type in this header, so C++ callers compile without nvcc (they link
// colo_cuda_model, which brings the CUDA runtime, cuBLAS and the driver library).
//
// Shapes (row-major, tokens = batch x seq):
//   mlp          `layers` x [x = GELU(x W + b)], W: hidden x hidden (no GELU after the last);
//                every token of every sample is one row.
//   transformer  `layers` x pre-norm blocks: x += Wo attn(LN(x) Wqkv + bqkv) + bo;
//                x += W2 GELU(LN(x) W1 + b1) + b2; attention is full (not causal) over the
//                seq tokens of each sample, `heads` heads of hidden/heads; W1: hidden x ffn,
//                ffn = ffn_mult x hidden; layer norm without learned scale and shift.
//   train        loss = sum(y^2) / (2 tokens) of the last layer's output y; the backward pass
//                computes every weight's and bias's gradient (layer norm and softmax included)
//                and applies SGD (w -= lr g) to every weight and bias; the input is fixed.
//
// Thread-safety: a Model is used by one thread at a time (it owns one CUDA stream and one cuBLAS
// handle); several Models may run on several threads at once, e.g. one per stage thread.
// Errors: never an abort or exit; every CUDA or cuBLAS failure comes back as an Outcome whose
// message names the call ("cublasGemmEx (layer 2 qkv): CUBLAS_STATUS_EXECUTION_FAILED"). After a
// gpu_fault the device context is unusable (a CUDA sticky error); build no new Model in the
// process. Stable interface: add fields with defaults, never change the meaning of one.
#include <cstdint>
#include <memory>
#include <string>

namespace colo::cuda_model {

enum class Arch { mlp, transformer };
enum class Mode { infer, train };
enum class Precision { fp16, bf16 };

struct ModelConfig {
  Arch arch = Arch::transformer;
  Mode mode = Mode::infer;
  Precision precision = Precision::bf16;
  int hidden = 1024;       // model width (> 0; a multiple of heads and of 8)
  int layers = 4;          // >= 1
  int seq = 128;           // tokens per sample (>= 1)
  int heads = 16;          // transformer: attention heads (hidden / heads a multiple of 8)
  int ffn_mult = 4;        // transformer: the MLP's inner width is ffn_mult x hidden
  int max_batch = 1;       // samples per run() the buffers are sized for at create(); run() grows
                           // them when asked for more
  std::uint64_t seed = 1;  // weights and input, reproducible
  float lr = 1e-4F;        // train: SGD learning rate
  int device = 0;          // CUDA device ordinal (among CUDA_VISIBLE_DEVICES)
  // > 0: run in a green context of this many SMs (rounded up to the device's partition size)
  // from SM green_offset (colo's COLO_GREEN_SMS / COLO_GREEN_OFFSET); one green context per
  // process and device, shared by every Model asking for one (the first one's SMs win).
  int green_sms = 0;
  int green_offset = 0;
};

enum class ErrorKind {
  none,
  invalid_argument,  // a bad ModelConfig or batch (nothing was allocated)
  out_of_memory,     // cudaErrorMemoryAllocation or CUBLAS_STATUS_ALLOC_FAILED
  gpu_fault,         // illegal address/instruction, launch failure: the context is lost
  cuda,              // any other CUDA, cuBLAS or driver error (no device, no green contexts...)
};

struct Outcome {
  ErrorKind kind = ErrorKind::none;
  std::string message;  // "" when ok
  [[nodiscard]] bool ok() const { return kind == ErrorKind::none; }
};

// Checks a config without touching the GPU ("hidden 1000 / heads 16 must be ...").
Outcome check_config(const ModelConfig& config);

// CUDA devices visible to this process (0 with an error without a driver or device).
Outcome device_count(int& count);

class Model {
 public:
  // Allocates the weights (uniform in +-1/sqrt(fan_in) from the seed), the input and the
  // activations for config.max_batch samples on config.device (in the green context when asked),
  // and creates the model's stream and cuBLAS handle. Sets `out` only on success.
  static Outcome create(const ModelConfig& config, std::unique_ptr<Model>& out);
  ~Model();
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  // One forward pass (infer) or training step (train) over `batch` samples (>= 1; the first
  // batch samples of the fixed input), waiting for the GPU to finish.
  Outcome run(int batch);

  // Floating-point operations of the last run's GEMMs (2 m n k each; the kernels not counted).
  [[nodiscard]] double last_run_flops() const;
  // Device memory this model holds now, bytes.
  [[nodiscard]] std::uint64_t device_bytes() const;
  // SMs of the green context the model runs in (0: none, the whole device).
  [[nodiscard]] int green_sms_granted() const;
  // The last run's output y (copied to the host): sum(y) and the training loss
  // sum(y^2) / (2 tokens). For tests: finite, reproducible, and the loss falls under training.
  Outcome output_stats(double& sum, double& loss);
  [[nodiscard]] const ModelConfig& config() const;

  struct Impl;  // opaque: model.cu's

 private:
  explicit Model(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> m_impl;
};

}  // namespace colo::cuda_model
