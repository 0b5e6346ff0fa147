// colo-serve-cuda: colo serve's builtin functions (kind builtin, docs/serve.md), a warm worker
// speaking the line protocol: one task per line on stdin ({"id", "attempt", "input"}), one answer
// per line on stdout. Built only where nvcc is found.
//   colo-serve-cuda gemm        --size N --chain K    cuBLAS fp16 GEMM chain (tensor cores);
//                                                      input {"chain": K} overrides K per task
//   colo-serve-cuda transformer --hidden H --heads A --seq S --batch B --layers L
//                                                      forward pass of L transformer blocks
//                                                      (colo_cuda_model); input {"batch": B}
//   colo-serve-cuda fault                              a burst of tiny kernels; input
//                                                      {"fault": true} writes to an illegal
//                                                      address (the MPS fault tests)
// The GPU: CUDA_VISIBLE_DEVICES (colo sets it per partition); COLO_GREEN_SMS /
// COLO_GREEN_OFFSET: a green context of that many SMs. Answers {"result": {"function", "gemms"
// or "batch", "gpu_s", "tflops"}}; a CUDA error answers {"error": "...", "exit": true} and
// exits 1 (the context may be lost: colo starts a new worker). Exit 2: bad arguments.
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <string>

#include "colo/green_context.hpp"
#include "kernels.hpp"
#ifdef COLO_HAVE_CUDA_MODEL
#include "cuda/model.cuh"
#endif

