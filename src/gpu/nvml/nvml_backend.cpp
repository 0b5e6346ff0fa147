#include "gpu/nvml/nvml_backend.hpp"

#include <dlfcn.h>

#include <fmt/format.h>

#include "gpu/nvml/nvml_api.hpp"

namespace colo {

struct NvmlBackend::Impl {
  using Return = nvml::Return;
  using Device = nvml::Device;
  using Memory = nvml::Memory;
  using Utilization = nvml::Utilization;
  void* handle = nullptr;
#define COLO_NVML_PTR(name, ret, params) ret(*name) params = nullptr;
  COLO_NVML_FUNCTIONS(COLO_NVML_PTR)
#undef COLO_NVML_PTR
  std::vector<nvml::Device> devices;
  std::vector<DeviceInfo> infos;

  [[nodiscard]] std::string err(nvml::Return r) const {
    return nvmlErrorString ? nvmlErrorString(r) : fmt::format("NVML error {}", r);
  }
};

NvmlBackend::NvmlBackend(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}

NvmlBackend::~NvmlBackend() {
  if (m_impl && m_impl->handle) {
    if (m_impl->nvmlShutdown) {
      m_impl->nvmlShutdown();
    }
    ::dlclose(m_impl->handle);
  }
}

Result<std::unique_ptr<NvmlBackend>> NvmlBackend::create(const char* library) {
  using namespace nvml;  // NOLINT: the X-macro list names nvml's types unqualified
  auto impl = std::make_unique<Impl>();
  impl->handle = ::dlopen(library, RTLD_NOW | RTLD_LOCAL);
  if (!impl->handle) {
    const char* e = ::dlerror();
    return fail(ErrorCode::gpu, fmt::format("cannot load {}", library), e ? e : "");
  }
#define COLO_NVML_LOAD(name, ret, params)                                                      \
  impl->name = reinterpret_cast<ret(*) params>(::dlsym(impl->handle, #name));                  \
  if (!impl->name) {                                                                           \
    ::dlclose(impl->handle);                                                                   \
    return fail(ErrorCode::gpu, fmt::format("{} lacks {} (driver too old?)", library, #name)); \
  }
  COLO_NVML_FUNCTIONS(COLO_NVML_LOAD)
#undef COLO_NVML_LOAD
  if (auto r = impl->nvmlInit_v2(); r != nvml::k_success) {
    auto msg = impl->err(r);
    ::dlclose(impl->handle);
    return fail(ErrorCode::gpu, "nvmlInit failed", msg);
  }
  unsigned int count = 0;
  if (auto r = impl->nvmlDeviceGetCount_v2(&count); r != nvml::k_success || count == 0) {
    auto msg = r == nvml::k_success ? std::string("no devices") : impl->err(r);
    impl->nvmlShutdown();
    ::dlclose(impl->handle);
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
    impl->devices.push_back(d);
    impl->infos.push_back(info);
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
  unsigned long long mj = 0;
  if (m_impl->nvmlDeviceGetTotalEnergyConsumption(d, &mj) == nvml::k_success) {
    out.push_back({"DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", static_cast<double>(mj)});
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
  return out;
}

Status NvmlBackend::check_mode(const ModeSettings& mode, const std::vector<int>& devs) {
  for (int d : devs) {
    if (d < 0 || static_cast<std::size_t>(d) >= m_impl->infos.size()) {
      return fail(ErrorCode::not_found, fmt::format("GPU {} does not exist: this machine has {}", d,
                                                    m_impl->infos.size()));
    }
  }
  if (mode.kind != ModeKind::solo && mode.kind != ModeKind::timeslice) {
    return fail(ErrorCode::unsupported,
                fmt::format("mode {} is not available on real GPUs in this version of colo "
                            "(MPS, MIG and green contexts come with the GPU layer); use "
                            "timeslice, or --gpu sim to model it",
                            mode.label()));
  }
  return {};
}

namespace {
class TimesliceSession final : public ModeSession {
 public:
  TimesliceSession(std::vector<int> devices, std::vector<std::string> uuids)
      : m_devices(std::move(devices)), m_uuids(std::move(uuids)) {}
  [[nodiscard]] std::map<std::string, std::string> client_env(const ClientPlan&,
                                                              int index) const override {
    const int d = device_for_client(m_devices, index);
    return {{"CUDA_VISIBLE_DEVICES", m_uuids[static_cast<std::size_t>(d)]},
            {"CUDA_DEVICE_ORDER", "PCI_BUS_ID"}};
  }
  Status end() override { return {}; }

 private:
  std::vector<int> m_devices;
  std::vector<std::string> m_uuids;
};
}  // namespace

Result<std::unique_ptr<ModeSession>> NvmlBackend::begin_mode(const ModeSettings& mode,
                                                             const std::vector<int>& devs,
                                                             const std::string& /*run_dir*/) {
  COLO_TRY(check_mode(mode, devs));
  std::vector<std::string> uuids;
  for (const auto& i : m_impl->infos) {
    uuids.push_back(i.uuid.empty() ? std::to_string(i.index) : i.uuid);
  }
  return std::unique_ptr<ModeSession>(std::make_unique<TimesliceSession>(devs, uuids));
}

}  // namespace colo
