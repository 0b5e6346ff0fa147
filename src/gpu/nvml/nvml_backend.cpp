#include "gpu/nvml/nvml_backend.hpp"

#include <unistd.h>

#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>

#include "gpu/cuda/cuda_driver.hpp"
#include "gpu/mig/mig_profiles.hpp"
#include "gpu/mode/mode_env.hpp"
#include "gpu/mps/mps_daemon.hpp"
#include "gpu/nvml/nvml_api.hpp"
#include "gpu/nvml/nvml_library.hpp"
#include "gpu/nvml/nvml_mig.hpp"

namespace colo {

namespace {
// The profiles of a MIG layout whose clients land on `device` (clients spread round-robin over
// `devices`, as device_for_client), in client order.
std::vector<std::string> mig_layout_on(const std::vector<std::string>& layout,
                                       const std::vector<int>& devices, int device) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < layout.size(); ++i) {
    if (device_for_client(devices, static_cast<int>(i)) == device) {
      out.push_back(layout[i]);
    }
  }
  return out;
}
}  // namespace

NvmlBackend::NvmlBackend(std::unique_ptr<nvml::Library> impl) : m_impl(std::move(impl)) {}

NvmlBackend::~NvmlBackend() = default;

Result<std::unique_ptr<NvmlBackend>> NvmlBackend::create(const char* library) {
  auto loaded = nvml::Library::load(library);
  if (!loaded) {
    return fail(loaded.error());
  }
  auto impl = std::move(*loaded);
  unsigned int count = 0;
  if (auto r = impl->nvmlDeviceGetCount_v2(&count); r != nvml::k_success || count == 0) {
    auto msg = r == nvml::k_success ? std::string("no devices") : impl->err(r);
    return fail(ErrorCode::gpu, "NVML found no GPU", msg);
  }
  char driver[96] = {};
  impl->nvmlSystemGetDriverVersion(driver, sizeof(driver));
  for (unsigned int i = 0; i < count; ++i) {
    nvml::Device d = nullptr;
    if (impl->nvmlDeviceGetHandleByIndex_v2(i, &d) != nvml::k_success) {
      continue;
    }
    DeviceInfo info;
    info.index = static_cast<int>(i);
    char buf[96] = {};
    if (impl->nvmlDeviceGetName(d, buf, sizeof(buf)) == nvml::k_success) {
      info.name = buf;
    }
    char uuid[96] = {};
    if (impl->nvmlDeviceGetUUID(d, uuid, sizeof(uuid)) == nvml::k_success) {
      info.uuid = uuid;
    }
    nvml::Memory mem{};
    if (impl->nvmlDeviceGetMemoryInfo(d, &mem) == nvml::k_success) {
      info.memory_bytes = mem.total;
    }
    unsigned int cur = 0;
    unsigned int pend = 0;
    const auto mr = impl->nvmlDeviceGetMigMode(d, &cur, &pend);
    info.mig_mode = mr == nvml::k_success ? (cur ? "enabled" : "disabled") : "unsupported";
    int cm = 0;
    if (impl->nvmlDeviceGetComputeMode(d, &cm) == nvml::k_success) {
      static const char* k_modes[] = {"default", "exclusive_thread", "prohibited",
                                      "exclusive_process"};
      info.compute_mode = cm >= 0 && cm < 4 ? k_modes[cm] : "unknown";
    }
    info.driver_version = driver;
    nvml::Library::Gpm g;
    if (impl->nvmlGpmQueryDeviceSupport && impl->nvmlGpmSampleAlloc && impl->nvmlGpmSampleGet &&
        impl->nvmlGpmMetricsGet && impl->nvmlGpmSampleFree) {
      nvml::GpmSupport sup{nvml::k_gpm_support_version, 0};
      if (impl->nvmlGpmQueryDeviceSupport(d, &sup) == nvml::k_success && sup.isSupportedDevice &&
          impl->nvmlGpmSampleAlloc(&g.a) == nvml::k_success &&
          impl->nvmlGpmSampleAlloc(&g.b) == nvml::k_success) {
        g.supported = true;
      }
    }
    impl->gpm.push_back(g);
    impl->devices.push_back(d);
    impl->infos.push_back(info);
  }
  // SM counts come from the CUDA driver (NVML has no such query).
  if (auto cuda = CudaDriver::create()) {
    for (auto& info : impl->infos) {
      if (auto a = (*cuda)->attributes(info.uuid)) {
        info.sm_count = a->sm_count;
      }
    }
  }
  return std::unique_ptr<NvmlBackend>(new NvmlBackend(std::move(impl)));
}

