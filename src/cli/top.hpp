#pragma once
// `colo top`: a live view of an experiment from its store (read-only, beside a running
// `colo run`): per workload a progress bar toward its stop rule, current rate and GPU memory;
// per GPU SM activity, memory and power. Refreshes once a second; q or Ctrl-C quits and
// restores the terminal. Plain ANSI, so it works over SSH.
#include <iosfwd>
#include <string>

namespace colo {

// `once`: print one frame and return (scripts, tests). Returns the process exit code.
int cmd_top(const std::string& results, const std::string& id, bool once, std::ostream& out,
            std::ostream& err);

}  // namespace colo
