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

// One ModeSession of mode mig on one device: client `slot` is instance `slot`.
class SessionMig final : public MigInstances {
 public:
  SessionMig(std::unique_ptr<ModeSession> session, std::vector<std::string> profiles)
      : m_session(std::move(session)), m_profiles(std::move(profiles)) {}
  ~SessionMig() override { (void)destroy(); }
  SessionMig(const SessionMig&) = delete;
  SessionMig& operator=(const SessionMig&) = delete;
  [[nodiscard]] std::map<std::string, std::string> client_env(int slot) const override {
    ClientPlan c;
    c.mig_profile = m_profiles.at(static_cast<std::size_t>(slot));
    return m_session->client_env(c, slot);
  }
  Status destroy() override {
    if (m_ended) {
      return {};
    }
    m_ended = true;
    return m_session->end();
  }

 private:
  std::unique_ptr<ModeSession> m_session;
  std::vector<std::string> m_profiles;
  bool m_ended = false;
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
  Result<std::unique_ptr<MigInstances>> create_mig(int device,
                                                   const std::vector<std::string>& profiles,
                                                   const std::string& dir) override {
    ModeSettings mode;
    mode.kind = ModeKind::mig;
    mode.mig_layout = profiles;
    auto session = m_backend->begin_mode(mode, {device}, dir);
    if (!session) {
      return fail(session.error());
    }
    return std::unique_ptr<MigInstances>(
        std::make_unique<SessionMig>(std::move(*session), profiles));
  }

 private:
  std::unique_ptr<GpuBackend> m_backend;
};

}  // namespace

Result<std::unique_ptr<MigInstances>> GpuHost::create_mig(int device,
                                                          const std::vector<std::string>& profiles,
                                                          const std::string& dir) {
  (void)profiles;
  (void)dir;
  return fail(ErrorCode::unsupported,
              fmt::format("this GPU host cannot create MIG instances (GPU {})", device));
}

std::unique_ptr<GpuHost> make_gpu_host(std::unique_ptr<GpuBackend> backend) {
  return std::make_unique<BackendGpuHost>(std::move(backend));
}

}  // namespace colo::serve
