#include "gpu/sim/sim_backend.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "gpu/mig/mig_profiles.hpp"
#include "gpu/mode/mode_env.hpp"
#include "gpu/sim/sim_registry.hpp"

namespace colo::sim {
namespace {

class SimSession final : public ModeSession {
 public:
  SimSession(SimBackend& backend, ModeSettings mode, ModeDevices devices,
             std::map<int, std::string> dirs, std::map<int, std::vector<std::string>> mig = {})
      : m_backend(backend),
        m_mode(std::move(mode)),
        m_devices(std::move(devices)),
        m_dirs(std::move(dirs)),
        m_mig(std::move(mig)) {}
  ~SimSession() override { (void)end(); }
  SimSession(const SimSession&) = delete;
  SimSession& operator=(const SimSession&) = delete;

  // The mode layer's environment plus the simulated GPU's own variables (its state directory
  // and the client's SM, bandwidth and memory limits, read by colo-sim-gpu).
  [[nodiscard]] std::map<std::string, std::string> client_env(const ClientPlan& c,
                                                              int index) const override {
    const auto s = client_share(m_mode, c, index, m_devices);
    std::string visible = std::to_string(s.device);
    if (auto it = m_mig.find(s.device); s.mig && it != m_mig.end()) {
      // The client's instance: clients of a device take its instances in order (as NVML's).
      std::size_t slot = 0;
      for (int i = 0; i < index; ++i) {
        slot += device_for_client(m_devices.devices, i) == s.device ? 1 : 0;
      }
      visible = it->second.at(slot);
    }
    auto env = share_env(s, visible);
    env["COLO_SIM_GPU_DIR"] = m_dirs.at(s.device);
    env["COLO_SIMULATED_GPU"] = "1";
    env["COLO_SIM_SM_LIMIT"] = fmt::format("{:.6f}", s.sm_share);
    if (s.mig) {
      env["COLO_SIM_BW_LIMIT"] = fmt::format("{:.6f}", s.bw_share);
    }
    if (s.mem_limit) {
      env["COLO_SIM_MEM_LIMIT"] = std::to_string(*s.mem_limit);
    }
    return env;
  }

  Status end() override {
    if (!m_ended) {
      m_ended = true;
      for (int d : m_devices.devices) {
        m_backend.set_active_dir(d, {});
      }
      for (const auto& [d, uuids] : m_mig) {
        (void)uuids;
        m_backend.set_mig_instances(d, {});
      }
    }
    return {};
  }

