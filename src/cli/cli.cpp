#include "cli/cli.hpp"

#include <unistd.h>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <tuple>

#include "cli/cli_common.hpp"
#include "cli/plan_cmd.hpp"
#include "cli/serve_cmd.hpp"
#include "cli/sim_cmd.hpp"
#include "cli/slurm_cmd.hpp"
#include "cli/top.hpp"
#include "core/clock.hpp"
#include "core/spec.hpp"
#include "core/units.hpp"
#include "doctor/doctor.hpp"
#include "engine/backend_factory.hpp"
#include "engine/engine.hpp"
#include "launch/interrupt.hpp"
#include "pipeline/events.hpp"
#include "pipeline/rows.hpp"
#include "pipeline/stats.hpp"
#include "report/compare.hpp"
#include "report/export.hpp"
#include "report/report.hpp"
#include "report/report_input.hpp"
#include "report/stats.hpp"
#include "report/summary.hpp"
#include "report/table.hpp"
#include "store/store.hpp"

namespace colo {
namespace {

std::string default_results_dir() {
  const char* env = std::getenv("COLO_RESULTS");
  return env && *env ? env : "colo-results";
}

int cmd_run(const std::string& spec_path, const EngineOptions& opts, std::ostream& out,
            std::ostream& err) {
  Interrupt::install();  // first: a signal while the spec loads stops colo cleanly too
  auto spec = load_spec(spec_path);
  if (!spec) {
    return report_error(err, spec.error());
  }
  SteadyClock clock;
  auto r = run_experiment(*spec, opts, clock, err);
  if (!r) {
    return report_error(err, r.error());
  }
  if (opts.dry_run) {
    return 0;
  }
  out << "\n" << render_text(r->summary);
  if (r->interrupted) {
    err << fmt::format(
        "colo: interrupted; finished runs are stored. Continue with: colo run "
        "--resume {}{}\n",
        spec_path, opts.results_dir == "colo-results" ? "" : " --results " + opts.results_dir);
    return 130;
  }
  if (r->internal_errors > 0) {
    err << fmt::format(
        "colo: {} run(s) failed inside colo (the reason is stored with each run); the "
        "experiment stays resumable: colo run --resume {}\n",
        r->internal_errors, spec_path);
    return 1;
  }
  return r->failed_workloads > 0 ? k_exit_workloads_failed : 0;
}

// "YYYY-MM-DD HH:MM" in local time.
std::string local_minute(double unix_seconds) {
  const auto t = static_cast<std::time_t>(unix_seconds);
  char when[32] = {};
  std::strftime(when, sizeof(when), "%Y-%m-%d %H:%M", std::localtime(&t));
  return when;
}

int cmd_ls(const std::string& results, std::ostream& out, std::ostream& err) {
  auto store = Store::open(store_path(results), OpenMode::read_only);
  if (!store) {
    return report_error(err, store.error());
  }
  auto all = store->experiments();
  if (!all) {
    return report_error(err, all.error());
  }
  out << fmt::format("{:>4}  {:<24} {:<12} {:<6} {:>6} {:>10}  {}\n", "id", "name", "status", "gpu",
                     "runs", "wall", "created");
  for (const auto& e : *all) {
    auto runs = store->runs(e.id);
    int done = 0;
    int total = 0;
    if (runs) {
      total = static_cast<int>(runs->size());
      for (const auto& r : *runs) {
        done += r.status == RunStatus::done ? 1 : 0;
      }
    }
    out << fmt::format("{:>4}  {:<24} {:<12} {:<6} {:>6} {:>10}  {}\n", e.id, e.name, e.status,
                       e.simulated ? "sim" : e.backend, fmt::format("{}/{}", done, total),
                       format_duration(Seconds(e.wall_s)), local_minute(e.created_at));
  }
  auto batches = store->sim_batches();
  if (!batches) {
    return report_error(err, batches.error());
  }
  if (!batches->empty()) {
    out << fmt::format(
        "\ncolo sim batches (simulated cluster scheduling; colo report --sim --batch N)\n"
        "{:>4}  {:<8} {:>6} {:>5}  {:<16}  {}\n",
        "N", "mode", "load", "runs", "created", "policies");
  }
  for (const auto& b : *batches) {
    out << fmt::format("{:>4}  {:<8} {:>6g} {:>5}  {:<16}  {}\n", b.batch, b.mode, b.load, b.runs,
                       local_minute(b.created_at), b.policies);
  }
  return 0;
}

struct Loaded {
  Store store;  // open read-only, for what else the caller reads
  ExperimentRecord experiment;
  std::vector<RunData> runs;
};

// The experiment `id_text` (default: newest) and its runs, from the store in `results`.
Result<Loaded> load_experiment(const std::string& results, const std::string& id_text) {
  auto store = Store::open(store_path(results), OpenMode::read_only);
  if (!store) {
    return fail(store.error());
  }
  auto e = pick_experiment(*store, id_text);
  if (!e) {
    return fail(e.error());
  }
  auto data = load_run_data(*store, e->id);
  if (!data) {
    return fail(data.error());
  }
  return Loaded{std::move(*store), std::move(*e), std::move(*data)};
}

int cmd_show(const std::string& results, const std::string& id, std::ostream& out,
             std::ostream& err) {
  auto loaded = load_experiment(results, id);
  if (!loaded) {
    return report_error(err, loaded.error());
  }
  const auto* e = &loaded->experiment;
  const auto* data = &loaded->runs;
  if (e->status != "done") {
    out << fmt::format("(experiment status: {}; results below are partial)\n", e->status);
  }
  out << render_text(summarize(*e, *data));
  out << "\nRuns\n";
  for (const auto& rd : *data) {
    out << fmt::format("  {:>3} {:<12} {:.1f} s  {}{}\n", rd.run.seq + 1, to_string(rd.run.status),
                       rd.run.wall_s, rd.run.key,
                       rd.run.degraded.empty() ? "" : "  DEGRADED: " + rd.run.degraded);
    if (!rd.run.error.empty()) {
      out << fmt::format("        error: {}\n", rd.run.error);
    }
    for (const auto& w : rd.workloads) {
      out << fmt::format("        {}#{} {} {}  {}\n", w.name, w.copy, to_string(w.exit_class),
                         w.throughput ? fixed4(*w.throughput) + " samples/s"
                                      : fmt::format("{:.2f} s (by wall time)", w.runtime_s),
                         w.stderr_path);
      // Why it failed, or a limit it reached while ending ok (limits.pids, limits.output).
      if (w.exit_class != ExitClass::ok || w.message.find("(limits.") != std::string::npos) {
        out << fmt::format("          {}\n", w.message);
      }
    }
  }
  return 0;
}

int cmd_export(const std::string& results, const std::string& id, const std::string& format,
               const std::string& output, std::ostream& out, std::ostream& err) {
  auto loaded = load_experiment(results, id);
  if (!loaded) {
    return report_error(err, loaded.error());
  }
  const auto* e = &loaded->experiment;
  const auto* data = &loaded->runs;
  const std::string text =
      format == "csv" ? export_csv(*e, *data) : export_json(*e, *data, summarize(*e, *data));
  return write_output(text, output, out, err);
}

// A pipeline workload's report row from its stored event log; nothing for other workloads.
Result<std::optional<PipelineRow>> pipeline_row(Store& store, const RunData& rd,
                                                const WorkloadRecord& w) {
  auto stored = store.pipeline_events(w.id);
  if (!stored) {
    return fail(stored.error());
  }
  if (stored->stages.empty()) {
    return std::optional<PipelineRow>{};
  }
  auto log = pipeline::from_store(*stored);
  if (!log) {
    return fail(log.error());
  }
  // The same measurement window as the run's throughput: after its warm-up.
  auto row = pipeline::to_report(
      pipeline::summarize(*log, 101, static_cast<std::int64_t>(run_warmup_s(rd.run) * 1e9)));
  row.run = rd.run.key;
  row.mode = rd.run.mode;
  row.group = rd.run.group;
  row.workload = fmt::format("{}#{}", w.name, w.copy);
  return std::optional<PipelineRow>{std::move(row)};
}

// Everything a report shows: the store's rows handed to report's ReportBuilder run by run.
Result<ReportInput> build_report_input(const std::string& results, const std::string& id_text,
                                       double max_slowdown) {
  auto loaded = load_experiment(results, id_text);
  if (!loaded) {
    return fail(loaded.error());
  }
  auto& store = loaded->store;
  ReportBuilder builder(loaded->experiment, loaded->runs, max_slowdown);
  std::vector<PipelineRow> pipelines;
  for (const auto& rd : loaded->runs) {
    if (!ReportBuilder::wants(rd)) {
      continue;
    }
    std::vector<std::vector<ProgressRow>> progress;
    for (const auto& w : rd.workloads) {
      auto prog = store.progress(w.id);
      if (!prog) {
        return fail(prog.error());
      }
      progress.push_back(std::move(*prog));
      auto row = pipeline_row(store, rd, w);
      if (!row) {
        return fail(row.error());
      }
      if (*row) {
        pipelines.push_back(std::move(**row));
      }
    }
    auto samples = store.samples(rd.run.id);
    if (!samples) {
      return fail(samples.error());
    }
    builder.add_run(rd, progress, *samples);
  }
  auto in = builder.finish();
  in.pipelines = std::move(pipelines);
  return in;
}

int cmd_report(const std::string& results, const std::string& id, const std::string& format,
               std::string output, double max_slowdown, std::ostream& out, std::ostream& err) {
  auto f = report_format_from(format);
  if (!f) {
    return report_error(err, f.error());
  }
  auto in = build_report_input(results, id, max_slowdown);
  if (!in) {
    return report_error(err, in.error());
  }
  const auto text = render_report(*in, *f);
  if (output.empty() && *f == ReportFormat::html) {
    output = fmt::format("colo-report-{}.html", in->exp.id);
  }
  return write_output(text, output, out, err,
                      in->partial ? ", partial: the experiment is not done" : "");
}

struct CompareArgs {
  std::string a;
  std::string b;
  std::string format = "text";
  std::string output;
  std::optional<double> fail_above_pct;
  bool paired = false;
};

// `colo compare`: loads both experiments, prints report/compare's comparison, and with
// --fail-above returns k_exit_regression when B regressed beyond it (docs/cli.md).
int cmd_compare(const std::string& results, const CompareArgs& args, std::ostream& out,
                std::ostream& err) {
  auto f = compare_format_from(args.format);
  if (!f) {
    return report_error(err, f.error());
  }
  CompareSide sides[2];
  const std::string* ids[2] = {&args.a, &args.b};
  for (int i = 0; i < 2; ++i) {
    auto l = load_experiment(results, *ids[i]);
    if (!l) {
      return report_error(err, l.error());
    }
    sides[i] = {l->experiment, summarize(l->experiment, l->runs),
                l->runs.empty() ? std::string() : l->runs.front().run.settings_json};
  }
  auto c = compare(sides[0], sides[1], CompareOptions{args.paired});
  if (!c) {
    return report_error(err, c.error());
  }
  if (const int rc = write_output(render_comparison(*c, *f), args.output, out, err); rc != 0) {
    return rc;
  }
  if (!args.fail_above_pct) {
    return 0;
  }
  const auto bad = regressions(*c, *args.fail_above_pct);
  for (const auto* r : bad) {
    err << fmt::format("colo: regression: {} {} {} {}: {:+.1f}% ({})\n", r->kind, r->mode,
                       group_label(r->group, r->sweep), r->workload.empty() ? "-" : r->workload,
                       *r->change_pct, verdict(*r));
  }
  if (!bad.empty()) {
    err << fmt::format("colo: {} row(s) of B are more than {:g}% below A: exit {}\n", bad.size(),
                       *args.fail_above_pct, k_exit_regression);
    return k_exit_regression;
  }
  return 0;
}

int cmd_gpus(const std::string& which, const std::string& topology, bool json, std::ostream& out,
             std::ostream& err) {
  auto devs = detect_gpus(which, topology, err);
  if (!devs) {
    return report_error(err, devs.error());
  }
  if (json) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& d : *devs) {
      j.push_back(to_json(d));
    }
    out << j.dump(2) << "\n";
    return 0;
  }
  for (const auto& d : *devs) {
    out << fmt::format("GPU {}: {}  {}  {} memory, {} SMs, MIG {}, compute mode {}, driver {}\n",
                       d.index, d.name, d.uuid, format_bytes(d.memory_bytes),
                       d.sm_count ? std::to_string(d.sm_count) : "?", d.mig_mode, d.compute_mode,
                       d.driver_version);
  }
  return 0;
}

}  // namespace

