#pragma once
// `colo serve` and `colo call` (docs/serve.md) on the command line: options registered on the
// CLI11 tree by register_serve_commands, run by run_serve_commands. Parses and prints only; the
// daemon is src/serve.
#include <CLI/CLI.hpp>

#include <iosfwd>
#include <memory>

namespace colo {

struct ServeCli;  // the commands' options (serve_cmd.cpp)

struct ServeCliDeleter {
  void operator()(ServeCli* p) const;
};
using ServeCliPtr = std::unique_ptr<ServeCli, ServeCliDeleter>;

// Adds `serve` and `call` to `app`.
ServeCliPtr register_serve_commands(CLI::App& app);

// Runs the parsed command: its exit code; -1 when neither was on the command line.
// `colo call` exits 0 when the task succeeded (or was queued, --async), 3 when it failed,
// expired or was cancelled, 2 for a request the daemon refused (4xx), 4 when the daemon cannot
// be reached or is overloaded (429/503).
int run_serve_commands(const ServeCli& cli, std::ostream& out, std::ostream& err);

}  // namespace colo
