#include "cli/sim_cmd.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <ostream>

#include "cli/cli_common.hpp"
#include "report/sim_report.hpp"
#include "sim/batch.hpp"
#include "sim/sim_json.hpp"
#include "sim/throughput.hpp"

namespace colo {
namespace {

using nlohmann::json;

Result<std::int64_t> save(const std::string& results_dir, const std::vector<csim::SimRun>& runs) {
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
    s.mode = r.ctx.mode;
    s.policy = r.policy();
    s.seed = static_cast<std::int64_t>(r.seed());
    s.load = r.ctx.load;
    s.nodes = r.ctx.nodes_file;
    s.pods = r.ctx.pods_file;
    s.variant = r.ctx.variant;
    s.result_json = json(r).dump();
    recs.push_back(std::move(s));
  }
  return store->add_sim_runs(recs);
}

// `value` of a switch option: "" keeps the semantics' own; else one of `yes`/`no`.
Result<bool> switch_value(const std::string& option, const std::string& value, const char* yes,
                          const char* no, bool current) {
  if (value.empty()) {
    return current;
  }
  if (value == yes || value == no) {
    return value == yes;
  }
  return fail(ErrorCode::invalid_argument,
              fmt::format("--{}: '{}' is not {} or {}", option, value, yes, no));
}

Result<csim::SimSwitches> switches_of(const SimOptions& o) {
  auto sem = csim::semantics_from(o.semantics);
  if (!sem) {
    return fail(sem.error());
  }
  auto sw = csim::switches_for(*sem);
  auto scores = switch_value("scores", o.scores, "int", "exact", sw.int_scores);
  auto ties = switch_value("ties", o.ties, "name", "random", sw.name_ties);
  auto formulas = switch_value("formulas", o.formulas, "artifact", "exact", sw.artifact_formulas);
  auto target = switch_value("target", o.target, "artifact", "gpu-all", sw.target_cpu_pods);
  auto workload = switch_value("workload", o.workload, "artifact", "draws", sw.artifact_workload);
  auto metric = switch_value("metric", o.metric, "bin", "end", sw.bin_metric);
  for (const auto* r : {&scores, &ties, &formulas, &target, &workload, &metric}) {
    if (!*r) {
      return fail(r->error());
    }
  }
  sw.int_scores = *scores;
  sw.name_ties = *ties;
  sw.artifact_formulas = *formulas;
  if (!o.target.empty()) {
    sw.target_cpu_pods = *target;
    sw.target_top_pct = *target ? 95 : 100;
  }
  sw.artifact_workload = *workload;
  sw.bin_metric = *metric;
  return sw;
}

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  for (char ch : s + ",") {
    if (ch == ',') {
      if (!cur.empty()) {
        out.push_back(cur);
      }
      cur.clear();
    } else {
      cur += ch;
    }
  }
  return out;
}