Result<std::vector<DeviceInfo>> NvmlBackend::devices() {
  return m_impl->infos;
}

Result<std::vector<Metric>> NvmlBackend::sample(int device) {
  if (device < 0 || static_cast<std::size_t>(device) >= m_impl->devices.size()) {
    return fail(ErrorCode::gpu, fmt::format("GPU {} does not exist", device));
  }
  auto d = m_impl->devices[static_cast<std::size_t>(device)];
  std::vector<Metric> out;
  nvml::Utilization u{};
  auto r = m_impl->nvmlDeviceGetUtilizationRates(d, &u);
  if (r != nvml::k_success && r != nvml::k_not_supported) {
    return fail(ErrorCode::gpu, fmt::format("GPU {} stopped answering", device), m_impl->err(r));
  }
  if (r == nvml::k_success) {
    out.push_back({"DCGM_FI_DEV_GPU_UTIL", static_cast<double>(u.gpu)});
    out.push_back({"DCGM_FI_DEV_MEM_COPY_UTIL", static_cast<double>(u.memory)});
  }
  nvml::Memory mem{};
  if (m_impl->nvmlDeviceGetMemoryInfo(d, &mem) == nvml::k_success) {
    out.push_back({"DCGM_FI_DEV_FB_USED", static_cast<double>(mem.used) / (1024.0 * 1024.0)});
    out.push_back({"DCGM_FI_DEV_FB_TOTAL", static_cast<double>(mem.total) / (1024.0 * 1024.0)});
  }
  unsigned int mw = 0;
  if (m_impl->nvmlDeviceGetPowerUsage(d, &mw) == nvml::k_success) {
    out.push_back({"DCGM_FI_DEV_POWER_USAGE", mw / 1000.0});
  }
  // The energy counter costs ~3 ms a read on the H100 (bench_nvml), 50x the rest together; it
  // is cumulative, so reading it at most every k_energy_period loses nothing but resolution.
  if (m_impl->energy_due(static_cast<std::size_t>(device))) {
    unsigned long long mj = 0;
    if (m_impl->nvmlDeviceGetTotalEnergyConsumption(d, &mj) == nvml::k_success) {
      out.push_back({"DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", static_cast<double>(mj)});
    }
  }
  unsigned int mhz = 0;
  if (m_impl->nvmlDeviceGetClockInfo(d, nvml::k_clock_sm, &mhz) == nvml::k_success) {
    out.push_back({"DCGM_FI_DEV_SM_CLOCK", static_cast<double>(mhz)});
  }
  if (m_impl->nvmlDeviceGetClockInfo(d, nvml::k_clock_mem, &mhz) == nvml::k_success) {
    out.push_back({"DCGM_FI_DEV_MEM_CLOCK", static_cast<double>(mhz)});
  }
  unsigned int temp = 0;
  if (m_impl->nvmlDeviceGetTemperature(d, nvml::k_temperature_gpu, &temp) == nvml::k_success) {
    out.push_back({"DCGM_FI_DEV_GPU_TEMP", static_cast<double>(temp)});
  }
  unsigned long long reasons = 0;
  if (m_impl->nvmlDeviceGetCurrentClocksEventReasons &&
      m_impl->nvmlDeviceGetCurrentClocksEventReasons(d, &reasons) == nvml::k_success) {
    out.push_back({"DCGM_FI_DEV_CLOCKS_EVENT_REASONS", static_cast<double>(reasons)});
  }
  if (m_impl->nvmlDeviceGetComputeRunningProcesses_v3) {
    nvml::ProcessInfo procs[128] = {};
    unsigned int n = 128;
    if (m_impl->nvmlDeviceGetComputeRunningProcesses_v3(d, &n, procs) == nvml::k_success) {
      for (unsigned int i = 0; i < n && i < 128; ++i) {
        out.push_back({"colo.process_gpu_mem_bytes", static_cast<double>(procs[i].usedGpuMemory),
                       static_cast<int>(procs[i].pid)});
      }
    }
  }
  std::lock_guard lock(m_impl->gpm_mutex);
  auto& g = m_impl->gpm[static_cast<std::size_t>(device)];
  if (g.supported && m_impl->nvmlGpmSampleGet(d, g.b) == nvml::k_success) {
    if (g.have_previous) {
      static const std::pair<unsigned int, const char*> k_gpm[] = {
          {nvml::k_gpm_sm_util, "DCGM_FI_PROF_SM_ACTIVE"},
          {nvml::k_gpm_sm_occupancy, "DCGM_FI_PROF_SM_OCCUPANCY"},
          {nvml::k_gpm_any_tensor_util, "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE"},
          {nvml::k_gpm_dram_bw_util, "DCGM_FI_PROF_DRAM_ACTIVE"},
          {nvml::k_gpm_fp64_util, "DCGM_FI_PROF_PIPE_FP64_ACTIVE"},
          {nvml::k_gpm_fp32_util, "DCGM_FI_PROF_PIPE_FP32_ACTIVE"},
          {nvml::k_gpm_fp16_util, "DCGM_FI_PROF_PIPE_FP16_ACTIVE"},
          {nvml::k_gpm_pcie_tx, "DCGM_FI_PROF_PCIE_TX_BYTES"},
          {nvml::k_gpm_pcie_rx, "DCGM_FI_PROF_PCIE_RX_BYTES"},
          {nvml::k_gpm_nvlink_tx, "DCGM_FI_PROF_NVLINK_TX_BYTES"},
          {nvml::k_gpm_nvlink_rx, "DCGM_FI_PROF_NVLINK_RX_BYTES"},
      };
      auto get = std::make_unique<nvml::GpmMetricsGet>();
      get->version = nvml::k_gpm_metrics_get_version;
      get->numMetrics = static_cast<unsigned int>(std::size(k_gpm));
      get->sample1 = g.a;
      get->sample2 = g.b;
      for (std::size_t i = 0; i < std::size(k_gpm); ++i) {
        get->metrics[i].metricId = k_gpm[i].first;
      }
      if (m_impl->nvmlGpmMetricsGet(get.get()) == nvml::k_success) {
        for (std::size_t i = 0; i < std::size(k_gpm); ++i) {
          const auto& m = get->metrics[i];
          if (m.nvmlReturn != nvml::k_success) {
            continue;
          }
          // *_UTIL metrics are percentages; DCGM's PROF fields are ratios. PCIe/NVLink are MiB/s.
          const bool rate = k_gpm[i].first >= nvml::k_gpm_pcie_tx;
          out.push_back({k_gpm[i].second, rate ? m.value * 1024.0 * 1024.0 : m.value / 100.0});
        }
      }
    }
    std::swap(g.a, g.b);
    g.have_previous = true;
  }
  return out;
}

