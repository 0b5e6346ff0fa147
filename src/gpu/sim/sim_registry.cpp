#include "gpu/sim/sim_registry.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/os.hpp"
#include "core/units.hpp"

namespace colo::sim {
namespace fs = std::filesystem;
namespace {

class DirLock {
 public:
  explicit DirLock(const std::string& dir) {
    m_fd = ::open((dir + "/.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (m_fd >= 0) {
      ::flock(m_fd, LOCK_EX);
    }
  }
  ~DirLock() {
    if (m_fd >= 0) {
      ::flock(m_fd, LOCK_UN);
      ::close(m_fd);
    }
  }
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;
  [[nodiscard]] bool ok() const { return m_fd >= 0; }

 private:
  int m_fd = -1;
};

Status write_atomic(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text;
    if (!out.flush()) {
      return fail(ErrorCode::io, fmt::format("cannot write '{}'", tmp), std::strerror(errno));
    }
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    return fail(ErrorCode::io, fmt::format("cannot rename '{}'", tmp), ec.message());
  }
  return {};
}

nlohmann::json to_json(const ClientRecord& r) {
  return {{"pid", r.pid},
          {"start_time", r.start_time},
          {"label", r.label},
          {"duty", r.model.duty},
          {"sm_fraction", r.model.sm_fraction},
          {"bw_fraction", r.model.bw_fraction},
          {"sm_limit", r.model.sm_limit},
          {"mem_bytes", r.mem_bytes},
          {"active", r.active}};
}

ClientRecord from_json(const nlohmann::json& j) {
  ClientRecord r;
  r.pid = j.at("pid").get<int>();
  r.start_time = j.value("start_time", std::uint64_t{0});
  r.label = j.value("label", "");
  r.model.duty = j.at("duty").get<double>();
  r.model.sm_fraction = j.at("sm_fraction").get<double>();
  r.model.bw_fraction = j.at("bw_fraction").get<double>();
  r.model.sm_limit = j.at("sm_limit").get<double>();
  r.model.bw_limit = j.value("bw_limit", 1.0);
  r.mem_bytes = j.at("mem_bytes").get<std::uint64_t>();
  r.active = j.at("active").get<bool>();
  return r;
}

std::string client_path(const std::string& dir, int pid) {
  return fmt::format("{}/client-{}.json", dir, pid);
}

std::vector<ClientRecord> read_clients(const std::string& dir) {
  std::vector<ClientRecord> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const auto name = e.path().filename().string();
    if (name.rfind("client-", 0) != 0 || e.path().extension() != ".json") {
      continue;
    }
    std::ifstream in(e.path());
    try {
      auto r = from_json(nlohmann::json::parse(in));
      if (process_alive(r.pid, r.start_time)) {
        out.push_back(r);
      } else {
        fs::remove(e.path(), ec);
      }
    } catch (const std::exception&) {  // NOLINT(bugprone-empty-catch)
      // a record being replaced right now; the next read sees it
    }
  }
  return out;
}

}  // namespace

Status SimRegistry::init(const DeviceState& s) const {
  std::error_code ec;
  fs::create_directories(m_dir, ec);
  if (ec) {
    return fail(ErrorCode::io, fmt::format("cannot create simulated GPU directory '{}'", m_dir),
                ec.message());
  }
  {
    DirLock lock(m_dir);
    for (const auto& e : fs::directory_iterator(m_dir, ec)) {
      if (e.path().filename().string().rfind("client-", 0) == 0) {
        fs::remove(e.path(), ec);
      }
    }
  }
  nlohmann::json j{{"mode", to_string(s.mode)},
                   {"sm_count", s.sm_count},
                   {"memory_bytes", s.memory_bytes},
                   {"switch_overhead", s.contention.switch_overhead},
                   {"mps_overhead", s.contention.mps_overhead}};
  return write_atomic(m_dir + "/device.json", j.dump());
}