// The trace file `given`, or the shipped default `file`; a clear error when neither exists.
Result<std::string> trace_path(const std::string& given, const char* file, const char* option) {
  if (!given.empty()) {
    return given;
  }
  const auto dir = csim::default_trace_dir();
  if (dir.empty()) {
    return fail(ErrorCode::not_found,
                fmt::format("no {} given and the default trace (data/alibaba-gpu-v2023/{}) is "
                            "not found beside colo, in its source tree or in $COLO_DATA_DIR; pass "
                            "{} FILE",
                            option, file, option));
  }
  return dir + "/" + file;
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
  auto sw = switches_of(o);
  if (!sw) {
    return report_error(err, sw.error());
  }
  auto nodes_file = trace_path(o.nodes, "openb_node_list_gpu_node.csv", "--nodes");
  auto pods_file = trace_path(o.pods, "openb_pod_list_default.csv", "--pods");
  if (!nodes_file || !pods_file) {
    return report_error(err, !nodes_file ? nodes_file.error() : pods_file.error());
  }
  auto nodes = csim::load_nodes(*nodes_file);
  if (!nodes) {
    return report_error(err, nodes.error());
  }
  auto pods = csim::load_pods(*pods_file);
  if (!pods) {
    return report_error(err, pods.error());
  }
  csim::SimContext ctx;
  if (o.share_frac >= 0 || o.multi_frac >= 0 || o.cpu_frac >= 0) {
    auto v = csim::resample(*pods, o.share_frac, o.multi_frac, o.seed, o.cpu_frac);
    if (!v) {
      return report_error(err, v.error());
    }
    *pods = std::move(*v);
    std::vector<std::string> parts;
    for (const auto& [name, f] : {std::pair{"share", o.share_frac},
                                  std::pair{"multi", o.multi_frac}, std::pair{"cpu", o.cpu_frac}}) {
      if (f >= 0) {
        parts.push_back(fmt::format("{}={:g}", name, f));
      }
    }
    ctx.variant = fmt::format("{}", fmt::join(parts, ","));
  }
  csim::SimSpec spec;
  spec.mode = o.mode;
  spec.sw = *sw;
  spec.policies = o.policies;
  if (spec.policies.empty() || (spec.policies.size() == 1 && spec.policies[0] == "all")) {
    spec.policies = csim::default_policies(*csim::semantics_from(o.semantics));
  }
  spec.mechanisms.clear();
  for (const auto& name :
       split_list(o.mechanism == "all" ? "fractional,mig,mps,timeslice" : o.mechanism)) {
    auto m = csim::mechanism_from(name);
    if (!m) {
      return report_error(err, m.error());
    }
    spec.mechanisms.push_back(*m);
  }
  spec.mech.mig_model = o.mig_model;
  spec.mech.mps_clients = o.mps_clients;
  if (auto j = csim::check_job(o.job); !j) {
    return report_error(err, j.error());
  }
  spec.job = o.job;
  spec.load = o.load > 0 ? o.load : (o.mode == "inflate" ? 1.3 : 1.0);
  spec.seed = o.seed;
  spec.repeat = o.repeat;
  ctx.mode = o.mode;
  ctx.semantics = csim::semantics_label(*sw);
  ctx.load = spec.load;
  ctx.nodes_file = *nodes_file;
  ctx.pods_file = *pods_file;
  ctx.nodes = nodes->size();
  ctx.gpus = static_cast<double>(csim::Cluster(*nodes).gpu_capacity) / csim::k_milli;
  ctx.trace_pods = pods->size();
  auto runs = csim::run_batch(*nodes, *pods, spec, ctx);
  if (!runs) {
    return report_error(err, runs.error());
  }
  if (o.save) {
    auto batch = save(o.results_dir, *runs);
    if (!batch) {
      return report_error(err, batch.error());
    }
    err << fmt::format(
        "colo: saved {} run(s) as sim batch {} in {} (colo report --sim --batch {})\n",
        runs->size(), *batch, store_path(o.results_dir), *batch);
  }
  return write_output(render_sim_report(*runs, *format), o.output, out, err);
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
  // The store's JSON is the edge: each run back to its typed result (sim/sim_json.hpp).
  std::vector<csim::SimRun> runs;
  for (const auto& r : *recs) {
    auto j = json::parse(r.result_json, nullptr, false);
    std::string why = "is not valid JSON";
    if (!j.is_discarded() && j.is_object()) {
      try {
        runs.push_back(j.get<csim::SimRun>());
        continue;
      } catch (const json::exception& e) {
        why = fmt::format("is not a colo sim run ({})", e.what());
      }
    }
    return report_error(err, Error{ErrorCode::store,
                                   fmt::format("sim batch {} in '{}': a stored run ({} seed {}) {}",
                                               r.batch, store->path(), r.policy, r.seed, why),
                                   {}});
  }
  std::string out_path = output;
  if (out_path.empty() && *f == ReportFormat::html) {
    out_path = fmt::format("colo-sim-report-{}.html", recs->front().batch);
  }
  return write_output(render_sim_report(runs, *f), out_path, out, err);
}

}  // namespace colo