int cli_main(int argc, char** argv, std::ostream& out, std::ostream& err) {
  CLI::App app{"colo: run ML workloads side by side on shared GPUs and measure what it buys"};
  app.require_subcommand(1);
  app.fallthrough();  // global options (--results) may follow the subcommand too
  app.set_version_flag("--version", COLO_VERSION);
  std::string results = default_results_dir();
  app.add_option("--results", results, "Results directory (colo.db, logs); env COLO_RESULTS")
      ->capture_default_str();

  EngineOptions ropts;
  std::string spec_path;
  auto* run = app.add_subcommand("run", "Run an experiment spec (YAML)");
  run->add_option("spec", spec_path, "Experiment spec file (or --plan)");
  run->add_flag("--resume", ropts.resume, "Continue the newest unfinished experiment of this spec");
  run->add_option("--gpu", ropts.gpu, "GPU backend: auto, sim or nvml (default: the spec's)")
      ->check(CLI::IsMember({"auto", "sim", "nvml"}));
  run->add_option("--sim-topology", ropts.sim_topology, "Topology file for the simulated GPU");
  run->add_flag("--dry-run", ropts.dry_run, "Validate the spec and print the planned runs");
  run->add_flag("--parallel-gpus", ropts.parallel_gpus,
                "Run runs on disjoint GPUs at the same time (as `parallel: true` in the spec)");
  std::string metrics_addr;
  run->add_option("--metrics-addr", metrics_addr,
                  "Serve the running experiment's Prometheus metrics on HOST:PORT/metrics "
                  "(docs/serve.md)");

  auto* ls = app.add_subcommand("ls", "List experiments in the store");
  std::string id;
  auto* show = app.add_subcommand("show", "Show an experiment's summary and runs");
  show->add_option("experiment", id, "Experiment id (default: the newest)");
  std::string format = "csv";
  std::string output;
  auto* exp = app.add_subcommand("export", "Export per-workload results as CSV or JSON");
  exp->add_option("experiment", id, "Experiment id (default: the newest)");
  exp->add_option("--format", format, "csv or json")->check(CLI::IsMember({"csv", "json"}));
  exp->add_option("-o,--output", output, "Output file (default: stdout)");
  std::string report_format = "html";
  double max_slowdown = 2.0;
  auto* rep = app.add_subcommand("report", "Write a report: HTML with charts, Markdown, CSV, JSON");
  rep->add_option("experiment", id, "Experiment id (default: the newest)");
  rep->add_option("--format", report_format, "html (default), md, csv, json or text");
  rep->add_option("-o,--output", output,
                  "Output file ('-' for stdout; default: colo-report-<id>.html for html, else "
                  "stdout)");
  rep->add_option("--max-slowdown", max_slowdown,
                  "Slowdown bound of the recommendation (solo/collocated rate, default 2)")
      ->check(CLI::PositiveNumber);
  bool report_sim = false;
  std::int64_t sim_batch = 0;
  rep->add_flag("--sim", report_sim, "Report a stored colo sim batch instead of an experiment");
  rep->add_option("--batch", sim_batch, "With --sim: the batch number (default: the newest)")
      ->check(CLI::PositiveNumber);
  CompareArgs cargs;
  auto* cmp = app.add_subcommand("compare", "Compare the same workloads in two experiments");
  cmp->add_option("a", cargs.a, "Experiment A (the baseline)")->required();
  cmp->add_option("b", cargs.b, "Experiment B")->required();
  cmp->add_option("--format", cargs.format, "text (default), md, json or csv");
  cmp->add_option("-o,--output", cargs.output, "Output file (default: stdout)");
  cmp->add_option("--fail-above", cargs.fail_above_pct,
                  "Exit 6 when a rate or speed-up of B is more than PCT% below A and the drop "
                  "is beyond noise (or noise is unknown)")
      ->check(CLI::NonNegativeNumber);
  cmp->add_flag("--paired", cargs.paired,
                "Pair repetition i of A with repetition i of B (paired t-test) where both have "
                "the same repetitions; use when A and B ran alternately");
  SimOptions sopt;
  std::string policies = "all";
  auto* simc = app.add_subcommand(
      "sim", "Trace-driven cluster simulator of fractional-GPU scheduling (docs/sim.md)");
  simc->add_option("--nodes", sopt.nodes,
                   "Node trace CSV (sn,cpu_milli,gpu[,memory_mib,model]; default: the shipped "
                   "data/alibaba-gpu-v2023/openb_node_list_gpu_node.csv)");
  simc->add_option(
      "--pods", sopt.pods,
      "Pod trace CSV (name,cpu_milli,num_gpu[,memory_mib,gpu_milli,gpu_spec,"
      "creation_time,deletion_time]; default: the shipped openb_pod_list_default.csv)");
  simc->add_option("--policy", policies,
                   "Comma-separated: random, firstfit, bestfit, dotprod, clustering, packing, fgd, "
                   "colo, or all (default: the paper's six and colo)");
  simc->add_option("--semantics", sopt.semantics,
                   "artifact (default: the FGD authors' simulator, reproduces their published "
                   "numbers) or exact (colo's exact model); docs/sim.md")
      ->check(CLI::IsMember({"artifact", "exact"}));
  simc->add_option("--scores", sopt.scores, "Override: int (Kubernetes) or exact node scores")
      ->check(CLI::IsMember({"int", "exact"}));
  simc->add_option("--ties", sopt.ties, "Override: name (seeded node-name order) or random ties")
      ->check(CLI::IsMember({"name", "random"}));
  simc->add_option("--formulas", sopt.formulas,
                   "Override: artifact or exact policy formulas and GPU choice")
      ->check(CLI::IsMember({"artifact", "exact"}));
  simc->add_option("--target", sopt.target,
                   "Override: FGD target workload artifact (CPU pods too, top 95%) or gpu-all")
      ->check(CLI::IsMember({"artifact", "gpu-all"}));
  simc->add_option("--workload", sopt.workload,
                   "Override: inflate workload artifact (trace shuffled, then draws) or draws")
      ->check(CLI::IsMember({"artifact", "draws"}));
  simc->add_option("--mechanism", sopt.mechanism,
                   "What-if: how shares are served, comma-separated fractional (default), mig, "
                   "mps, timeslice, or all (side by side)");
  simc->add_option("--mig-model", sopt.mig_model,
                   "mig: take every GPU as this model (e.g. 'NVIDIA H100 80GB HBM3')");
  simc->add_option("--mps-clients", sopt.mps_clients, "mps: clients per GPU (default 48)")
      ->check(CLI::Range(1, 255));
  simc->add_option("--job", sopt.job,
                   "Effective throughput: the job every pod is taken to run, resnet18 (b64), "
                   "resnet50 (b32, default) or transformer (b32); measured on an H200, "
                   "docs/sim.md");
  simc->add_option("--metric", sopt.metric,
                   "Override: allocation at X% as the artifact's bin mean (bin) or at the end")
      ->check(CLI::IsMember({"bin", "end"}));
  simc->add_option("--mode", sopt.mode, "inflate (default) or replay")
      ->check(CLI::IsMember({"inflate", "replay"}));
  simc->add_option("--load", sopt.load,
                   "inflate: requested GPU as a fraction of capacity (default 1.3); replay: "
                   "arrival-rate factor (default 1)")
      ->check(CLI::Range(0.01, 1000.0));
  simc->add_option("--seed", sopt.seed, "First seed (default 1)");
  simc->add_option("--repeat", sopt.repeat, "Seeds per policy: seed, seed+1, ... (default 1)")
      ->check(CLI::Range(1, 1000));
  simc->add_option("--format", sopt.format, "text (default), md, json, csv or html (charts)")
      ->check(CLI::IsMember({"text", "md", "markdown", "json", "csv", "html"}));
  simc->add_flag("--save", sopt.save,
                 "Also store the runs in the results store (one batch; see colo report --sim)");
  simc->add_option("--share-frac", sopt.share_frac,
                   "Resample the pods so that this fraction of GPU pods are GPU shares")
      ->check(CLI::Range(0.0, 1.0));
  simc->add_option("--multi-frac", sopt.multi_frac,
                   "Resample the pods so that this fraction of GPU pods ask for several GPUs")
      ->check(CLI::Range(0.0, 1.0));
  simc->add_option("--cpu-frac", sopt.cpu_frac,
                   "Resample the pods so that this fraction of all pods are CPU-only "
                   "(CPU-heavy variant; below 1)")
      ->check(CLI::Range(0.0, 0.99));
  simc->add_option("-o,--output", sopt.output, "Output file (default: stdout)");
  bool top_once = false;
  auto* top = app.add_subcommand("top", "Live view of a running experiment (q or Ctrl-C quits)");
  top->add_option("experiment", id, "Experiment id (default: the newest)");
  top->add_flag("--once", top_once, "Print one frame and exit");
  std::string gpu_which = "auto";
  std::string topology;
  bool json = false;
  auto* gpus = app.add_subcommand("gpus", "List the GPUs colo sees");
  gpus->add_option("--gpu", gpu_which, "auto, sim or nvml")
      ->check(CLI::IsMember({"auto", "sim", "nvml"}));
  gpus->add_option("--sim-topology", topology, "Topology file for the simulated GPU");
  gpus->add_flag("--json", json, "JSON output");
  auto* doctor = app.add_subcommand(
      "doctor", "Check the driver, NVML, MPS, cgroups and the store; say what to fix");
  auto plan_cli = register_plan_commands(app, *run);
  auto slurm_cli = register_slurm_commands(app, *run, ropts);
  auto serve_cli = register_serve_commands(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) {
      out << (e.get_name() == "CallForVersion" ? std::string(COLO_VERSION) + "\n" : app.help());
      return 0;
    }
    err << "colo: " << e.what() << "\n" << "Run 'colo --help' for usage.\n";
    return 2;
  }
  // A Slurm job's colo (colo run --slurm) resumes its experiment or creates it.
  ropts.resume_or_create = !ropts.only_mode.empty() || !ropts.only_group.empty();
  if (const int rc = run_serve_commands(*serve_cli, out, err); rc >= 0) {
    return rc;  // colo serve/call use no results directory
  }
  const bool uses_results = !*gpus && !(*simc && !sopt.save);
  if (auto ok = uses_results ? check_results_dir(results) : Status{}; !ok) {
    return report_error(err, ok.error());
  }
  ropts.results_dir = results;
  ropts.progress_bar = &out == &std::cout && ::isatty(STDOUT_FILENO) != 0;
  try {
    if (const int rc = run_plan_commands(*plan_cli, ropts, out, err); rc >= 0) {
      return rc;
    }
    if (const int rc = run_slurm_commands(*slurm_cli, spec_path, ropts, out, err); rc >= 0) {
      return rc;
    }
    if (*run) {
      if (spec_path.empty()) {
        return report_error(err, Error{ErrorCode::invalid_argument,
                                       "colo run needs a spec file (or --plan PLAN.json)",
                                       {}});
      }
      if (const int rc = check_run_memory(spec_path, ropts, err); rc != 0) {
        return rc;
      }
      return with_run_metrics(metrics_addr, ropts, err,
                              [&] { return cmd_run(spec_path, ropts, out, err); });
    }
    if (*ls) {
      return cmd_ls(results, out, err);
    }
    if (*show) {
      return cmd_show(results, id, out, err);
    }
    if (*exp) {
      return cmd_export(results, id, format, output, out, err);
    }
    if (*simc) {
      sopt.policies.clear();
      std::string cur;
      for (char ch : policies + ",") {
        if (ch == ',') {
          if (!cur.empty()) {
            sopt.policies.push_back(cur);
          }
          cur.clear();
        } else {
          cur += ch;
        }
      }
      sopt.results_dir = results;
      return cmd_sim(sopt, out, err);
    }
    if (*doctor) {
      DoctorOptions dopt;
      dopt.results_dir = results;
      const auto checks = run_doctor(dopt);
      out << render_checks(checks);
      return doctor_exit_code(checks);
    }
    if (*top) {
      return cmd_top(results, id, top_once, out, err);
    }
    if (*rep && report_sim) {
      return cmd_sim_report(results, sim_batch, report_format, output, out, err);
    }
    if (*rep) {
      return cmd_report(results, id, report_format, output, max_slowdown, out, err);
    }
    if (*cmp) {
      return cmd_compare(results, cargs, out, err);
    }
    if (*gpus) {
      return cmd_gpus(gpu_which, topology, json, out, err);
    }
  } catch (const std::exception& e) {
    err << "colo: internal error: " << e.what() << "\n";
    return 1;
  }
  return 2;
}

}  // namespace colo