Result<std::vector<MigProfile>> NvmlBackend::mig_table(int device) {
  if (auto it = m_mig_tables.find(device); it != m_mig_tables.end()) {
    return it->second;
  }
  const auto& info = m_impl->infos.at(static_cast<std::size_t>(device));
  auto shipped = mig_profiles_for(info.name);
  auto read =
      nvml::read_mig_profiles(*m_impl, device, shipped ? *shipped : std::vector<MigProfile>{});
  if (read) {
    return m_mig_tables[device] = std::move(*read);
  }
  if (!shipped) {
    return fail(shipped.error());
  }
  return m_mig_tables[device] = std::move(*shipped);
}

Status NvmlBackend::check_mode(const ModeSettings& mode, const std::vector<int>& devs) {
  for (int d : devs) {
    if (d < 0 || static_cast<std::size_t>(d) >= m_impl->infos.size()) {
      return fail(ErrorCode::not_found, fmt::format("GPU {} does not exist: this machine has {}", d,
                                                    m_impl->infos.size()));
    }
  }
  for (int d : devs) {
    const auto& info = m_impl->infos[static_cast<std::size_t>(d)];
    switch (mode.kind) {
      case ModeKind::solo:
      case ModeKind::timeslice:
        break;
      case ModeKind::mps:
        if (info.compute_mode == "prohibited" || info.compute_mode == "exclusive_thread") {
          return fail(ErrorCode::unsupported,
                      fmt::format("GPU {} is in compute mode {}; MPS needs default or "
                                  "exclusive_process",
                                  d, info.compute_mode));
        }
        break;
      case ModeKind::green:
        COLO_TRY(check_green_sms(mode, info.sm_count > 0 ? info.sm_count : 4096, d));
        break;
      case ModeKind::mig:
      case ModeKind::mig_equivalent: {
        auto table = mig_table(d);
        if (!table) {
          return fail(table.error());
        }
        if (mode.kind == ModeKind::mig_equivalent) {
          COLO_TRY(place_mig_layout(*table, mode.mig_layout));
        } else {
          if (info.mig_mode != "enabled") {
            const auto hint = mps_equivalents_hint(*table, mode.mig_layout, info.sm_count);
            return fail(ErrorCode::unsupported,
                        fmt::format("GPU {} has MIG mode {} and colo does not change it; use mode "
                                    "mig-equivalent with the same layout (MPS limits per profile: "
                                    "{})",
                                    d, info.mig_mode, hint));
          }
          if (!nvml::has_mig_api(*m_impl)) {
            return fail(ErrorCode::unsupported,
                        fmt::format("GPU {} has MIG enabled but this driver's NVML lacks the MIG "
                                    "instance functions",
                                    d));
          }
          COLO_TRY(place_mig_layout(*table, mig_layout_on(mode.mig_layout, devs, d)));
        }
        break;
      }
    }
  }
  return {};
}

