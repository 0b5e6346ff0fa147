#include "cli/sim_cmd.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <optional>
#include <ostream>
#include <thread>

#include "cli/cli_common.hpp"
#include "report/sim_report.hpp"
#include "sim/experiment.hpp"

namespace colo {
namespace {

using nlohmann::json;

// What every stored/printed run carries besides its result, so that a report of it needs
// nothing else.
struct Context {
  std::string mode;
  double load = 0;
  std::string nodes_file;
  std::string pods_file;
  std::size_t nodes = 0;
  double gpus = 0;
  std::size_t trace_pods = 0;
  std::string variant;
};

json context_json(const Context& c) {
  return {{"simulated", true},        {"mode", c.mode},
          {"load", c.load},           {"nodes_file", c.nodes_file},
          {"pods_file", c.pods_file}, {"nodes", c.nodes},
          {"gpus", c.gpus},           {"trace_pods", c.trace_pods},
          {"variant", c.variant}};
}

// A run's JSON: its context, its result `fields`, and colo's calibrated weight where it has one.
json run_json(const Context& c, const json& fields, std::optional<double> colo_gpu_weight) {
  json j = context_json(c);
  j.update(fields);
  if (colo_gpu_weight) {
    j["colo_gpu_weight"] = *colo_gpu_weight;
  }
  return j;
}

json to_json(const csim::InflateResult& r, const Context& c) {
  json curve = json::array();
  for (const auto& p : r.curve) {
    curve.push_back({{"requested_pct", p.requested_pct},
                     {"allocated_pct", p.allocated_pct},
                     {"frag_pct", p.frag_pct}});
  }
  return run_json(c,
                  {{"policy", r.policy},
                   {"seed", r.seed},
                   {"allocated_pct", r.allocated_pct},
                   {"submitted", r.submitted},
                   {"unscheduled", r.unscheduled},
                   {"seconds", r.seconds},
                   {"curve", curve}},
                  r.colo_gpu_weight);
}

json to_json(const csim::ReplayResult& r, const Context& c) {
  json util = json::array();
  for (const auto& [t, u] : r.utilization) {
    util.push_back({t, u});
  }
  return run_json(c,
                  {{"policy", r.policy},
                   {"seed", r.seed},
                   {"pods", r.pods},
                   {"scheduled", r.scheduled},
                   {"completed", r.completed},
                   {"never_scheduled", r.never_scheduled},
                   {"skipped", r.skipped},
                   {"delay_mean_s", r.delay_mean_s},
                   {"delay_p50_s", r.delay_p50_s},
                   {"delay_p99_s", r.delay_p99_s},
                   {"jct_mean_s", r.jct_mean_s},
                   {"jct_p99_s", r.jct_p99_s},
                   {"makespan_s", r.makespan_s},
                   {"seconds", r.seconds},
                   {"utilization", util}},
                  r.colo_gpu_weight);
}

Result<std::int64_t> save(const std::string& results_dir, const json& runs) {
  std::error_code ec;
  std::filesystem::create_directories(results_dir, ec);
  if (ec) {
    return fail(ErrorCode::io, fmt::format("cannot create results directory '{}'", results_dir),
                ec.message());
  }
  // No StoreLock: one short transaction, safe beside a running `colo run` (SQLite serializes
  // the writers; the lock only keeps two experiments from interleaving).
  auto store = Store::open(store_path(results_dir));
  if (!store) {
    return fail(store.error());
  }
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  std::vector<SimRunRecord> recs;
  for (const auto& r : runs) {
    SimRunRecord s;
    s.created_at = now;
    s.mode = r["mode"];
    s.policy = r["policy"];
    s.seed = r["seed"];
    s.load = r["load"];
    s.nodes = r["nodes_file"];
    s.pods = r["pods_file"];
    s.variant = r["variant"];
    s.result_json = r.dump();
    recs.push_back(std::move(s));
  }
  return store->add_sim_runs(recs);
}

}  // namespace

int cmd_sim(const SimOptions& o, std::ostream& out, std::ostream& err) {
  auto format = report_format_from(o.format);
  if (!format) {
    return report_error(err, format.error());
  }
  if (o.mode != "inflate" && o.mode != "replay") {
    return report_error(err, Error{ErrorCode::invalid_argument,
                                   fmt::format("unknown mode '{}' (inflate or replay)", o.mode),
                                   {}});
  }
  auto nodes = csim::load_nodes(o.nodes);
  if (!nodes) {
    return report_error(err, nodes.error());
  }
  auto pods = csim::load_pods(o.pods);
  if (!pods) {
    return report_error(err, pods.error());
  }
  Context ctx;
  if (o.share_frac >= 0 || o.multi_frac >= 0) {
    auto v = csim::resample(*pods, o.share_frac, o.multi_frac, o.seed);
    if (!v) {
      return report_error(err, v.error());
    }
    *pods = std::move(*v);
    ctx.variant =
        fmt::format("{}{}{}", o.share_frac >= 0 ? fmt::format("share={:g}", o.share_frac) : "",
                    o.share_frac >= 0 && o.multi_frac >= 0 ? "," : "",
                    o.multi_frac >= 0 ? fmt::format("multi={:g}", o.multi_frac) : "");
  }
  auto policies = o.policies;
  if (policies.empty() || (policies.size() == 1 && policies[0] == "all")) {
    policies = csim::policy_names();
  }
  ctx.mode = o.mode;
  ctx.load = o.load > 0 ? o.load : (o.mode == "inflate" ? 1.3 : 1.0);
  ctx.nodes_file = o.nodes;
  ctx.pods_file = o.pods;
  ctx.nodes = nodes->size();
  ctx.gpus = static_cast<double>(csim::Cluster(*nodes).gpu_capacity) / csim::k_milli;
  ctx.trace_pods = pods->size();

  // Every (policy, seed) run is independent: run them on all cores, report in order.
  struct Job {
    std::string policy;
    std::uint64_t seed;
    Result<json> result = fail(ErrorCode::internal, "not run");
  };
  std::vector<Job> jobs;
  for (const auto& name : policies) {
    for (int k = 0; k < o.repeat; ++k) {
      jobs.push_back({name, o.seed + static_cast<std::uint64_t>(k)});
    }
  }
  std::atomic<std::size_t> next{0};
  auto worker = [&] {
    for (std::size_t j = next++; j < jobs.size(); j = next++) {
      auto& job = jobs[j];
      if (o.mode == "inflate") {
        auto r = csim::inflate(*nodes, *pods, job.policy, ctx.load, job.seed);
        job.result = r ? Result<json>(to_json(*r, ctx)) : Result<json>(fail(r.error()));
      } else {
        auto r = csim::replay(*nodes, *pods, job.policy, job.seed, ctx.load);
        job.result = r ? Result<json>(to_json(*r, ctx)) : Result<json>(fail(r.error()));
      }
    }
  };
  std::vector<std::thread> threads;
  const unsigned n_threads = std::max(1U, std::min<unsigned>(std::thread::hardware_concurrency(),
                                                             static_cast<unsigned>(jobs.size())));
  for (unsigned t = 0; t < n_threads; ++t) {
    threads.emplace_back(worker);
  }
  for (auto& t : threads) {
    t.join();
  }
  json runs = json::array();
  for (auto& job : jobs) {
    if (!job.result) {
      return report_error(err, job.result.error());
    }
    runs.push_back(std::move(*job.result));
  }
  if (o.save) {
    auto batch = save(o.results_dir, runs);
    if (!batch) {
      return report_error(err, batch.error());
    }
    err << fmt::format(
        "colo: saved {} run(s) as sim batch {} in {} (colo report --sim --batch {})\n", runs.size(),
        *batch, store_path(o.results_dir), *batch);
  }
  return write_output(render_sim_report(runs, *format), o.output, out, err);
}

int cmd_sim_report(const std::string& results_dir, std::int64_t batch, const std::string& format,
                   const std::string& output, std::ostream& out, std::ostream& err) {
  auto f = report_format_from(format);
  if (!f) {
    return report_error(err, f.error());
  }
  auto store = Store::open(store_path(results_dir), OpenMode::read_only);
  if (!store) {
    return report_error(err, store.error());
  }
  auto recs = store->sim_runs(batch);
  if (!recs) {
    return report_error(err, recs.error());
  }
  if (recs->empty()) {
    return report_error(
        err, Error{ErrorCode::not_found,
                   batch > 0 ? fmt::format("no sim batch {} in '{}'", batch, store->path())
                             : fmt::format("no colo sim results in '{}' (run colo sim --save)",
                                           store->path()),
                   {}});
  }
  json runs = json::array();
  for (const auto& r : *recs) {
    auto j = json::parse(r.result_json, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      return report_error(err, Error{ErrorCode::store,
                                     fmt::format("sim batch {} in '{}': a stored run ({} seed {}) "
                                                 "is not valid JSON",
                                                 r.batch, store->path(), r.policy, r.seed),
                                     {}});
    }
    runs.push_back(std::move(j));
  }
  std::string out_path = output;
  if (out_path.empty() && *f == ReportFormat::html) {
    out_path = fmt::format("colo-sim-report-{}.html", recs->front().batch);
  }
  return write_output(render_sim_report(runs, *f), out_path, out, err);
}

}  // namespace colo