Result<DeviceState> SimRegistry::device() const {
  std::ifstream in(m_dir + "/device.json");
  if (!in) {
    return fail(ErrorCode::gpu, fmt::format("no simulated GPU at '{}' (COLO_SIM_GPU_DIR)", m_dir));
  }
  try {
    auto j = nlohmann::json::parse(in);
    DeviceState s;
    auto mode = parse_mode_kind(j.at("mode").get<std::string>());
    if (!mode) {
      return fail(mode.error());
    }
    s.mode = *mode;
    s.sm_count = j.at("sm_count").get<int>();
    s.memory_bytes = j.at("memory_bytes").get<std::uint64_t>();
    s.contention.switch_overhead = j.at("switch_overhead").get<double>();
    s.contention.mps_overhead = j.at("mps_overhead").get<double>();
    return s;
  } catch (const std::exception& e) {
    return fail(ErrorCode::gpu, fmt::format("corrupt simulated GPU state in '{}'", m_dir),
                e.what());
  }
}

Status SimRegistry::join(const ClientRecord& rec, std::optional<std::uint64_t> mem_limit) const {
  auto dev = device();
  if (!dev) {
    return fail(dev.error());
  }
  DirLock lock(m_dir);
  if (!lock.ok()) {
    return fail(ErrorCode::io, fmt::format("cannot lock '{}'", m_dir), std::strerror(errno));
  }
  if (mem_limit && rec.mem_bytes > *mem_limit) {
    return fail(ErrorCode::gpu,
                fmt::format("out of memory (simulated): {} requested, pinned device memory limit "
                            "is {}",
                            format_bytes(rec.mem_bytes), format_bytes(*mem_limit)));
  }
  std::uint64_t used = 0;
  for (const auto& c : read_clients(m_dir)) {
    used += c.mem_bytes;
  }
  if (used + rec.mem_bytes > dev->memory_bytes) {
    return fail(ErrorCode::gpu,
                fmt::format("out of memory (simulated): {} requested, {} of {} already in use",
                            format_bytes(rec.mem_bytes), format_bytes(used),
                            format_bytes(dev->memory_bytes)));
  }
  return write_atomic(client_path(m_dir, rec.pid), to_json(rec).dump());
}

Status SimRegistry::update(const ClientRecord& rec) const {
  return write_atomic(client_path(m_dir, rec.pid), to_json(rec).dump());
}

void SimRegistry::leave(int pid) const {
  std::error_code ec;
  fs::remove(client_path(m_dir, pid), ec);
}

Result<std::vector<ClientRecord>> SimRegistry::clients() const {
  return read_clients(m_dir);
}

ClientRecord client_from_env(std::string label, SimClient model, std::uint64_t mem_bytes) {
  const auto limit = [](const char* name) {
    const char* v = std::getenv(name);
    const double d = v ? std::atof(v) : 1.0;
    return d > 0 && d <= 1 ? d : 1.0;
  };
  ClientRecord rec;
  rec.pid = static_cast<int>(::getpid());
  rec.start_time = process_start_time(::getpid()).value_or(0);
  rec.label = std::move(label);
  rec.model = model;
  rec.model.sm_limit = limit("COLO_SIM_SM_LIMIT");
  rec.model.bw_limit = limit("COLO_SIM_BW_LIMIT");
  rec.mem_bytes = mem_bytes;
  return rec;
}

std::optional<std::uint64_t> mem_limit_from_env() {
  if (const char* ml = std::getenv("COLO_SIM_MEM_LIMIT")) {
    return std::strtoull(ml, nullptr, 10);
  }
  return std::nullopt;
}

double client_speed(const SimRegistry& registry, const DeviceState& device, int pid) {
  auto clients = registry.clients();
  if (!clients) {
    return 1.0;
  }
  std::vector<SimClient> active;
  int self = -1;
  for (const auto& c : *clients) {
    if (c.active) {
      if (c.pid == pid) {
        self = static_cast<int>(active.size());
      }
      active.push_back(c.model);
    }
  }
  if (self < 0) {
    return 1.0;
  }
  return speed_factors(active, device.mode, device.contention)[static_cast<std::size_t>(self)];
}

}  // namespace colo::sim
