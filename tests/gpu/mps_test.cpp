// Needs an NVIDIA GPU and nvidia-cuda-mps-control; skipped (reported as skipped) elsewhere.
#include <unistd.h>

#include <gtest/gtest.h>

#include "gpu/mps/mps_daemon.hpp"
#include "gpu/nvml/nvml_backend.hpp"

namespace colo {
namespace {

TEST(MpsGpu, DaemonStartsPrivatelyAndQuitsCompletely) {
  auto b = NvmlBackend::create();
  if (!b) {
    GTEST_SKIP() << "no NVIDIA GPU: " << b.error().what();
  }
  auto devs = (*b)->devices();
  ASSERT_TRUE(devs && !devs->empty());
  EXPECT_GT((*devs)[0].sm_count, 0) << "SM count from the CUDA driver";
  const std::string dir = ::testing::TempDir() + "/colo-mps-" + std::to_string(::getpid());
  auto d = MpsDaemon::start(dir, (*devs)[0].uuid);
  if (!d && d.error().code == ErrorCode::unsupported) {
    GTEST_SKIP() << d.error().what();
  }
  ASSERT_TRUE(d) << d.error().what();
  EXPECT_FALSE(mps_processes(d->pipe_dir()).empty());
  auto env = d->client_env();
  EXPECT_EQ(env.at("CUDA_MPS_PIPE_DIRECTORY"), d->pipe_dir());
  ASSERT_TRUE(d->quit());
  EXPECT_TRUE(mps_processes(d->pipe_dir()).empty());
}

}  // namespace
}  // namespace colo
