#pragma once
// Test-only: what /proc says about processes, read independently of colo's own code (src/core
// os.hpp), for the tests that must prove no process of a run outlived it (unit launch tests, the
// CLI integration tests, the fault suite). Linux only; thread-safe.
#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

namespace colo::test {

// True when process `pid` exists and is not a zombie (/proc/<pid>/stat state 'Z').
bool running(pid_t pid);

// The pids written in `file` (whitespace separated: cgroup.procs, a file of pids a workload
// wrote); empty when it is absent.
std::vector<pid_t> read_pids(const std::filesystem::path& file);

// How many running processes have `entry` ("KEY=value") in their environment.
int count_processes_with_env(const std::string& entry);

}  // namespace colo::test