 private:
  SimBackend& m_backend;
  ModeSettings m_mode;
  ModeDevices m_devices;
  std::map<int, std::string> m_dirs;
  std::map<int, std::vector<std::string>> m_mig;  // mode mig: the instances made, per device
  bool m_ended = false;
};

}  // namespace

SimBackend::SimBackend(SimTopology topology, const Clock& clock)
    : m_topology(std::move(topology)), m_clock(clock) {}

Result<std::vector<DeviceInfo>> SimBackend::devices() {
  std::vector<DeviceInfo> out;
  for (int i = 0; i < m_topology.devices; ++i) {
    DeviceInfo d;
    d.index = i;
    d.uuid = fmt::format("GPU-5151-0000-0000-{:012d}", i);
    d.name = m_topology.name + " (simulated)";
    d.memory_bytes = m_topology.memory_bytes;
    d.sm_count = m_topology.sm_count;
    d.mig_mode = m_topology.mig_mode;
    d.compute_mode = "default";
    d.driver_version = "simulated";
    d.simulated = true;
    out.push_back(d);
  }
  return out;
}

void SimBackend::set_active_dir(int device, std::string dir) {
  std::lock_guard lock(m_mutex);
  if (dir.empty()) {
    m_active_dirs.erase(device);
  } else {
    m_active_dirs[device] = std::move(dir);
  }
}

std::vector<std::string> SimBackend::mig_instances(int device) const {
  std::lock_guard lock(m_mutex);
  const auto it = m_mig_instances.find(device);
  return it == m_mig_instances.end() ? std::vector<std::string>{} : it->second;
}

void SimBackend::set_mig_instances(int device, std::vector<std::string> uuids) {
  std::lock_guard lock(m_mutex);
  if (uuids.empty()) {
    m_mig_instances.erase(device);
  } else {
    m_mig_instances[device] = std::move(uuids);
  }
}

Result<std::vector<Metric>> SimBackend::sample(int device) {
  if (device < 0 || device >= m_topology.devices) {
    return fail(ErrorCode::gpu, fmt::format("simulated GPU {} does not exist", device));
  }
  std::string dir;
  ModeKind mode = ModeKind::timeslice;
  {
    std::lock_guard lock(m_mutex);
    if (auto it = m_active_dirs.find(device); it != m_active_dirs.end()) {
      dir = it->second;
      mode = m_active_modes[device];
    }
  }
  std::vector<SimClient> active;
  std::uint64_t mem = 0;
  std::vector<Metric> per_process;
  if (!dir.empty()) {
    auto clients = SimRegistry(dir).clients();
    if (clients) {
      for (const auto& c : *clients) {
        mem += c.mem_bytes;
        // The model knows each client's memory: per workload, as NVML's per-process list.
        per_process.push_back(
            {"colo.process_gpu_mem_bytes", static_cast<double>(c.mem_bytes), c.pid});
        if (c.active) {
          active.push_back(c.model);
        }
      }
    }
  }
  const auto speeds = speed_factors(active, mode, m_topology.contention);
  const auto u = utilization(active, speeds, mode);
  const double load = std::max(u.sm_active, u.dram_active);
  const double power =
      m_topology.idle_power_w + (m_topology.max_power_w - m_topology.idle_power_w) * load;
  const double t = to_seconds(m_clock.now());
  double energy = 0;
  {
    std::lock_guard lock(m_mutex);
    auto& e = m_energy[device];
    if (e.last_t >= 0) {
      e.energy_mj += power * (t - e.last_t) * 1e3;
    }
    e.last_t = t;
    energy = e.energy_mj;
  }
  const double mib = 1024.0 * 1024.0;
  std::vector<Metric> out{
      {"DCGM_FI_DEV_GPU_UTIL", 100.0 * u.gpu_busy},
      {"DCGM_FI_DEV_FB_USED", static_cast<double>(mem) / mib},
      {"DCGM_FI_DEV_FB_TOTAL", static_cast<double>(m_topology.memory_bytes) / mib},
      {"DCGM_FI_DEV_POWER_USAGE", power},
      {"DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", energy},
      {"DCGM_FI_DEV_SM_CLOCK", m_topology.sm_clock_mhz},
      {"DCGM_FI_PROF_SM_ACTIVE", u.sm_active},
      {"DCGM_FI_PROF_DRAM_ACTIVE", u.dram_active},
  };
  out.insert(out.end(), per_process.begin(), per_process.end());
  return out;
}

Status SimBackend::check_mode(const ModeSettings& mode, const std::vector<int>& devs) {
  for (int d : devs) {
    if (d < 0 || d >= m_topology.devices) {
      return fail(ErrorCode::not_found,
                  fmt::format("GPU {} does not exist: the simulated GPU has {} device(s)", d,
                              m_topology.devices));
    }
  }
  if (mode.kind == ModeKind::mig || mode.kind == ModeKind::mig_equivalent) {
    auto table = mig_profiles_for(m_topology.name);
    if (!table) {
      return fail(table.error());
    }
    COLO_TRY(place_mig_layout(*table, mode.mig_layout));
    if (mode.kind == ModeKind::mig && m_topology.mig_mode != "enabled") {
      const auto hint = mps_equivalents_hint(*table, mode.mig_layout, m_topology.sm_count);
      return fail(ErrorCode::unsupported,
                  fmt::format("the simulated GPU has MIG mode {} (topology mig_mode); use mode "
                              "mig-equivalent with the same layout (MPS limits per profile: {}), "
                              "or a topology with mig_mode: enabled",
                              m_topology.mig_mode, hint));
    }
  }
  for (int d : devs) {
    COLO_TRY(check_green_sms(mode, m_topology.sm_count, d));
  }
  return {};
}

Result<std::unique_ptr<ModeSession>> SimBackend::begin_mode(const ModeSettings& mode,
                                                            const std::vector<int>& devs,
                                                            const std::string& run_dir) {
  COLO_TRY(check_mode(mode, devs));
  std::map<int, std::vector<std::string>> mig;
  if (mode.kind == ModeKind::mig) {
    std::lock_guard lock(m_mutex);
    for (std::size_t i = 0; i < mode.mig_layout.size(); ++i) {
      const int d = device_for_client(devs, static_cast<int>(i));
      if (mig.count(d) == 0 && m_mig_instances.count(d) != 0) {
        return fail(ErrorCode::busy,
                    fmt::format("simulated GPU {} already has {} MIG instance(s): destroy them "
                                "before creating another layout",
                                d, m_mig_instances[d].size()));
      }
      mig[d].push_back(fmt::format("MIG-5151{:04x}-{:04x}-{:04x}-0000-{:012x}", d, m_mig_serial,
                                   mig[d].size(), i));
    }
    ++m_mig_serial;
    for (const auto& [d, uuids] : mig) {
      m_mig_instances[d] = uuids;
    }
  }
  std::map<int, std::string> dirs;
  for (int d : devs) {
    const std::string dir = fmt::format("{}/simgpu/dev{}", run_dir, d);
    DeviceState st;
    st.mode = mode.kind == ModeKind::solo                            ? ModeKind::timeslice
              : mode.kind == ModeKind::mig_equivalent                ? ModeKind::mps
              : mode.kind == ModeKind::green && !mode.green_over_mps ? ModeKind::timeslice
                                                                     : mode.kind;
    st.sm_count = m_topology.sm_count;
    st.memory_bytes = m_topology.memory_bytes;
    st.contention = m_topology.contention;
    if (auto ok = SimRegistry(dir).init(st); !ok) {
      std::lock_guard lock(m_mutex);
      for (const auto& [md, uuids] : mig) {
        (void)uuids;
        m_mig_instances.erase(md);
      }
      return fail(ok.error());
    }
    dirs[d] = dir;
    std::lock_guard lock(m_mutex);
    m_active_dirs[d] = dir;
    m_active_modes[d] = st.mode;
  }
  ModeDevices md{devs, m_topology.sm_count, {}};
  if (mode.kind == ModeKind::mig || mode.kind == ModeKind::mig_equivalent) {
    md.mig_table = *mig_profiles_for(m_topology.name);  // checked by check_mode
  }
  return std::unique_ptr<ModeSession>(
      std::make_unique<SimSession>(*this, mode, std::move(md), std::move(dirs), std::move(mig)));
}

}  // namespace colo::sim
