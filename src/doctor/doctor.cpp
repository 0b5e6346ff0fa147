#include "doctor/doctor.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>

#include "core/os.hpp"
#include "engine/engine.hpp"
#include "gpu/mps/mps_daemon.hpp"
#include "gpu/nvml/nvml_backend.hpp"
#include "launch/cgroup.hpp"
#include "launch/process.hpp"
#include "store/store.hpp"

namespace colo {
namespace {

namespace fs = std::filesystem;

Check make(std::string name, CheckLevel level, std::string detail, std::string fix = {}) {
  return Check{std::move(name), level, std::move(detail), std::move(fix)};
}

std::string first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

struct DriverFacts {
  bool present = false;
  std::string version;
};

DriverFacts check_driver(const DoctorOptions& o, std::vector<Check>& out) {
  DriverFacts d;
  const std::string file = o.root + "/proc/driver/nvidia/version";
  const std::string line = first_line(file);
  if (line.empty()) {
    out.push_back(make("driver", CheckLevel::info,
                       "no NVIDIA driver loaded (no /proc/driver/nvidia/version): no GPU on this "
                       "machine; colo runs on the simulated GPU (--gpu sim), labelled simulated"));
    return d;
  }
  d.present = true;
  d.version = line;
  out.push_back(make("driver", CheckLevel::ok, line));
  return d;
}

void check_nvml(const DoctorOptions& o, const DriverFacts& drv, std::vector<Check>& out) {
  auto b = NvmlBackend::create(o.nvml_library.empty() ? nullptr : o.nvml_library.c_str());
  if (!b) {
    if (drv.present) {
      out.push_back(make("nvml", CheckLevel::fail,
                         "the driver is loaded but NVML does not answer: " + b.error().what(),
                         "install the NVML library of the same driver version "
                         "(libnvidia-ml.so.1, Debian: libnvidia-ml1) and check that nvidia-smi "
                         "works; a version mismatch needs a reboot or a module reload"));
    } else {
      out.push_back(make("nvml", CheckLevel::info, "not available (" + b.error().what() + ")"));
    }
    return;
  }
  auto devs = (*b)->devices();
  if (!devs || devs->empty()) {
    out.push_back(make("nvml", CheckLevel::fail, "NVML loaded but lists no GPU",
                       "check nvidia-smi; the GPU may be hidden (CUDA_VISIBLE_DEVICES, a "
                       "container without --gpus) or lost (dmesg: Xid)"));
    return;
  }
  std::string list;
  for (const auto& d : *devs) {
    list += fmt::format("{}{}: {} (MIG {}, compute mode {})", list.empty() ? "" : "; ", d.index,
                        d.name, d.mig_mode, d.compute_mode);
  }
  out.push_back(make(
      "nvml", CheckLevel::ok,
      fmt::format("{} GPU(s), driver {}: {}", devs->size(), devs->front().driver_version, list)));
  for (const auto& d : *devs) {
    if (d.compute_mode != "default" && !d.compute_mode.empty()) {
      out.push_back(make("compute-mode", CheckLevel::warn,
                         fmt::format("GPU {} is in compute mode '{}': timeslice and MPS modes "
                                     "cannot put several processes on it",
                                     d.index, d.compute_mode),
                         fmt::format("nvidia-smi -i {} -c DEFAULT (needs root)", d.index)));
    }
  }
}

void check_mps_binaries(const DoctorOptions& o, const DriverFacts& drv, std::vector<Check>& out) {
  std::vector<std::string> missing;
  std::vector<std::string> found;
  for (const auto& bin : {o.mps_control, o.mps_server}) {
    auto p = resolve_executable(bin, "");
    if (p) {
      found.push_back(*p);
    } else {
      missing.push_back(bin);
    }
  }
  if (missing.empty()) {
    out.push_back(make("mps-binaries", CheckLevel::ok, fmt::format("{}", fmt::join(found, ", "))));
  } else if (!drv.present) {
    out.push_back(
        make("mps-binaries", CheckLevel::info,
             fmt::format("{} not in PATH (not needed without a GPU)", fmt::join(missing, ", "))));
  } else {
    out.push_back(make("mps-binaries", CheckLevel::warn,
                       fmt::format("{} not in PATH: the mps, green and mig-equivalent modes "
                                   "cannot run",
                                   fmt::join(missing, ", ")),
                       "install the driver's MPS tools (Debian: nvidia-cuda-mps) or add their "
                       "directory to PATH"));
  }
}

void check_mps_daemons(std::vector<Check>& out) {
  int live = 0;
  int problems = 0;
  for (const auto& p : list_mps_processes()) {
    ++live;
    const pid_t pid = p.pid;
    const pid_t owner = p.owner;
    const std::string& comm = p.comm;
    const std::string pipe = p.pipe_dir.empty() ? "/tmp/nvidia-mps (default)" : p.pipe_dir;
    if (owner > 0 && !pid_alive(owner)) {
      ++problems;
      out.push_back(make("mps-daemons", CheckLevel::fail,
                         fmt::format("{} pid {} (pipe {}) was left by colo pid {}, which is gone",
                                     comm, pid, pipe, owner),
                         fmt::format("the next `colo run` on a GPU quits it; or now: "
                                     "echo quit | CUDA_MPS_PIPE_DIRECTORY={} "
                                     "nvidia-cuda-mps-control",
                                     pipe)));
    } else if (owner <= 0) {
      ++problems;
      out.push_back(make("mps-daemons", CheckLevel::warn,
                         fmt::format("{} pid {} (pipe {}) was not started by colo: it serves "
                                     "every CUDA process of its user, also colo's solo and "
                                     "timeslice runs",
                                     comm, pid, pipe),
                         "quit it before measuring (echo quit | nvidia-cuda-mps-control, as its "
                         "owner) unless it is meant to be shared"));
    }
  }
  if (problems == 0) {
    out.push_back(make("mps-daemons", CheckLevel::ok,
                       live == 0 ? "no MPS daemon running"
                                 : fmt::format("{} MPS process(es) of a running colo", live)));
  }
}

// Mode bits that let other users in (group/other), as text: "" when none.
std::string open_to_others(const struct stat& st) {
  std::string s;
  if ((st.st_mode & 0022) != 0) {
    s = "writable by others";
  } else if ((st.st_mode & 0044) != 0) {
    s = "readable by others";
  }
  return s;
}

void check_mps_pipe_dirs(std::vector<Check>& out) {
  int problems = 0;
  const fs::path mine =
      fs::temp_directory_path() / fmt::format("colo-mps-{}", static_cast<unsigned>(::getuid()));
  std::error_code ec;
  for (const auto& d : fs::directory_iterator(mine, ec)) {
    // <pid>-<seq>: the pid of the colo that made it.
    const auto name = d.path().filename().string();
    const long owner = std::strtol(name.c_str(), nullptr, 10);
    if (owner > 0 && !pid_alive(static_cast<pid_t>(owner))) {
      ++problems;
      out.push_back(
          make("mps-pipe-dirs", CheckLevel::warn,
               fmt::format("'{}' was left by colo pid {}, which is gone", d.path().string(), owner),
               fmt::format("rm -rf '{}'", d.path().string())));
    }
  }
  struct stat st{};
  if (::stat(mine.c_str(), &st) == 0 && (st.st_uid != ::getuid() || (st.st_mode & 0077) != 0)) {
    ++problems;
    out.push_back(make("mps-pipe-dirs", CheckLevel::fail,
                       fmt::format("'{}' must be 0700 and yours (mode {:o}, owner uid {})",
                                   mine.string(), st.st_mode & 0777, st.st_uid),
                       fmt::format("rm -rf '{}' (colo recreates it 0700)", mine.string())));
  }
  const fs::path system_pipe = "/tmp/nvidia-mps";
  if (fs::exists(system_pipe, ec)) {
    if (list_mps_processes().empty()) {
      ++problems;
      out.push_back(make("mps-pipe-dirs", CheckLevel::warn,
                         "/tmp/nvidia-mps exists but no MPS daemon runs: CUDA programs may try "
                         "to connect to a dead daemon",
                         "rm -rf /tmp/nvidia-mps /var/log/nvidia-mps (as their owner)"));
    }
  }
  if (problems == 0) {
    out.push_back(make("mps-pipe-dirs", CheckLevel::ok, "no leftover MPS pipe directory"));
  }
}

void check_cgroup(std::vector<Check>& out) {
  const Containment& c = host_containment();
  if (c.kind == ContainmentKind::sweep) {
    out.push_back(make("cgroup", CheckLevel::warn,
                       "no writable cgroup: workloads are contained by the run-token sweep "
                       "only, which a process that clears its environment escapes (" +
                           c.reason + ")",
                       "run colo as root, or in a delegated cgroup v2 subtree, e.g. systemd-run "
                       "--user --scope -p Delegate=yes colo run ..."));
  } else {
    out.push_back(make("cgroup", CheckLevel::ok, c.describe()));
  }
  if (c.pids_base.empty()) {
    out.push_back(make("pids-limit", CheckLevel::warn,
                       "no writable pids controller: limits.pids is not enforced (a fork bomb "
                       "in a workload is not bounded)",
                       "delegate the pids controller (cgroup v2: echo +pids > "
                       "<parent>/cgroup.subtree_control) or run as root"));
  } else {
    out.push_back(make("pids-limit", CheckLevel::ok, "limits.pids enforced in " + c.pids_base));
  }
}

void check_path_private(const std::string& what, const std::string& path, std::vector<Check>& out,
                        int& problems) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) {
    return;
  }
  if (st.st_uid != ::geteuid()) {
    ++problems;
    out.push_back(make("permissions", CheckLevel::fail,
                       fmt::format("{} '{}' belongs to uid {}, not to you (uid {})", what, path,
                                   st.st_uid, ::geteuid()),
                       fmt::format("use a results directory of your own (--results DIR)")));
    return;
  }
  const std::string open = open_to_others(st);
  if (!open.empty()) {
    ++problems;
    const bool writable = (st.st_mode & 0022) != 0;
    out.push_back(
        make("permissions", writable ? CheckLevel::fail : CheckLevel::warn,
             fmt::format("{} '{}' is {} (mode {:o})", what, path, open, st.st_mode & 0777),
             fmt::format("chmod -R go-rwx '{}'", path)));
  }
}