namespace {

// Per-client environment for every mode but mig: the mode layer's (device UUID, MPS limits,
// green SMs) plus, under MPS, the daemon's pipe and log directories.
class DeviceSession final : public ModeSession {
 public:
  DeviceSession(ModeSettings mode, ModeDevices devices, std::vector<std::string> uuids,
                std::map<int, MpsDaemon> daemons = {})
      : m_mode(std::move(mode)),
        m_devices(std::move(devices)),
        m_uuids(std::move(uuids)),
        m_daemons(std::move(daemons)) {}
  ~DeviceSession() override { (void)end(); }
  DeviceSession(const DeviceSession&) = delete;
  DeviceSession& operator=(const DeviceSession&) = delete;

  [[nodiscard]] std::map<std::string, std::string> client_env(const ClientPlan& c,
                                                              int index) const override {
    const auto s = client_share(m_mode, c, index, m_devices);
    auto env = share_env(s, m_uuids[static_cast<std::size_t>(s.device)]);
    env["CUDA_DEVICE_ORDER"] = "PCI_BUS_ID";
    if (auto it = m_daemons.find(s.device); s.mps && it != m_daemons.end()) {
      env.merge(it->second.client_env());
    }
    return env;
  }

  Status end() override {
    Status result;
    for (auto& [d, daemon] : m_daemons) {
      (void)d;
      if (auto st = daemon.quit(); !st && result) {
        result = st;
      }
    }
    return result;
  }

  [[nodiscard]] std::vector<ClientFault> faults() const override {
    std::vector<ClientFault> out;
    for (const auto& [d, daemon] : m_daemons) {
      (void)d;
      for (const auto& f : daemon.faults()) {
        out.push_back({f.pid, f.message});
      }
    }
    return out;
  }

