#pragma once
// The `worker` stage: each of the stage's threads owns a warm worker process (e.g. a PyTorch
// model on the GPU, workloads/torch/pipeline_worker.py) speaking JSON lines on its stdin/stdout:
//   worker -> stage, once loaded:  {"ready": true}
//   stage -> worker, per query:    {"query": ID, "samples": N}
//   worker -> stage, per query:    {"ok": true}  or  {"error": "why"}
// Workers start when the stage is built (before the start barrier: model loading is init time)
// and die with the pipeline (PR_SET_PDEATHSIG; killed and reaped when the stage ends). A worker
// that exits or is cancelled at the stage timeout fails its query and is started again for the
// next one. colo's progress descriptors (COLO_PROGRESS, COLO_START) are not passed on.
#include <memory>
#include <string>

#include "pipeline/stage.hpp"

namespace colo::pipeline {

// `cmd`: the command line, split at spaces (no quoting); `ready_timeout_s`: how long a worker may
// take to say ready. Fails when a worker cannot start or does not become ready in time.
Result<std::unique_ptr<Stage>> make_worker_stage(const std::string& name, const std::string& cmd,
                                                 int workers, double ready_timeout_s);

}  // namespace colo::pipeline