void check_store(const DoctorOptions& o, std::vector<Check>& out) {
  const std::string db = store_path(o.results_dir);
  std::error_code ec;
  if (!fs::exists(db, ec)) {
    out.push_back(make("store", CheckLevel::info, fmt::format("no store at '{}' yet", db)));
  } else {
    auto store = Store::open(db, OpenMode::read_only);
    if (!store) {
      out.push_back(make("store", CheckLevel::fail,
                         fmt::format("cannot open '{}': {}", db, store.error().what()),
                         "keep a copy, then try: sqlite3 colo.db .recover | sqlite3 "
                         "recovered.db (or move it aside to start a new store)"));
    } else if (auto problems = store->integrity_check(); !problems) {
      out.push_back(make("store", CheckLevel::fail, problems.error().what(),
                         "keep a copy, then try: sqlite3 colo.db .recover | sqlite3 recovered.db"));
    } else if (!problems->empty()) {
      out.push_back(
          make("store", CheckLevel::fail,
               fmt::format("'{}' fails PRAGMA integrity_check: {}", db, problems->front()),
               "keep a copy, then try: sqlite3 colo.db .recover | sqlite3 recovered.db"));
    } else {
      out.push_back(make(
          "store", CheckLevel::ok,
          fmt::format("'{}': PRAGMA integrity_check ok (schema {})", db, store->schema_version())));
    }
  }
  int problems = 0;
  check_path_private("results directory", o.results_dir, out, problems);
  check_path_private("store", db, out, problems);
  check_path_private("logs directory", o.results_dir + "/logs", out, problems);
  check_path_private("state directory", user_state_dir(), out, problems);
  if (problems == 0) {
    out.push_back(make("permissions", CheckLevel::ok,
                       "results, logs and state directories are yours and private (or absent)"));
  }
}

}  // namespace

