#include "pipeline/stage.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <mutex>
#include <set>
#include <stdexcept>

#include "core/units.hpp"
#include "gpu/sim/sim_registry.hpp"
#include "pipeline/worker_stage.hpp"

namespace colo::pipeline {

namespace fs = std::filesystem;

namespace {

struct ParamSpec {
  std::string name;
  enum class Type { number, integer, size, text, duration } type;  // duration: lo, hi in seconds
  double lo;
  double hi;
};

const std::map<std::string, std::vector<ParamSpec>>& param_table() {
  static const std::map<std::string, std::vector<ParamSpec>> k_table{
      {"noop", {}},
      {"batch",
       {{"max_batch", ParamSpec::Type::integer, 1, 1'000'000},
        {"max_wait", ParamSpec::Type::duration, 0, 3600}}},
      {"sleep", {{"ms", ParamSpec::Type::number, 0, 3.6e6}}},
      {"fail", {{"every", ParamSpec::Type::integer, 1, 1e12}}},
      {"loader",
       {{"path", ParamSpec::Type::text, 0, 0}, {"max_bytes", ParamSpec::Type::size, 1, 1e12}}},
      {"preprocess",
       {{"size", ParamSpec::Type::integer, 1, 4096},
        {"passes", ParamSpec::Type::integer, 1, 1000}}},
      {"sim-model",
       {{"step-ms", ParamSpec::Type::number, 0.001, 600000},
        {"duty", ParamSpec::Type::number, 0.001, 1},
        {"sm", ParamSpec::Type::number, 0.001, 1},
        {"bw", ParamSpec::Type::number, 0, 1},
        {"mem", ParamSpec::Type::size, 0, 1e15}}},
      {"worker",
       {{"cmd", ParamSpec::Type::text, 0, 0},
        {"ready_timeout", ParamSpec::Type::number, 0.1, 3600}}},
      {"cuda-model",
       {{"model", ParamSpec::Type::text, 0, 0},
        {"mode", ParamSpec::Type::text, 0, 0},
        {"precision", ParamSpec::Type::text, 0, 0},
        {"hidden", ParamSpec::Type::integer, 8, 65536},
        {"layers", ParamSpec::Type::integer, 1, 1000},
        {"seq", ParamSpec::Type::integer, 1, 65536},
        {"heads", ParamSpec::Type::integer, 1, 1024},
        {"batch", ParamSpec::Type::integer, 1, 65536},
        {"seed", ParamSpec::Type::integer, 0, 1e15},
        {"lr", ParamSpec::Type::number, 0, 1}}},
  };
  return k_table;
}

double number_param(const std::map<std::string, std::string>& p, const std::string& key,
                    double def) {
  auto it = p.find(key);
  return it == p.end() ? def : std::strtod(it->second.c_str(), nullptr);
}

class NoopStage final : public Stage {
 public:
  Status process(QueryRecord&) override { return {}; }
};

class BatchStage final : public Stage {
 public:
  explicit BatchStage(BatchPolicy policy) : m_policy(policy) {}
  Status process(QueryRecord&) override { return {}; }
  [[nodiscard]] std::optional<BatchPolicy> batching() const override { return m_policy; }

 private:
  BatchPolicy m_policy;
};

class SleepStage final : public Stage {
 public:
  SleepStage(const StageEnv& env, double ms) : m_env(env), m_ms(ms) {}
  Status process(QueryRecord& q) override {
    const Nanos until = m_env.clock->now() + Nanos(static_cast<std::int64_t>(m_ms * 1e6));
    if (!m_env.waiter->wait_until(until, q.cancel.value)) {
      return fail(ErrorCode::interrupted, "cancelled");
    }
    return {};
  }

 private:
  StageEnv m_env;
  double m_ms;
};

class FailStage final : public Stage {
 public:
  explicit FailStage(std::int64_t every) : m_every(every) {}
  Status process(QueryRecord& q) override {
    if ((q.id + 1) % m_every == 0) {
      throw std::runtime_error(fmt::format("injected failure (every {} queries)", m_every));
    }
    return {};
  }

