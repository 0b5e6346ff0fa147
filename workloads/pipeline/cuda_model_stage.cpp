#include "cuda_model_stage.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "../cuda/model.cuh"
#include "pipeline/queue.hpp"

namespace colo::pipeline {

namespace {

namespace cm = cuda_model;

int int_param(const StageConfig& c, const char* key, int def) {
  auto it = c.params.find(key);
  return it == c.params.end() ? def
                              : static_cast<int>(std::strtol(it->second.c_str(), nullptr, 10));
}

int env_int(const char* name) {
  const char* v = std::getenv(name);
  return v ? static_cast<int>(std::strtol(v, nullptr, 10)) : 0;
}

cm::ModelConfig model_config(const StageConfig& c) {
  cm::ModelConfig m;
  const auto text = [&](const char* key, const char* def) {
    auto it = c.params.find(key);
    return it == c.params.end() ? std::string(def) : it->second;
  };
  m.arch = text("model", "transformer") == "mlp" ? cm::Arch::mlp : cm::Arch::transformer;
  m.mode = text("mode", "infer") == "train" ? cm::Mode::train : cm::Mode::infer;
  m.precision = text("precision", "bf16") == "fp16" ? cm::Precision::fp16 : cm::Precision::bf16;
  m.hidden = int_param(c, "hidden", m.hidden);
  m.layers = int_param(c, "layers", m.layers);
  m.seq = int_param(c, "seq", m.seq);
  m.heads = int_param(c, "heads", m.heads);
  m.max_batch = int_param(c, "batch", 1);
  if (auto it = c.params.find("seed"); it != c.params.end()) {
    m.seed = std::strtoull(it->second.c_str(), nullptr, 10);
  }
  if (auto it = c.params.find("lr"); it != c.params.end()) {
    m.lr = std::strtof(it->second.c_str(), nullptr);
  }
  m.green_sms = env_int("COLO_GREEN_SMS");
  m.green_offset = env_int("COLO_GREEN_OFFSET");
  return m;
}

// The progress protocol's error kind of a model error (Error::context of the stage's errors).
const char* progress_kind(cm::ErrorKind kind) {
  switch (kind) {
    case cm::ErrorKind::out_of_memory:
      return "oom";
    case cm::ErrorKind::gpu_fault:
      return "gpu_fault";
    default:
      return "cuda";
  }
}

class CudaModelStage final : public Stage {
 public:
  CudaModelStage(const StageEnv& env, std::vector<std::unique_ptr<cm::Model>> models, int batch)
      : m_on_fatal(env.on_fatal),
        m_models(std::move(models)),
        m_free(m_models.size()),
        m_batch(batch) {
    for (std::size_t i = 0; i < m_models.size(); ++i) {
      std::size_t k = i;
      m_free.push(k);
    }
  }

  Status process(QueryRecord& q) override { return run(m_batch * q.samples); }

  // One pass over every sample of the batch.
  [[nodiscard]] bool takes_batches() const override { return true; }
  Status process_batch(const std::vector<QueryRecord*>& batch) override {
    int samples = 0;
    for (const QueryRecord* q : batch) {
      samples += q->samples;
    }
    return run(m_batch * samples);
  }

 private:
  Status run(int samples) {
    auto slot = m_free.pop();  // one model per stage thread: never waits long
    if (!slot) {
      return fail(ErrorCode::internal, "no model");
    }
    const auto out = m_models[*slot]->run(samples);
    std::size_t k = *slot;
    m_free.push(k);
    if (out.kind == cm::ErrorKind::gpu_fault && m_on_fatal) {
      m_on_fatal("gpu_fault", out.message);
    }
    if (!out.ok()) {
      return fail(ErrorCode::gpu, out.message, progress_kind(out.kind));
    }
    return {};
  }

  std::function<void(const std::string&, const std::string&)> m_on_fatal;
  std::vector<std::unique_ptr<cm::Model>> m_models;
  BoundedQueue<std::size_t> m_free;
  int m_batch;
};

}  // namespace

Result<std::unique_ptr<Stage>> make_cuda_model_stage(const StageConfig& c, const StageEnv& env) {
  const cm::ModelConfig config = model_config(c);
  std::vector<std::unique_ptr<cm::Model>> models;
  for (int i = 0; i < c.threads; ++i) {
    std::unique_ptr<cm::Model> m;
    const auto out = cm::Model::create(config, m);
    if (!out.ok()) {
      return fail(out.kind == cm::ErrorKind::invalid_argument ? ErrorCode::invalid_argument
                                                              : ErrorCode::gpu,
                  fmt::format("stage '{}': {}", c.name, out.message), progress_kind(out.kind));
    }
    // Two unmeasured passes before the pipeline reports ready: lazy module loading and cuBLAS's
    // first-call set-up (~100 ms, measured on the H200) must not land on the first queries.
    for (int w = 0; w < 2; ++w) {
      const auto warm = m->run(config.max_batch);
      if (!warm.ok()) {
        return fail(ErrorCode::gpu, fmt::format("stage '{}': warm-up: {}", c.name, warm.message),
                    progress_kind(warm.kind));
      }
    }
    models.push_back(std::move(m));
  }
  return std::make_unique<CudaModelStage>(env, std::move(models), config.max_batch);
}

}  // namespace colo::pipeline
