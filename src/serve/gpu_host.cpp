#include "serve/gpu_host.hpp"

#include <fmt/format.h>

namespace colo::serve {
namespace {

class DaemonMps final : public MpsServer {
 public:
  explicit DaemonMps(MpsDaemon d) : m_daemon(std::move(d)) {}
  [[nodiscard]] std::map<std::string, std::string> client_env() const override {
    return m_daemon.client_env();
  }
  [[nodiscard]] std::vector<MpsFault> faults() const override { return m_daemon.faults(); }
  Status quit() override { return m_daemon.quit(); }

 private:
  MpsDaemon m_daemon;
};

// The simulated GPU has no MPS daemon: its clients need no pipe directory and nothing faults.
class SimulatedMps final : public MpsServer {
 public:
  [[nodiscard]] std::map<std::string, std::string> client_env() const override { return {}; }
  [[nodiscard]] std::vector<MpsFault> faults() const override { return {}; }
  Status quit() override { return {}; }
};

class BackendGpuHost final : public GpuHost {
 public:
  explicit BackendGpuHost(std::unique_ptr<GpuBackend> b) : m_backend(std::move(b)) {}
  [[nodiscard]] bool simulated() const override { return m_backend->simulated(); }
  Result<std::vector<DeviceInfo>> devices() override { return m_backend->devices(); }
  Result<std::vector<Metric>> sample(int device) override { return m_backend->sample(device); }
  Result<std::unique_ptr<MpsServer>> start_mps(int device, const std::string& dir) override {
    if (m_backend->simulated()) {
      return std::unique_ptr<MpsServer>(std::make_unique<SimulatedMps>());
    }
    auto devs = m_backend->devices();
    if (!devs) {
      return fail(devs.error());
    }
    if (device < 0 || device >= static_cast<int>(devs->size())) {
      return fail(ErrorCode::invalid_argument,
                  fmt::format("no GPU {} on this host ({} GPU(s))", device, devs->size()));
    }
    auto d = MpsDaemon::start(dir, (*devs)[static_cast<std::size_t>(device)].uuid);
    if (!d) {
      return fail(d.error());
    }
    return std::unique_ptr<MpsServer>(std::make_unique<DaemonMps>(std::move(*d)));
  }

 private:
  std::unique_ptr<GpuBackend> m_backend;
};

}  // namespace

std::unique_ptr<GpuHost> make_gpu_host(std::unique_ptr<GpuBackend> backend) {
  return std::make_unique<BackendGpuHost>(std::move(backend));
}

}  // namespace colo::serve
