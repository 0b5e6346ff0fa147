#pragma once
// Pipeline stages and their registry. A stage processes one query at a time per worker thread;
// process() of one Stage object is called concurrently by its `threads` workers, so every stage
// is thread-safe. A failure is an error value or an exception (the runner catches both and fails
// the query with the stage's name). Long stages poll `q.cancel` (set at the stage timeout).
//
// Built-in kinds and their params (all optional unless said):
//   noop                      nothing (load-generator benchmarks)
//   batch      max_batch (8), max_wait (2ms)
//                             collects up to max_batch queries, waiting at most max_wait after
//                             the first, for the next stages (BatchPolicy; the runner does it)
//   sleep      ms             waits `ms` (number >= 0) on the runner's Waiter; honours cancel
//   fail       every          throws on every `every`-th query (integer >= 1; tests, demos)
//   loader     path (required), max_bytes
//                             reads the files of directory `path` (sorted, round-robin by query
//                             id) into the query's payload, at most max_bytes (size) of each
//   preprocess size, passes   decode/resize/normalize of a synthetic 8-bit RGB image (or the
//                             payload's bytes) to size x size floats, `passes` times (CPU work)
//   sim-model  step-ms, duty, sm, bw, mem
//                             a model on the simulated GPU (colo-sim-gpu's model): each query
//                             takes step-ms divided by the contention model's speed given the
//                             other simulated clients; needs COLO_SIM_GPU_DIR. Simulated.
//   worker     cmd (required), ready_timeout
//                             a warm worker process per stage thread speaking JSON lines
//                             (worker_stage.hpp), e.g. a PyTorch model on a real GPU
//   cuda-model model (mlp|transformer), mode (infer|train), precision (bf16|fp16), hidden,
//              layers, seq, heads, batch, seed, lr
//                             a native CUDA model (workloads/cuda/model.cuh), one per stage
//                             thread; built by StageEnv::cuda_model (colo-pipeline built with
//                             nvcc), refused without it
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "pipeline/config.hpp"
#include "pipeline/events.hpp"
#include "pipeline/loadgen.hpp"

namespace colo::pipeline {

// A batching stage's policy: the runner collects up to max_batch queries, waiting at most
// max_wait (on the runner's Clock) after the first one, and sends them on together.
struct BatchPolicy {
  int max_batch = 8;
  Nanos max_wait{2'000'000};
};

class Stage {
 public:
  virtual ~Stage() = default;
  virtual Status process(QueryRecord& q) = 0;
  // A batching stage returns its policy; the runner then batches for it (process is not called).
  [[nodiscard]] virtual std::optional<BatchPolicy> batching() const { return std::nullopt; }
  // A stage that serves a batch in one go (a model) returns true; the runner then calls
  // process_batch with every query of a batch (a single query when nothing batches before it)
  // and fails them all on an error. Other stages get process() per query of a batch.
  [[nodiscard]] virtual bool takes_batches() const { return false; }
  virtual Status process_batch(const std::vector<QueryRecord*>& batch) {
    for (QueryRecord* q : batch) {
      COLO_TRY(process(*q));
    }
    return {};
  }
  // Called once by the runner when the pipeline starts (after the start barrier), and once when
  // its last query is done; e.g. the simulated model is an active GPU client only in between.
  virtual void on_start() {}
  virtual void on_stop() {}
};

struct StageEnv;
using StageFactory =
    std::function<Result<std::unique_ptr<Stage>>(const StageConfig&, const StageEnv&)>;

// What stages may use from their process.
struct StageEnv {
  const Clock* clock = nullptr;
  Waiter* waiter = nullptr;
  std::string sim_gpu_dir;  // COLO_SIM_GPU_DIR, for sim-model ("" = not under colo's sim GPU)
  std::string workload;     // label for the simulated GPU's registry
  // Builds `cuda-model` stages (set by a colo-pipeline built with CUDA; empty: refused).
  StageFactory cuda_model;
  // Called (from a stage thread) when a stage can serve nothing more: a GPU fault that lost the
  // device context. `kind` is a progress-protocol error kind (oom, gpu_fault, ...). May be empty.
  std::function<void(const std::string& kind, const std::string& message)> on_fatal;
};

// The kinds make_stage knows, sorted.
std::vector<std::string> known_stage_kinds();
// Checks a kind's params (names and values) without touching files or devices.
Status check_stage_params(const std::string& kind, const std::map<std::string, std::string>& p);
// Builds a stage; fails for what only shows at start (a missing dataset directory, no simulated
// GPU, its memory full).
Result<std::unique_ptr<Stage>> make_stage(const StageConfig& config, const StageEnv& env);

// A stage from a function (tests and benchmarks).
class FunctionStage final : public Stage {
 public:
  explicit FunctionStage(std::function<Status(QueryRecord&)> f) : m_f(std::move(f)) {}
  Status process(QueryRecord& q) override { return m_f(q); }

 private:
  std::function<Status(QueryRecord&)> m_f;
};

}  // namespace colo::pipeline
