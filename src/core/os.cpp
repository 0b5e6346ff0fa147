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

bool pid_alive(pid_t pid) {
  return pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM);
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
