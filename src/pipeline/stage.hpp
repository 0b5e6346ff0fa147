#pragma once
// Pipeline stages and their registry. A stage processes one query at a time per worker thread;
// process() of one Stage object is called concurrently by its `threads` workers, so every stage
// is thread-safe. A failure is an error value or an exception (the runner catches both and fails
// the query with the stage's name). Long stages poll `q.cancel` (set at the stage timeout).
//
// Built-in kinds and their params (all optional unless said):
//   noop                      nothing (load-generator benchmarks)
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
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "pipeline/config.hpp"
#include "pipeline/events.hpp"
#include "pipeline/loadgen.hpp"

namespace colo::pipeline {

class Stage {
 public:
  virtual ~Stage() = default;
  virtual Status process(QueryRecord& q) = 0;
  // Called once by the runner when the pipeline starts (after the start barrier), and once when
  // its last query is done; e.g. the simulated model is an active GPU client only in between.
  virtual void on_start() {}
  virtual void on_stop() {}
};

// What stages may use from their process.
struct StageEnv {
  const Clock* clock = nullptr;
  Waiter* waiter = nullptr;
  std::string sim_gpu_dir;  // COLO_SIM_GPU_DIR, for sim-model ("" = not under colo's sim GPU)
  std::string workload;     // label for the simulated GPU's registry
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