 private:
  std::int64_t m_every;
};

class LoaderStage final : public Stage {
 public:
  LoaderStage(std::vector<std::string> files, std::uint64_t max_bytes)
      : m_files(std::move(files)), m_max(max_bytes) {}
  Status process(QueryRecord& q) override {
    const auto& path = m_files[static_cast<std::size_t>(q.id) % m_files.size()];
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      return fail(ErrorCode::io, fmt::format("cannot read '{}'", path));
    }
    q.payload.resize(static_cast<std::size_t>(m_max));
    in.read(reinterpret_cast<char*>(q.payload.data()), static_cast<std::streamsize>(m_max));
    q.payload.resize(static_cast<std::size_t>(in.gcount()));
    return {};
  }

 private:
  std::vector<std::string> m_files;
  std::uint64_t m_max;
};

// Decode (a byte transform standing in for JPEG decoding), 2x2 box resize and per-channel
// normalisation of a (2 size) x (2 size) RGB image to size x size floats.
class PreprocessStage final : public Stage {
 public:
  PreprocessStage(int size, int passes) : m_size(size), m_passes(passes) {}
  Status process(QueryRecord& q) override {
    const auto side = static_cast<std::size_t>(m_size) * 2;
    std::vector<std::uint8_t> img(side * side * 3);
    for (std::size_t i = 0; i < img.size(); ++i) {
      const std::uint8_t src = q.payload.empty() ? static_cast<std::uint8_t>(i * 31 + q.id)
                                                 : q.payload[i % q.payload.size()];
      img[i] = static_cast<std::uint8_t>((src ^ 0x5a) + (i >> 7));
    }
    const auto s = static_cast<std::size_t>(m_size);
    std::vector<float> out(s * s * 3);
    constexpr float k_mean[3] = {0.485F, 0.456F, 0.406F};
    constexpr float k_std[3] = {0.229F, 0.224F, 0.225F};
    for (int pass = 0; pass < m_passes; ++pass) {
      for (std::size_t y = 0; y < s; ++y) {
        for (std::size_t x = 0; x < s; ++x) {
          for (std::size_t c = 0; c < 3; ++c) {
            const auto at = [&](std::size_t yy, std::size_t xx) {
              return static_cast<float>(img[(yy * side + xx) * 3 + c]);
            };
            const float v = (at(2 * y, 2 * x) + at(2 * y, 2 * x + 1) + at(2 * y + 1, 2 * x) +
                             at(2 * y + 1, 2 * x + 1)) /
                            (4.0F * 255.0F);
            out[(y * s + x) * 3 + c] = (v - k_mean[c]) / k_std[c];
          }
        }
      }
    }
    // The tensor is what the next stage gets.
    q.payload.resize(out.size() * sizeof(float));
    std::memcpy(q.payload.data(), out.data(), q.payload.size());
    return {};
  }

 private:
  int m_size;
  int m_passes;
};

// The model on the simulated GPU: a query takes step-ms / speed, the speed the contention model
// gives this process among the simulated clients active on the device (re-read every 50 ms).
class SimModelStage final : public Stage {
 public:
  SimModelStage(const StageEnv& env, sim::SimRegistry registry, sim::DeviceState device,
                sim::ClientRecord rec, double step_ms)
      : m_env(env),
        m_registry(std::move(registry)),
        m_device(device),
        m_rec(std::move(rec)),
        m_step_ms(step_ms) {}
  SimModelStage(const SimModelStage&) = delete;
  SimModelStage& operator=(const SimModelStage&) = delete;
  ~SimModelStage() override { m_registry.leave(m_rec.pid); }

  void on_start() override {
    m_rec.active = true;
    (void)m_registry.update(m_rec);
  }
  void on_stop() override {
    m_rec.active = false;
    (void)m_registry.update(m_rec);
  }
  Status process(QueryRecord& q) override {
    const Nanos now = m_env.clock->now();
    double speed = 1.0;
    {
      std::lock_guard lock(m_mutex);
      if (now - m_speed_at > Nanos(50'000'000) || m_speed_at == Nanos(0)) {
        m_speed = sim::client_speed(m_registry, m_device, m_rec.pid);
        m_speed_at = now;
      }
      speed = m_speed;
    }
    const Nanos until = now + Nanos(static_cast<std::int64_t>(m_step_ms * 1e6 / speed));
    if (!m_env.waiter->wait_until(until, q.cancel.value)) {
      return fail(ErrorCode::interrupted, "cancelled");
    }
    return {};
  }

