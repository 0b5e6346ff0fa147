// The native CUDA models (workloads/cuda/model.cuh) and colo-pipeline's cuda-model stage on a
// real GPU. Label gpu; every test is skipped (reported as skipped) without a CUDA device.
// Elsewhere than its build tree: COLO_TEST_BIN_DIR=DIR (colo-pipeline's directory).
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "cuda/model.cuh"

namespace colo::cuda_model {
namespace {

// Why there is no usable CUDA device ("" when there is one).
std::string no_gpu() {
  int n = 0;
  const Outcome o = device_count(n);
  return o.ok() && n > 0 ? ""
                         : "no CUDA device: " + (o.ok() ? std::string("0 devices") : o.message);
}

// Skips the calling test (GTEST_SKIP returns from the test body, so this is a macro).
#define SKIP_WITHOUT_GPU()             \
  do {                                 \
    const std::string why_ = no_gpu(); \
    if (!why_.empty()) {               \
      GTEST_SKIP() << why_;            \
    }                                  \
  } while (0)

ModelConfig small(Arch arch, Mode mode, Precision precision) {
  ModelConfig c;
  c.arch = arch;
  c.mode = mode;
  c.precision = precision;
  c.hidden = 256;
  c.layers = 2;
  c.seq = 32;
  c.heads = 4;
  c.max_batch = 2;
  c.lr = 1e-2F;
  return c;
}

TEST(CudaModel, BadConfigsAreRefusedWithoutTouchingTheGpu) {
  ModelConfig c;
  c.hidden = 1000;
  c.heads = 16;
  const Outcome o = check_config(c);
  EXPECT_EQ(o.kind, ErrorKind::invalid_argument);
  EXPECT_NE(o.message.find("hidden 1000"), std::string::npos) << o.message;
  c = ModelConfig{};
  c.layers = 0;
  EXPECT_FALSE(check_config(c).ok());
  std::unique_ptr<Model> m;
  EXPECT_EQ(Model::create(c, m).kind, ErrorKind::invalid_argument);
  EXPECT_EQ(m, nullptr);
}

TEST(CudaModel, InferenceIsFiniteAndReproducible) {
  SKIP_WITHOUT_GPU();
  for (Arch arch : {Arch::mlp, Arch::transformer}) {
    for (Precision p : {Precision::bf16, Precision::fp16}) {
      std::array<double, 2> sums{};
      for (double& sum : sums) {
        std::unique_ptr<Model> m;
        const Outcome made = Model::create(small(arch, Mode::infer, p), m);
        ASSERT_TRUE(made.ok()) << made.message;
        const Outcome ran = m->run(2);
        ASSERT_TRUE(ran.ok()) << ran.message;
        EXPECT_GT(m->last_run_flops(), 0);
        EXPECT_GT(m->device_bytes(), 0U);
        double loss = 0;
        ASSERT_TRUE(m->output_stats(sum, loss).ok());
        EXPECT_TRUE(std::isfinite(sum) && std::isfinite(loss) && loss > 0);
      }
      EXPECT_EQ(sums[0], sums[1]) << "same seed, same output";
    }
  }
}

TEST(CudaModel, TrainingLowersTheLossAndGrowsPastMaxBatch) {
  SKIP_WITHOUT_GPU();
  for (Arch arch : {Arch::mlp, Arch::transformer}) {
    std::unique_ptr<Model> m;
    const Outcome made = Model::create(small(arch, Mode::train, Precision::bf16), m);
    ASSERT_TRUE(made.ok()) << made.message;
    double sum = 0;
    double first = 0;
    double last = 0;
    ASSERT_TRUE(m->run(2).ok());
    ASSERT_TRUE(m->output_stats(sum, first).ok());
    for (int i = 0; i < 30; ++i) {
      const Outcome ran = m->run(2);
      ASSERT_TRUE(ran.ok()) << ran.message;
    }
    ASSERT_TRUE(m->output_stats(sum, last).ok());
    EXPECT_LT(last, first) << (arch == Arch::mlp ? "mlp" : "transformer")
                           << ": SGD on sum(y^2)/2n must lower it";
    const double flops_2 = m->last_run_flops();
    const Outcome grown = m->run(5);  // more than max_batch: the buffers grow
    ASSERT_TRUE(grown.ok()) << grown.message;
    EXPECT_GT(m->last_run_flops(), 2 * flops_2);
  }
}

TEST(CudaModel, OutOfMemoryIsAnErrorNamingTheCall) {
  SKIP_WITHOUT_GPU();
  ModelConfig c;
  c.arch = Arch::mlp;
  c.hidden = 65536;
  c.layers = 1000;  // 8 TB of weights
  std::unique_ptr<Model> m;
  const Outcome o = Model::create(c, m);
  EXPECT_EQ(o.kind, ErrorKind::out_of_memory) << o.message;
  EXPECT_NE(o.message.find("cudaMalloc"), std::string::npos) << o.message;
}

TEST(CudaModelStage, ColoPipelineRunsATransformerAndReportsLatency) {
  SKIP_WITHOUT_GPU();
  // COLO_TEST_BIN_DIR: where colo-pipeline is when this binary runs away from its build tree.
  const char* bin = std::getenv("COLO_TEST_BIN_DIR");
  const std::string cmd =
      std::string(bin != nullptr ? bin : COLO_BIN_DIR) +
      "/colo-pipeline --config '{\"stages\": [{\"name\": \"m\", \"kind\": \"cuda-model\", "
      "\"params\": {\"model\": \"transformer\", \"hidden\": 256, \"layers\": 2, \"seq\": 64, "
      "\"heads\": 4}}], \"load\": {\"kind\": \"closed\", \"max_queries\": 50}}' 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  std::array<char, 4096> buf{};
  while (std::fgets(buf.data(), buf.size(), p) != nullptr) {
    out += buf.data();
  }
  const int rc = ::pclose(p);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("50 queries"), std::string::npos) << out;
  EXPECT_NE(out.find(", 0 dropped, 0 failed"), std::string::npos) << out;
}

}  // namespace
}  // namespace colo::cuda_model
