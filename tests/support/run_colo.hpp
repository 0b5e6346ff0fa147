#pragma once
// Test-only: runs a program (the colo binary under test) as a child with its stdout and stderr in
// files, for the CLI integration tests. Linux only.
#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

namespace colo::test {

struct Output {
  int rc = -1;  // exit code, or 128 + signal
  std::string out;
  std::string err;
};

// The whole file; "" when it cannot be read.
std::string slurp(const std::filesystem::path& p);

// Starts `argv` (argv[0]: the program's path) in `dir`, stdout to dir/TAG.out and stderr to
// dir/TAG.err; returns its pid (exit 127 in the child when it cannot run).
pid_t start_in(const std::filesystem::path& dir, const std::vector<std::string>& argv,
               const std::string& tag);

// Waits for `pid` started by start_in(dir, ..., tag) and returns its exit and output.
Output finish_in(const std::filesystem::path& dir, pid_t pid, const std::string& tag);

}  // namespace colo::test