 private:
  StageEnv m_env;
  sim::SimRegistry m_registry;
  sim::DeviceState m_device;
  sim::ClientRecord m_rec;
  double m_step_ms;
  std::mutex m_mutex;
  double m_speed = 1.0;
  Nanos m_speed_at{0};
};

Result<std::unique_ptr<Stage>> make_loader(const StageConfig& c) {
  const auto& path = c.params.at("path");
  std::error_code ec;
  if (!fs::is_directory(path, ec)) {
    return fail(ErrorCode::not_found,
                fmt::format("stage '{}': dataset path '{}' is not a directory{}", c.name, path,
                            fs::exists(path, ec) ? "" : " (it does not exist)"));
  }
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(path, ec)) {
    if (e.is_regular_file(ec)) {
      files.push_back(e.path().string());
    }
  }
  if (files.empty()) {
    return fail(ErrorCode::not_found,
                fmt::format("stage '{}': dataset path '{}' holds no files", c.name, path));
  }
  std::sort(files.begin(), files.end());
  std::uint64_t max = std::uint64_t{1} << 20;
  if (auto it = c.params.find("max_bytes"); it != c.params.end()) {
    max = parse_bytes(it->second).value_or(max);
  }
  return std::make_unique<LoaderStage>(std::move(files), max);
}

Result<std::unique_ptr<Stage>> make_sim_model(const StageConfig& c, const StageEnv& env) {
  if (env.sim_gpu_dir.empty()) {
    return fail(ErrorCode::unsupported,
                fmt::format("stage '{}': sim-model runs only on colo's simulated GPU "
                            "(COLO_SIM_GPU_DIR is not set: colo run --gpu sim)",
                            c.name));
  }
  sim::SimRegistry registry(env.sim_gpu_dir);
  auto device = registry.device();
  if (!device) {
    return fail(device.error());
  }
  sim::SimClient model;
  model.duty = number_param(c.params, "duty", 0.6);
  model.sm_fraction = number_param(c.params, "sm", 0.3);
  model.bw_fraction = number_param(c.params, "bw", 0.2);
  std::uint64_t mem = std::uint64_t{4} << 30;
  if (auto it = c.params.find("mem"); it != c.params.end()) {
    mem = parse_bytes(it->second).value_or(mem);
  }
  auto rec = sim::client_from_env(env.workload.empty() ? "pipeline" : env.workload, model, mem);
  if (auto joined = registry.join(rec, sim::mem_limit_from_env()); !joined) {
    return fail(ErrorCode::gpu, fmt::format("stage '{}': simulated CUDA error: {}", c.name,
                                            joined.error().message));
  }
  return std::make_unique<SimModelStage>(env, std::move(registry), *device, std::move(rec),
                                         number_param(c.params, "step-ms", 20));
}

// The cuda-model stage's choices and shape rules (workloads/cuda/model.cuh checks the same at
// build time of the model; this is the check colo can make without CUDA, at planning).
Status check_cuda_model_params(const std::map<std::string, std::string>& p) {
  const auto choice = [&](const char* key, std::initializer_list<const char*> allowed) -> Status {
    auto it = p.find(key);
    if (it == p.end()) {
      return {};
    }
    for (const char* a : allowed) {
      if (it->second == a) {
        return {};
      }
    }
    return fail(ErrorCode::invalid_argument, fmt::format("{}: '{}' is not one of {}", key,
                                                         it->second, fmt::join(allowed, ", ")));
  };
  COLO_TRY(choice("model", {"mlp", "transformer"}));
  COLO_TRY(choice("mode", {"infer", "train"}));
  COLO_TRY(choice("precision", {"bf16", "fp16"}));
  const auto hidden = static_cast<long>(number_param(p, "hidden", 1024));
  const auto heads = static_cast<long>(number_param(p, "heads", 16));
  if (hidden % 8 != 0) {
    return fail(ErrorCode::invalid_argument,
                fmt::format("hidden: {} is not a multiple of 8", hidden));
  }
  if (p.count("model") && p.at("model") == "mlp") {
    return {};
  }
  if (hidden % heads != 0 || (hidden / heads) % 8 != 0) {
    return fail(ErrorCode::invalid_argument,
                fmt::format("hidden {} / heads {}: the head width must be a whole multiple of 8",
                            hidden, heads));
  }
  return {};
}

}  // namespace

std::vector<std::string> known_stage_kinds() {
  std::vector<std::string> out;
  for (const auto& [k, v] : param_table()) {
    out.push_back(k);
  }
  return out;
}

