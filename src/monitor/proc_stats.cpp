#include "monitor/proc_stats.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <sstream>

namespace colo {

bool parse_proc_stat(const std::string& text, pid_t& pgrp, double& cpu_ticks, long& rss_pages) {
  // "pid (comm) state ppid pgrp ...": comm may contain spaces and parentheses.
  const auto close = text.rfind(')');
  if (close == std::string::npos) {
    return false;
  }
  std::istringstream in(text.substr(close + 2));
  // fields after comm: 3 state, 4 ppid, 5 pgrp, ..., 14 utime, 15 stime, ..., 24 rss
  std::string fields[22];
  for (int i = 0; i < 22; ++i) {
    if (!(in >> fields[i])) {
      return false;
    }
  }
  pgrp = static_cast<pid_t>(std::atol(fields[2].c_str()));
  cpu_ticks = std::atof(fields[11].c_str()) + std::atof(fields[12].c_str());
  rss_pages = std::atol(fields[21].c_str());
  return true;
}

std::map<pid_t, GroupStats> read_process_groups(const std::set<pid_t>& pgids,
                                                const std::string& proc_root) {
  std::map<pid_t, GroupStats> out;
  if (pgids.empty()) {
    return out;
  }
  static const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  static const long page = ::sysconf(_SC_PAGESIZE);
  DIR* dir = ::opendir(proc_root.c_str());
  if (!dir) {
    return out;
  }
  char buf[1024];
  while (auto* ent = ::readdir(dir)) {
    if (ent->d_name[0] < '0' || ent->d_name[0] > '9') {
      continue;
    }
    const std::string path = proc_root + "/" + ent->d_name + "/stat";
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      continue;
    }
    const ssize_t n = ::read(fd, buf, sizeof(buf) - 1);
    ::close(fd);
    if (n <= 0) {
      continue;
    }
    pid_t pgrp = 0;
    double cpu = 0;
    long rss = 0;
    if (!parse_proc_stat(std::string(buf, static_cast<std::size_t>(n)), pgrp, cpu, rss)) {
      continue;
    }
    if (!pgids.count(pgrp)) {
      continue;
    }
    auto& g = out[pgrp];
    g.cpu_seconds += cpu / ticks;
    g.rss_bytes += static_cast<std::uint64_t>(rss) * static_cast<std::uint64_t>(page);
    ++g.processes;
  }
  ::closedir(dir);
  return out;
}

}  // namespace colo
