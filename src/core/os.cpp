#include "core/os.hpp"

#include <signal.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>

extern char** environ;

namespace colo {

namespace {

// The fields of /proc/<pid>/stat after "(comm)": [0] is the state (field 3). Empty when gone.
std::vector<std::string> stat_fields(pid_t pid) {
  std::ifstream in(fmt::format("/proc/{}/stat", pid));
  std::string line;
  if (!std::getline(in, line)) {
    return {};
  }
  const auto close = line.rfind(')');  // comm may itself hold ')' and spaces
  if (close == std::string::npos) {
    return {};
  }
  std::vector<std::string> out;
  std::string field;
  for (std::size_t i = close + 1; i <= line.size(); ++i) {
    if (i == line.size() || line[i] == ' ') {
      if (!field.empty()) {
        out.push_back(std::move(field));
        field.clear();
      }
    } else {
      field += line[i];
    }
  }
  return out;
}

}  // namespace

bool pid_alive(pid_t pid) {
  if (pid <= 0 || (::kill(pid, 0) != 0 && errno != EPERM)) {
    return false;
  }
  const auto f = stat_fields(pid);
  // Z: exited, not yet reaped; X: being torn down. Unreadable /proc: trust kill().
  return f.empty() || (f[0] != "Z" && f[0] != "X");
}

std::optional<std::uint64_t> process_start_time(pid_t pid) {
  const auto f = stat_fields(pid);
  if (f.size() < 20) {
    return std::nullopt;
  }
  try {
    return std::stoull(f[19]);  // field 22
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

bool process_alive(pid_t pid, std::uint64_t start_time) {
  if (!pid_alive(pid)) {
    return false;
  }
  if (start_time == 0) {
    return true;
  }
  const auto now = process_start_time(pid);
  return !now || *now == start_time;
}

bool group_alive(pid_t pgid) {
  return pgid > 0 && (::kill(-pgid, 0) == 0 || errno == EPERM);
}

std::string user_state_dir() {
  if (const char* d = std::getenv("COLO_STATE_DIR"); d && *d) {
    return d;
  }
  std::error_code ec;
  auto tmp = std::filesystem::temp_directory_path(ec);
  return fmt::format("{}/colo-state-{}", ec ? std::string("/tmp") : tmp.string(), ::getuid());
}

std::vector<std::string> merged_environment(const std::map<std::string, std::string>& overrides) {
  std::vector<std::string> out;
  for (char** e = environ; e && *e; ++e) {
    std::string kv(*e);
    const auto eq = kv.find('=');
    if (eq != std::string::npos && overrides.count(kv.substr(0, eq))) {
      continue;
    }
    out.push_back(std::move(kv));
  }
  for (const auto& [k, v] : overrides) {
    out.push_back(k + "=" + v);
  }
  return out;
}

std::vector<std::string> process_environment(pid_t pid) {
  std::ifstream in(fmt::format("/proc/{}/environ", pid), std::ios::binary);
  std::vector<std::string> out;
  std::string e;
  while (std::getline(in, e, '\0')) {
    out.push_back(e);
  }
  return out;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (auto& s : strings) {
    out.push_back(s.data());
  }
  out.push_back(nullptr);
  return out;
}

}  // namespace colo