Status check_stage_params(const std::string& kind, const std::map<std::string, std::string>& p) {
  auto it = param_table().find(kind);
  if (it == param_table().end()) {
    return fail(ErrorCode::invalid_argument, fmt::format("unknown stage '{}'", kind));
  }
  const auto& specs = it->second;
  for (const auto& [key, value] : p) {
    auto s = std::find_if(specs.begin(), specs.end(),
                          [&](const ParamSpec& ps) { return ps.name == key; });
    if (s == specs.end()) {
      std::vector<std::string> names;
      for (const auto& ps : specs) {
        names.push_back(ps.name);
      }
      return fail(ErrorCode::invalid_argument,
                  fmt::format("stage kind '{}' has no parameter '{}' (known: {})", kind, key,
                              names.empty() ? std::string("none")
                                            : fmt::format("{}", fmt::join(names, ", "))));
    }
    double v = 0;
    bool ok = true;
    if (s->type == ParamSpec::Type::size) {
      auto b = parse_bytes(value);
      ok = b.has_value();
      v = ok ? static_cast<double>(*b) : 0;
    } else if (s->type == ParamSpec::Type::duration) {
      auto d = parse_duration(value);
      ok = d.has_value();
      v = ok ? d->count() : 0;
    } else if (s->type != ParamSpec::Type::text) {
      char* end = nullptr;
      v = std::strtod(value.c_str(), &end);
      ok = !value.empty() && *end == '\0' && std::isfinite(v) &&
           (s->type != ParamSpec::Type::integer || v == std::floor(v));
    }
    if (ok && s->type != ParamSpec::Type::text && (v < s->lo || v > s->hi)) {
      ok = false;
    }
    if (!ok) {
      return fail(ErrorCode::invalid_argument,
                  fmt::format("{}: '{}' is not {} in [{}, {}]", key, value,
                              s->type == ParamSpec::Type::integer    ? "an integer"
                              : s->type == ParamSpec::Type::size     ? "a size"
                              : s->type == ParamSpec::Type::duration ? "a duration (s)"
                                                                     : "a number",
                              s->lo, s->hi));
    }
  }
  if (kind == "worker" &&
      (!p.count("cmd") || p.at("cmd").find_first_not_of(' ') == std::string::npos)) {
    return fail(ErrorCode::invalid_argument, "a worker needs 'cmd' (the worker's command line)");
  }
  if (kind == "loader" && !p.count("path")) {
    return fail(ErrorCode::invalid_argument, "a loader needs 'path' (the dataset directory)");
  }
  if (kind == "cuda-model") {
    return check_cuda_model_params(p);
  }
  return {};
}

Result<std::unique_ptr<Stage>> make_stage(const StageConfig& c, const StageEnv& env) {
  COLO_TRY(check_stage_params(c.kind, c.params));
  if (c.kind == "noop") {
    return std::make_unique<NoopStage>();
  }
  if (c.kind == "batch") {
    BatchPolicy policy;
    policy.max_batch = static_cast<int>(number_param(c.params, "max_batch", policy.max_batch));
    if (auto it = c.params.find("max_wait"); it != c.params.end()) {
      policy.max_wait =
          std::chrono::duration_cast<Nanos>(parse_duration(it->second).value_or(Seconds(0.002)));
    }
    return std::make_unique<BatchStage>(policy);
  }
  if (c.kind == "sleep") {
    return std::make_unique<SleepStage>(env, number_param(c.params, "ms", 1));
  }
  if (c.kind == "fail") {
    return std::make_unique<FailStage>(
        static_cast<std::int64_t>(number_param(c.params, "every", 1)));
  }
  if (c.kind == "loader") {
    return make_loader(c);
  }
  if (c.kind == "worker") {
    return make_worker_stage(c.name, c.params.at("cmd"), c.threads,
                             number_param(c.params, "ready_timeout", 300));
  }
  if (c.kind == "cuda-model") {
    if (!env.cuda_model) {
      return fail(ErrorCode::unsupported,
                  fmt::format("stage '{}': colo-pipeline was built without CUDA (nvcc was not "
                              "found at build time): stage kind 'cuda-model' is not available",
                              c.name));
    }
    return env.cuda_model(c, env);
  }
  if (c.kind == "preprocess") {
    return std::make_unique<PreprocessStage>(static_cast<int>(number_param(c.params, "size", 64)),
                                             static_cast<int>(number_param(c.params, "passes", 1)));
  }
  return make_sim_model(c, env);
}

}  // namespace colo::pipeline