namespace {

namespace ck = colo::cuda_kernels;
using nlohmann::json;

// One loaded function: runs one task's input, returns the result or throws Failure.
struct Failure {
  std::string message;
};

class Function {
 public:
  virtual ~Function() = default;
  virtual json run(const json& input) = 0;
};

void check(const ck::Outcome& o) {
  if (!o.ok()) {
    throw Failure{o.message};
  }
}

long field(const json& input, const char* key, long fallback, long max) {
  if (!input.is_object() || !input.contains(key)) {
    return fallback;
  }
  const auto& v = input.at(key);
  if (!v.is_number_integer() || v.get<long>() < 1 || v.get<long>() > max) {
    throw std::invalid_argument(std::string("input.") + key + " must be an integer in 1.." +
                                std::to_string(max));
  }
  return v.get<long>();
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

class Gemm final : public Function {
 public:
  Gemm(int size, long chain) : m_chain(chain) { check(ck::GemmChain::create(size, m_gemm)); }
  json run(const json& input) override {
    const long chain = field(input, "chain", m_chain, 100000);
    const auto t0 = std::chrono::steady_clock::now();
    check(m_gemm->run(chain));
    const double s = seconds_since(t0);
    return {{"function", "gemm"},
            {"gemms", chain},
            {"gpu_s", s},
            {"tflops", m_gemm->flops_per_gemm() * static_cast<double>(chain) / s / 1e12}};
  }

 private:
  long m_chain;
  std::unique_ptr<ck::GemmChain> m_gemm;
};

class Fault final : public Function {
 public:
  Fault() { check(ck::TinyKernels::create(m_tiny)); }
  json run(const json& input) override {
    const bool fault = input.is_object() && input.value("fault", false);
    const auto t0 = std::chrono::steady_clock::now();
    check(m_tiny->enqueue(100));
    if (fault) {
      m_tiny->enqueue_fault();
    }
    check(ck::synchronize());
    return {{"function", "fault"}, {"faulted", false}, {"gpu_s", seconds_since(t0)}};
  }

 private:
  std::unique_ptr<ck::TinyKernels> m_tiny;
};

#ifdef COLO_HAVE_CUDA_MODEL
namespace cm = colo::cuda_model;

void check(const cm::Outcome& o) {
  if (!o.ok()) {
    throw Failure{o.message};
  }
}

class Transformer final : public Function {
 public:
  explicit Transformer(const std::map<std::string, long>& p) {
    cm::ModelConfig c;
    c.arch = cm::Arch::transformer;
    c.mode = cm::Mode::infer;
    c.hidden = static_cast<int>(p.at("--hidden"));
    c.heads = static_cast<int>(p.at("--heads"));
    c.seq = static_cast<int>(p.at("--seq"));
    c.layers = static_cast<int>(p.at("--layers"));
    c.max_batch = static_cast<int>(p.at("--batch"));
    m_batch = c.max_batch;
    if (const char* g = std::getenv("COLO_GREEN_SMS")) {
      c.green_sms = std::atoi(g);
    }
    if (const char* g = std::getenv("COLO_GREEN_OFFSET")) {
      c.green_offset = std::atoi(g);
    }
    if (auto o = cm::check_config(c); !o.ok()) {
      throw std::invalid_argument(o.message);
    }
    check(cm::Model::create(c, m_model));
  }
  json run(const json& input) override {
    const long batch = field(input, "batch", m_batch, 4096);
    const auto t0 = std::chrono::steady_clock::now();
    check(m_model->run(static_cast<int>(batch)));
    const double s = seconds_since(t0);
    return {{"function", "transformer"},
            {"batch", batch},
            {"gpu_s", s},
            {"tflops", m_model->last_run_flops() / s / 1e12}};
  }

 private:
  long m_batch = 1;
  std::unique_ptr<cm::Model> m_model;
};
#endif

std::unique_ptr<Function> load(const std::string& name, const std::map<std::string, long>& p) {
  auto get = [&](const char* k) {
    const auto it = p.find(k);
    if (it == p.end()) {
      throw std::invalid_argument(std::string("missing ") + k);
    }
    return it->second;
  };
  if (name == "gemm") {
    return std::make_unique<Gemm>(static_cast<int>(get("--size")), get("--chain"));
  }
  if (name == "fault") {
    return std::make_unique<Fault>();
  }
  if (name == "transformer") {
#ifdef COLO_HAVE_CUDA_MODEL
    for (const char* k : {"--hidden", "--heads", "--seq", "--batch", "--layers"}) {
      (void)get(k);
    }
    return std::make_unique<Transformer>(p);
#else
    throw std::invalid_argument(
        "transformer: this colo-serve-cuda was built without colo_cuda_model");
#endif
  }
  throw std::invalid_argument("unknown function '" + name + "' (gemm, transformer, fault)");
}

int serve(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: colo-serve-cuda gemm|transformer|fault [--param value]...\n");
    return 2;
  }
  std::map<std::string, long> params;
  for (int i = 2; i + 1 < argc; i += 2) {
    params[argv[i]] = std::atol(argv[i + 1]);
  }
  std::unique_ptr<Function> fn;
  try {
    if (const char* sms = std::getenv("COLO_GREEN_SMS");
        sms != nullptr && std::string(argv[1]) != "transformer") {
      const char* off = std::getenv("COLO_GREEN_OFFSET");
      const int got = colo_green::make_current_green_context(
          static_cast<unsigned>(std::atoi(sms)),
          static_cast<unsigned>(off != nullptr ? std::atoi(off) : 0));
      if (got < 0) {
        std::fprintf(stderr, "colo-serve-cuda: green context of %s SMs failed (CUresult %d)\n", sms,
                     -got);
        return 1;
      }
    }
    fn = load(argv[1], params);
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "colo-serve-cuda: %s\n", e.what());
    return 2;
  } catch (const Failure& f) {
    std::fprintf(stderr, "colo-serve-cuda: %s: CUDA error at start: %s\n", argv[1],
                 f.message.c_str());
    return 1;
  }
  std::string line;
  while (std::getline(std::cin, line)) {
    json answer;
    bool exit_after = false;
    try {
      const json task = json::parse(line);
      answer = {{"result", fn->run(task.value("input", json()))}};
    } catch (const Failure& f) {
      answer = {{"error", "CUDA error: " + f.message}, {"exit", true}};
      exit_after = true;
    } catch (const std::exception& e) {
      answer = {{"error", e.what()}};
    }
    std::cout << answer.dump() << "\n" << std::flush;
    if (exit_after) {
      std::fprintf(stderr, "colo-serve-cuda: %s\n", answer["error"].get<std::string>().c_str());
      return 1;
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return serve(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "colo-serve-cuda: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "colo-serve-cuda: unknown exception\n");
  }
  return 1;
}
