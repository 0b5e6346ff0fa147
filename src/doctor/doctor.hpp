#pragma once
// `colo doctor`: checks what colo needs from the host and says what to fix. Each check is a
// value (name, level, what was found, how to fix it); the CLI only prints them and maps the
// levels to an exit code. Reads /proc, the NVIDIA driver's files, PATH, the results store;
// changes nothing. No privileges needed (some facts read as unknown without them).
#include <string>
#include <vector>

namespace colo {

enum class CheckLevel {
  ok,    // as it should be
  info,  // a fact, not a problem (e.g. no GPU here: the simulated GPU is used)
  warn,  // colo works, with less than it could (e.g. no cgroup: the fallback containment)
  fail,  // something is wrong and should be fixed (e.g. a corrupt store, a stale MPS daemon)
};

const char* to_string(CheckLevel level);

struct Check {
  std::string name;  // "driver", "nvml", "mps-binaries", ...
  CheckLevel level = CheckLevel::ok;
  std::string detail;  // what was found
  std::string fix;     // what to do; empty for ok/info
};

struct DoctorOptions {
  std::string results_dir = "colo-results";  // its colo.db is checked when it exists
  // dlopen name or path of NVML; "" = $COLO_NVML_LIBRARY, else libnvidia-ml.so.1.
  std::string nvml_library;
  // Prefix for /proc/driver/nvidia/version (tests point it at a fake tree); "" on a real host.
  std::string root;
  std::string mps_control = "nvidia-cuda-mps-control";
  std::string mps_server = "nvidia-cuda-mps-server";
};

// Runs every check, in a fixed order: driver, nvml, mps-binaries, mps-daemons, mps-pipe-dirs,
// cgroup, pids-limit, store, permissions.
std::vector<Check> run_doctor(const DoctorOptions& opts);

// One line per check ("ok    driver: ..."), each problem followed by "      fix: ...", and a
// closing line counting problems.
std::string render_checks(const std::vector<Check>& checks);

// 1 when any check failed, else 0 (warnings do not fail: colo still works).
int doctor_exit_code(const std::vector<Check>& checks);

}  // namespace colo
