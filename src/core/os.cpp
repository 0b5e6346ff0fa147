#include "core/os.hpp"

#include <signal.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>

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

}  // namespace colo