const char* to_string(CheckLevel level) {
  switch (level) {
    case CheckLevel::ok:
      return "ok";
    case CheckLevel::info:
      return "info";
    case CheckLevel::warn:
      return "warn";
    case CheckLevel::fail:
      return "FAIL";
  }
  return "?";
}

std::vector<Check> run_doctor(const DoctorOptions& opts) {
  std::vector<Check> out;
  const DriverFacts drv = check_driver(opts, out);
  check_nvml(opts, drv, out);
  check_mps_binaries(opts, drv, out);
  check_mps_daemons(out);
  check_mps_pipe_dirs(out);
  check_cgroup(out);
  check_store(opts, out);
  return out;
}

std::string render_checks(const std::vector<Check>& checks) {
  std::string s;
  int fails = 0;
  int warns = 0;
  for (const auto& c : checks) {
    s += fmt::format("{:<5} {}: {}\n", to_string(c.level), c.name, c.detail);
    if (!c.fix.empty()) {
      s += fmt::format("      fix: {}\n", c.fix);
    }
    fails += c.level == CheckLevel::fail ? 1 : 0;
    warns += c.level == CheckLevel::warn ? 1 : 0;
  }
  s += fails == 0 && warns == 0
           ? "colo doctor: no problems found\n"
           : fmt::format("colo doctor: {} problem(s), {} warning(s)\n", fails, warns);
  return s;
}

int doctor_exit_code(const std::vector<Check>& checks) {
  for (const auto& c : checks) {
    if (c.level == CheckLevel::fail) {
      return 1;
    }
  }
  return 0;
}

}  // namespace colo
