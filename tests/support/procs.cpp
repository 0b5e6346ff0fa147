#include "support/procs.hpp"

#include <cctype>
#include <fstream>

namespace colo::test {

namespace fs = std::filesystem;

bool running(pid_t pid) {
  std::ifstream st("/proc/" + std::to_string(pid) + "/stat");
  std::string s;
  std::getline(st, s);
  const auto paren = s.rfind(')');
  return !s.empty() && paren != std::string::npos && paren + 2 < s.size() && s[paren + 2] != 'Z';
}

std::vector<pid_t> read_pids(const fs::path& file) {
  std::vector<pid_t> out;
  std::ifstream in(file);
  pid_t p = 0;
  while (in >> p) {
    out.push_back(p);
  }
  return out;
}

int count_processes_with_env(const std::string& entry) {
  int n = 0;
  std::error_code ec;
  for (const auto& d : fs::directory_iterator("/proc", ec)) {
    const auto name = d.path().filename().string();
    if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0])) == 0 ||
        !running(static_cast<pid_t>(std::stol(name)))) {
      continue;
    }
    std::ifstream in(d.path() / "environ", std::ios::binary);
    std::string e;
    while (std::getline(in, e, '\0')) {
      if (e == entry) {
        ++n;
        break;
      }
    }
  }
  return n;
}

}  // namespace colo::test
