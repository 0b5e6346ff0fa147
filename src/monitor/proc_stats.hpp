#pragma once
// Host resource use of process groups, read from /proc (Linux).
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <set>
#include <string>

namespace colo {

struct GroupStats {
  double cpu_seconds = 0;  // user + system time of the group's live processes
  std::uint64_t rss_bytes = 0;
  int processes = 0;
};

// One pass over `proc_root` (/proc, or a fake tree in tests): the stats of every process whose
// process group is in `pgids`. Groups with no live process are absent.
std::map<pid_t, GroupStats> read_process_groups(const std::set<pid_t>& pgids,
                                                const std::string& proc_root = "/proc");

// Parses the content of /proc/<pid>/stat. Returns false if malformed.
bool parse_proc_stat(const std::string& text, pid_t& pgrp, double& cpu_ticks, long& rss_pages);

}  // namespace colo
