#pragma once
// `colo serve` and `colo call` (docs/serve.md) on the command line: options registered on the
// CLI11 tree by register_serve_commands, run by run_serve_commands. Parses and prints only; the
// daemon is src/serve.
#include <CLI/CLI.hpp>

#include <functional>
#include <iosfwd>
#include <memory>
#include <string>

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

struct EngineOptions;

// `colo run --metrics-addr HOST:PORT`: serves the running experiment's metrics (docs/serve.md:
// Metrics of colo run) on GET /metrics while `run` runs (with opts.watcher set), then stops.
// Empty `addr`: just runs. Exit 2 for a bad address or beyond loopback without a token
// (COLO_SERVE_TOKEN), 4 when it cannot listen; else run()'s.
int with_run_metrics(const std::string& addr, EngineOptions& opts, std::ostream& err,
                     const std::function<int()>& run);

}  // namespace colo
