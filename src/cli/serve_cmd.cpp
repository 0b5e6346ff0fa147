#include "cli/serve_cmd.hpp"

#include <fmt/format.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <ostream>

#include "cli/cli.hpp"
#include "cli/cli_common.hpp"
#include "engine/backend_factory.hpp"
#include "engine/engine.hpp"
#include "gpu/mps/mps_daemon.hpp"
#include "launch/interrupt.hpp"
#include "launch/process.hpp"
#include "serve/daemon.hpp"
#include "serve/exporter.hpp"

namespace colo {

struct ServeCli {
  CLI::App* serve = nullptr;
  CLI::App* call = nullptr;
  std::string config;
  std::string listen;
  std::string gpu = "auto";
  std::string sim_topology;
  std::string url = "http://127.0.0.1:8470";
  std::string function;
  std::string input = "null";
  std::string task;
  bool async = false;
  double timeout_s = 0;
  double wait_s = 0;
};

void ServeCliDeleter::operator()(ServeCli* p) const {
  delete p;
}

ServeCliPtr register_serve_commands(CLI::App& app) {
  ServeCliPtr c(new ServeCli);
  c->serve = app.add_subcommand(
      "serve", "Run functions as a service on warm worker pools, HTTP/JSON API (docs/serve.md)");
  c->serve->add_option("--config", c->config, "Serve config (YAML)")->required();
  c->serve->add_option("--listen", c->listen,
                       "HOST:PORT to listen on (default: the config's, else 127.0.0.1:8470; "
                       "port 0: any free port)");
  c->serve
      ->add_option("--gpu", c->gpu,
                   "GPU backend for pools on GPU partitions: auto, sim or nvml (auto: NVML when a "
                   "driver answers, else the simulated GPU)")
      ->capture_default_str();
  c->serve->add_option("--sim-topology", c->sim_topology, "Topology file for the simulated GPU");
  c->call = app.add_subcommand("call", "Call a function of a running colo serve");
  c->call->add_option("function", c->function, "Function name");
  c->call->add_option("input", c->input, "Task input as JSON (default: null)");
  c->call
      ->add_option("--url", c->url,
                   "The daemon (default http://127.0.0.1:8470); token: env "
                   "COLO_SERVE_TOKEN")
      ->capture_default_str();
  c->call->add_flag("--async", c->async, "Submit and print the task id without waiting");
  c->call
      ->add_option("--timeout", c->timeout_s,
                   "Task deadline in seconds (default: the "
                   "function's timeout_s)")
      ->check(CLI::PositiveNumber);
  c->call->add_option("--task", c->task, "Show task ID (its state or result) instead of calling");
  c->call->add_option("--wait", c->wait_s, "With --task: wait up to this many seconds for it")
      ->check(CLI::Range(0.0, 60.0));
  return c;
}

namespace {

int cmd_serve(const ServeCli& c, std::ostream& out, std::ostream& err) {
  Interrupt::install();
  auto cfg = serve::load_serve_config(c.config);
  if (!cfg) {
    return report_error(err, cfg.error());
  }
  if (!c.listen.empty()) {
    if (auto ok = serve::apply_listen(c.listen, *cfg); !ok) {
      return report_error(err, ok.error());
    }
  }
  // The GPUs, when a pool runs on a partition: devices, telemetry, MPS daemons.
  SteadyClock clock;  // outlives the backend (the simulated GPU keeps it)
  std::unique_ptr<serve::GpuHost> gpu;
  const bool uses_gpu =
      std::any_of(cfg->functions.begin(), cfg->functions.end(),
                  [](const auto& f) { return f.partition.kind != serve::PartitionKind::none; });
  if (uses_gpu) {
    auto choice = make_backend(c.gpu, clock, c.sim_topology);
    if (!choice) {
      return report_error(err, choice.error());
    }
    if (!choice->notice.empty()) {
      err << "colo: " << choice->notice << "\n";
    }
    if (!choice->backend->simulated()) {
      if (const int stale = cleanup_stale_mps(); stale > 0) {
        err << fmt::format("colo: quit {} stale MPS daemon(s) left by a colo that died\n", stale);
      }
    }
    gpu = serve::make_gpu_host(std::move(choice->backend));
  }
  // The guard (forked before any thread) kills every worker if the daemon dies, kill -9 included.
  const std::string token = make_run_token();
  auto guard = Guard::start(token);
  if (!guard) {
    return report_error(err, guard.error());
  }
  serve::PoolContext ctx;
  ctx.python_dir = colo_paths().python_dir;
  ctx.run_token = token;
  ctx.workload_dir = colo_paths().workload_dir;
  serve::Daemon daemon(std::move(*cfg), ctx, clock, out, gpu.get());
  if (auto ok = daemon.start(); !ok) {
    return report_error(err, ok.error());
  }
  daemon.run_until(Interrupt::fd());
  guard->release();
  return 0;
}

// Splits "http://host:port[/prefix]" for httplib (which takes scheme://host:port).
std::string base_url(const std::string& url) {
  auto s = url;
  while (!s.empty() && s.back() == '/') {
    s.pop_back();
  }
  return s;
}

int cmd_call(const ServeCli& c, std::ostream& out, std::ostream& err) {
  if (c.task.empty() && c.function.empty()) {
    err << "colo: call needs a FUNCTION (or --task ID)\nRun 'colo call --help' for usage.\n";
    return 2;
  }
  httplib::Client cli(base_url(c.url));
  if (!cli.is_valid()) {
    err << fmt::format("colo: call: '{}' is not a URL like http://127.0.0.1:8470\n", c.url);
    return 2;
  }
  cli.set_connection_timeout(std::chrono::seconds(5));
  cli.set_tcp_nodelay(true);
  cli.set_read_timeout(
      std::chrono::seconds(static_cast<long>(std::max(c.timeout_s, c.wait_s) + 3600)));
  httplib::Headers headers;
  if (const char* t = std::getenv("COLO_SERVE_TOKEN"); t != nullptr && *t != '\0') {
    headers.emplace("Authorization", std::string("Bearer ") + t);
  }
  auto send = [&]() -> httplib::Result {
    if (!c.task.empty()) {
      return cli.Get(fmt::format("/v1/tasks/{}?wait_s={}", c.task, c.wait_s), headers);
    }
    nlohmann::json body{{"function", c.function}, {"input", nullptr}, {"wait", !c.async}};
    body["input"] = nlohmann::json::parse(c.input);
    if (c.timeout_s > 0) {
      body["timeout_s"] = c.timeout_s;
    }
    return cli.Post("/v1/tasks", headers, body.dump(), "application/json");
  };
  if (c.task.empty() && nlohmann::json::parse(c.input, nullptr, false).is_discarded()) {
    err << "colo: call: the input is not valid JSON (quote strings: '\"text\"')\n";
    return 2;
  }
  const httplib::Result res = send();
  if (!res) {
    err << fmt::format("colo: call: cannot reach {}: {}\n", c.url, httplib::to_string(res.error()));
    return 4;
  }
  const auto j = nlohmann::json::parse(res->body, nullptr, false);
  if (res->status >= 400) {
    const std::string msg = !j.is_discarded() && j.contains("error") && j["error"].is_string()
                                ? j["error"].get<std::string>()
                                : res->body;
    err << fmt::format("colo: call: HTTP {}: {}\n", res->status, msg);
    return res->status == 429 || res->status >= 500 ? 4 : 2;
  }
  out << (j.is_discarded() ? res->body : j.dump(2)) << "\n";
  if (j.is_object() && j.contains("state")) {
    const auto state = j["state"].get<std::string>();
    if (state == "failed" || state == "expired" || state == "cancelled") {
      return k_exit_workloads_failed;
    }
  }
  return 0;
}

}  // namespace

int with_run_metrics(const std::string& addr, EngineOptions& opts, std::ostream& err,
                     const std::function<int()>& run) {
  if (addr.empty()) {
    return run();
  }
  serve::ServeConfig where;
  if (auto ok = serve::apply_listen(addr, where); !ok) {
    return report_error(
        err, Error{ErrorCode::invalid_argument, "--metrics-addr: " + ok.error().message, {}});
  }
  const char* token = std::getenv("COLO_SERVE_TOKEN");
  serve::RunExporter exporter;
  serve::MetricsServer server([&exporter] { return exporter.metrics_text(); },
                              token != nullptr ? token : "");
  if (auto ok = server.start(where.host, where.port, "COLO_SERVE_TOKEN"); !ok) {
    return report_error(err, ok.error());
  }
  err << fmt::format("colo: metrics on http://{}:{}/metrics\n", where.host, server.port())
      << std::flush;
  opts.watcher = &exporter;
  const int rc = run();
  opts.watcher = nullptr;
  server.stop();
  return rc;
}

int run_serve_commands(const ServeCli& c, std::ostream& out, std::ostream& err) {
  try {
    if (*c.serve) {
      return cmd_serve(c, out, err);
    }
    if (*c.call) {
      return cmd_call(c, out, err);
    }
  } catch (const std::exception& e) {
    err << "colo: internal error: " << e.what() << "\n";
    return 1;
  }
  return -1;
}

}  // namespace colo
