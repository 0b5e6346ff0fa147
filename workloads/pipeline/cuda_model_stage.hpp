#pragma once
// The `cuda-model` pipeline stage (docs/pipeline.md): a native CUDA model (workloads/cuda/
// model.cuh) per stage thread, built before the start barrier (weights and buffers are init
// time). A query runs one forward pass (mode infer) or training step (mode train) over `batch`
// x its samples sequences; a batch from a batching stage runs as one pass over all of them.
// The device is CUDA device 0 of the process (colo sets CUDA_VISIBLE_DEVICES); COLO_GREEN_SMS and
// COLO_GREEN_OFFSET (colo's green-context mode) put the models in a green context of that many
// SMs. Only in colo-pipeline builds with CUDA (library colo_pipeline_cuda).
#include <memory>

#include "pipeline/stage.hpp"

namespace colo::pipeline {

// A StageFactory for StageEnv::cuda_model. Fails (ErrorCode::gpu) when a model cannot be built:
// no device, out of memory (the message says which), a green context refused.
Result<std::unique_ptr<Stage>> make_cuda_model_stage(const StageConfig& config,
                                                     const StageEnv& env);

}  // namespace colo::pipeline