 private:
  ModeSettings m_mode;
  ModeDevices m_devices;
  std::vector<std::string> m_uuids;
  std::map<int, MpsDaemon> m_daemons;
};

// MIG: each client runs in its own MIG instance (CUDA_VISIBLE_DEVICES=MIG-<uuid>), created for
// the run on each device and destroyed at its end.
class MigSession final : public ModeSession {
 public:
  MigSession(ModeSettings mode, ModeDevices devices,
             std::map<int, std::unique_ptr<nvml::MigLayout>> layouts)
      : m_mode(std::move(mode)), m_devices(std::move(devices)), m_layouts(std::move(layouts)) {}
  ~MigSession() override { (void)end(); }
  MigSession(const MigSession&) = delete;
  MigSession& operator=(const MigSession&) = delete;

  [[nodiscard]] std::map<std::string, std::string> client_env(const ClientPlan& c,
                                                              int index) const override {
    const auto s = client_share(m_mode, c, index, m_devices);
    std::size_t slot = 0;
    for (int i = 0; i < index; ++i) {
      slot += device_for_client(m_devices.devices, i) == s.device ? 1 : 0;
    }
    return share_env(s, m_layouts.at(s.device)->instances().at(slot).uuid);
  }

  Status end() override {
    Status result;
    for (auto& [d, layout] : m_layouts) {
      (void)d;
      if (auto st = layout->destroy(); !st && result) {
        result = st;
      }
    }
    return result;
  }

 private:
  ModeSettings m_mode;
  ModeDevices m_devices;
  std::map<int, std::unique_ptr<nvml::MigLayout>> m_layouts;
};

}  // namespace

Result<std::unique_ptr<ModeSession>> NvmlBackend::begin_mode(const ModeSettings& mode,
                                                             const std::vector<int>& devs,
                                                             const std::string& run_dir) {
  COLO_TRY(check_mode(mode, devs));
  std::vector<std::string> uuids;
  for (const auto& i : m_impl->infos) {
    uuids.push_back(i.uuid.empty() ? std::to_string(i.index) : i.uuid);
  }
  if (devs.empty()) {
    return fail(ErrorCode::invalid_argument, "a run needs at least one GPU");
  }
  ModeDevices md{devs, m_impl->infos[static_cast<std::size_t>(devs.front())].sm_count, {}};
  if (mode.kind == ModeKind::mig || mode.kind == ModeKind::mig_equivalent) {
    auto t = mig_table(devs.front());  // checked by check_mode
    if (!t) {
      return fail(t.error());
    }
    md.mig_table = std::move(*t);
  }
  if (mode.kind == ModeKind::mig) {
    std::map<int, std::unique_ptr<nvml::MigLayout>> layouts;
    for (int d : devs) {
      if (layouts.count(d)) {
        continue;
      }
      const auto& info = m_impl->infos[static_cast<std::size_t>(d)];
      auto table = mig_table(d);  // checked by check_mode
      if (!table) {
        return fail(table.error());
      }
      auto placed = place_mig_layout(*table, mig_layout_on(mode.mig_layout, devs, d));
      if (!placed) {
        return fail(placed.error());
      }
      auto layout =
          nvml::MigLayout::create(*m_impl, d, *table, *placed, nvml::mig_state_file(info.uuid));
      if (!layout) {
        return fail(layout.error());  // layouts already made are destroyed by their destructors
      }
      layouts.emplace(d, std::move(*layout));
    }
    return std::unique_ptr<ModeSession>(
        std::make_unique<MigSession>(mode, std::move(md), std::move(layouts)));
  }
  if (!uses_mps(mode)) {
    return std::unique_ptr<ModeSession>(
        std::make_unique<DeviceSession>(mode, std::move(md), uuids));
  }
  std::map<int, MpsDaemon> daemons;
  for (int d : devs) {
    if (daemons.count(d)) {
      continue;
    }
    auto daemon = MpsDaemon::start(fmt::format("{}/mps/dev{}", run_dir, d),
                                   uuids[static_cast<std::size_t>(d)]);
    if (!daemon) {
      return fail(daemon.error());  // daemons already started quit in their destructors
    }
    daemons.emplace(d, std::move(*daemon));
  }
  return std::unique_ptr<ModeSession>(
      std::make_unique<DeviceSession>(mode, std::move(md), uuids, std::move(daemons)));
}

}  // namespace colo
