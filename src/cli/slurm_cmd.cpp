#include "cli/slurm_cmd.hpp"

#include <unistd.h>

#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <ostream>
#include <set>
#include <thread>

#include "cli/cli_common.hpp"
#include "cluster/command.hpp"
#include "cluster/slurm_client.hpp"
#include "cluster/slurm_conf.hpp"
#include "cluster/slurm_jobs.hpp"
#include "core/clock.hpp"
#include "core/run_plan.hpp"
#include "core/spec.hpp"
#include "engine/backend_factory.hpp"
#include "engine/engine.hpp"
#include "launch/interrupt.hpp"
#include "report/summary.hpp"
#include "store/store.hpp"

namespace colo {

namespace fs = std::filesystem;
using namespace cluster;  // NOLINT(google-build-using-namespace)

struct SlurmCli {
  CLI::App* config = nullptr;
  CLI::App* run = nullptr;
  std::string gpu = "auto";
  std::string topology;
  std::string device_prefix = "/dev/nvidia";
  GresOptions gres;
  bool check = false;
  bool slurm = false;
  std::string partition;
  std::string account;
  std::string time;
};

void SlurmCliDeleter::operator()(SlurmCli* p) const {
  delete p;  // NOLINT(cppcoreguidelines-owning-memory)
}

namespace {

constexpr auto k_poll = std::chrono::milliseconds(500);

std::string short_host() {
  char buf[256] = {};
  ::gethostname(buf, sizeof(buf) - 1);
  std::string h = buf;
  return h.substr(0, h.find('.'));
}

int cmd_slurm_config(const SlurmCli& c, std::ostream& out, std::ostream& err) {
  bool simulated = false;
  auto devs = detect_gpus(c.gpu, c.topology, err, &simulated);
  if (!devs) {
    return report_error(err, devs.error());
  }
  std::vector<GresGpu> gpus;
  for (const auto& d : *devs) {
    gpus.push_back({d.index, d.name, fmt::format("{}{}", c.device_prefix, d.index)});
  }
  GresOptions opts = c.gres;
  if (opts.node.empty()) {
    opts.node = short_host();
  }
  if (!c.check) {
    out << render_slurm_config(slurm_config(gpus, opts), gpus, opts, simulated);
    return 0;
  }
  ProcessRunner runner;
  SlurmClient slurm(runner);
  auto config = slurm.show_config();
  if (!config) {
    return report_error(err, config.error());
  }
  auto nodes = slurm.show_nodes();
  if (!nodes) {
    return report_error(err, nodes.error());
  }
  const auto items = check_slurm(*config, *nodes, gpus, opts);
  out << fmt::format("colo slurm config --check: node {}, {} GPU(s){}\n", opts.node, gpus.size(),
                     simulated ? " (SIMULATED GPU)" : "");
  out << render_check(items);
  return std::all_of(items.begin(), items.end(), [](const CheckItem& i) { return i.ok; }) ? 0 : 1;
}

// The absolute path of the running colo (jobs run it again on the node).
std::string self_exe() {
  std::error_code ec;
  auto p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("colo") : p.string();
}

// Units of an unfinished experiment that still have runs to do (all units for a new one).
Result<std::set<std::string>> done_units(const std::string& results, const ExperimentSpec& spec,
                                         bool resume, std::ostream& err) {
  std::set<std::string> done;
  if (!fs::exists(store_path(results))) {
    if (resume) {
      return fail(ErrorCode::not_found,
                  fmt::format("nothing to resume: no colo store in '{}'", results));
    }
    return done;
  }
  auto store = Store::open(store_path(results), OpenMode::read_only);
  if (!store) {
    return fail(store.error());
  }
  auto prev = store->latest_unfinished(spec.name);
  if (!prev) {
    return fail(prev.error());
  }
  if (!*prev) {
    if (resume) {
      return fail(ErrorCode::not_found,
                  fmt::format("nothing to resume: no unfinished experiment named '{}' in '{}'",
                              spec.name, results));
    }
    return done;
  }
  if (!resume) {
    return fail(ErrorCode::invalid_argument,
                fmt::format("experiment {} '{}' is unfinished in '{}': continue it with colo run "
                            "--slurm --resume, or use another --results",
                            (*prev)->id, spec.name, results));
  }
  if ((*prev)->spec_hash != spec_hash(spec.source_text)) {
    return fail(ErrorCode::invalid_argument,
                fmt::format("cannot resume experiment {} '{}': its spec changed since it started",
                            (*prev)->id, spec.name));
  }
  auto runs = store->runs((*prev)->id);
  if (!runs) {
    return fail(runs.error());
  }
  std::map<std::string, bool> all_done;
  for (const auto& r : *runs) {
    const std::string unit = r.mode + " " + r.group;
    auto [it, fresh] = all_done.emplace(unit, true);
    it->second = it->second && r.status == RunStatus::done;
  }
  for (const auto& [unit, ok] : all_done) {
    if (ok) {
      done.insert(unit);
    }
  }
  err << fmt::format("colo: resuming experiment {} '{}' on Slurm: {} of {} job unit(s) done\n",
                     (*prev)->id, spec.name, done.size(), all_done.size());
  return done;
}

struct Submitted {
  SlurmUnit unit;
  std::string id;
  std::string log;
  std::string state = "SUBMITTED";
};

enum class Followed { finished, interrupted, lost };

// Polls the jobs until all have left the queue; scancels them on SIGINT/SIGTERM. `lost` when
// squeue failed k_max_poll_failures times in a row (the controller gone: the jobs may still run).
Followed follow(SlurmClient& slurm, std::vector<Submitted>& jobs, std::ostream& err) {
  constexpr int k_max_poll_failures = 30;  // about a minute
  std::size_t finished = 0;
  std::set<std::string> final;
  int failures = 0;
  while (finished < jobs.size()) {
    if (Interrupt::raised()) {
      std::vector<std::string> live;
      for (const auto& j : jobs) {
        if (final.count(j.id) == 0) {
          live.push_back(j.id);
        }
      }
      err << fmt::format("colo: interrupted: cancelling {} Slurm job(s)\n", live.size());
      if (auto st = slurm.cancel(live); !st) {
        err << "colo: error: " << st.error().what() << "\n";
      }
      return Followed::interrupted;
    }
    std::vector<std::string> ids;
    for (const auto& j : jobs) {
      if (final.count(j.id) == 0) {
        ids.push_back(j.id);
      }
    }
    auto q = slurm.queue(ids);
    if (!q) {
      if (++failures >= k_max_poll_failures) {
        err << fmt::format("colo: error: lost contact with Slurm: {}\n", q.error().what());
        return Followed::lost;
      }
      err << fmt::format("colo: warning: {}; retrying\n", q.error().what());
      std::this_thread::sleep_for(k_poll * 4);
      continue;
    }
    failures = 0;
    std::map<std::string, JobState> live;
    for (auto& s : *q) {
      live[s.id] = s;
    }
    for (auto& j : jobs) {
      if (final.count(j.id) != 0) {
        continue;
      }
      JobState s;
      if (auto it = live.find(j.id); it != live.end()) {
        s = it->second;
      } else {
        auto f = slurm.final_state(j.id);
        if (!f) {
          s = JobState{j.id, "UNKNOWN", f.error().what(), ""};
        } else {
          s = *f;
        }
      }
      const bool is_final = live.count(j.id) == 0;
      if (s.state != j.state) {
        j.state = s.state;
        err << fmt::format("colo: job {} ({}, --gres={}): {}{}\n", j.id, j.unit.label(),
                           j.unit.gres, s.state,
                           s.reason.empty() || s.reason == "None" ? "" : " (" + s.reason + ")");
      }
      if (is_final) {
        final.insert(j.id);
        ++finished;
        err << fmt::format("colo: [{}/{}] Slurm jobs finished\n", finished, jobs.size());
      }
    }
    if (finished < jobs.size()) {
      std::this_thread::sleep_for(k_poll);
    }
  }
  return Followed::finished;
}

int cmd_run_slurm(const SlurmCli& c, const std::string& spec_path, const EngineOptions& ropts,
                  std::ostream& out, std::ostream& err) {
  Interrupt::install();
  if (spec_path.empty()) {
    return report_error(
        err, Error{ErrorCode::invalid_argument, "colo run --slurm needs a spec file", {}});
  }
  auto spec = load_spec(spec_path);
  if (!spec) {
    return report_error(err, spec.error());
  }
  auto runs = expand_runs(*spec);
  if (!runs) {
    return report_error(err, runs.error());
  }
  const std::string results = fs::absolute(ropts.results_dir).lexically_normal().string();
  auto done = done_units(results, *spec, ropts.resume, err);
  if (!done) {
    return report_error(err, done.error());
  }
  ProcessRunner runner;
  SlurmClient slurm(runner);
  if (auto cfg = slurm.show_config(); !cfg) {
    return report_error(err, cfg.error());
  }
  const std::string dir = results + "/slurm";
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    return report_error(err, Error{ErrorCode::io, "cannot create " + dir, ec.message()});
  }
  const std::string spec_abs = fs::absolute(spec_path).lexically_normal().string();
  const std::string job_name = "colo-" + spec->name;
  std::vector<Submitted> jobs;
  int k = 0;
  const auto units = slurm_units(*runs, static_cast<int>(spec->gpus.size()));
  for (const auto& u : units) {
    ++k;
    if (done->count(u.label()) != 0) {
      continue;
    }
    SbatchJob job;
    job.name = job_name;
    job.gres = u.gres;
    job.partition = c.partition;
    job.account = c.account;
    job.time = c.time;
    job.output = fmt::format("{}/{}-{}-%j.out", dir, spec->name, k);
    job.singleton = true;  // one colo at a time on the experiment's store
    job.comment = fmt::format("colo run --slurm: experiment '{}', unit {}/{}: {} ({} run(s))",
                              spec->name, k, units.size(), u.label(), u.runs);
    job.commands.push_back(
        fmt::format("exec {} --results {} run {} --slurm-job-mode {} --slurm-job-group {}",
                    shell_quote(self_exe()), shell_quote(results), shell_quote(spec_abs),
                    shell_quote(u.mode), shell_quote(u.group)));
    const std::string script = fmt::format("{}/{}-{}.sbatch", dir, spec->name, k);
    if (auto st = write_file_atomically(script, render_sbatch(job)); !st) {
      return report_error(err, st.error());
    }
    auto id = slurm.submit(script);
    if (!id) {
      std::vector<std::string> ids;
      for (const auto& j : jobs) {
        ids.push_back(j.id);
      }
      (void)slurm.cancel(ids);
      if (!ids.empty()) {
        err << fmt::format("colo: cancelled the {} job(s) submitted before\n", ids.size());
      }
      return report_error(err, id.error());
    }
    err << fmt::format("colo: submitted job {}: {} --gres={} ({} run(s)), script {}\n", *id,
                       u.label(), u.gres, u.runs, script);
    jobs.push_back({u, *id, job.output, "SUBMITTED"});
  }
  if (jobs.empty()) {
    err << "colo: every unit of the experiment is done; nothing to submit\n";
  }
  const std::string resume_hint =
      fmt::format("colo run --slurm --resume {}{}", spec_path,
                  ropts.results_dir == "colo-results" ? "" : " --results " + ropts.results_dir);
  const auto followed = follow(slurm, jobs, err);
  if (followed == Followed::interrupted) {
    err << "colo: interrupted; finished runs are stored. Continue with: " << resume_hint << "\n";
    return 130;
  }
  if (followed == Followed::lost) {
    err << "colo: the jobs may still be queued or running (squeue -n " << job_name
        << "); finished runs are stored. Continue with: " << resume_hint << "\n";
    return 1;
  }
  int bad = 0;
  for (const auto& j : jobs) {
    if (j.state != "COMPLETED") {
      ++bad;
      std::string log = j.log;
      if (const auto p = log.find("%j"); p != std::string::npos) {
        log.replace(p, 2, j.id);
      }
      err << fmt::format("colo: job {} ({}) ended {}{}; its log: {}\n", j.id, j.unit.label(),
                         j.state, j.state == "CANCELLED" ? " (cancelled outside colo)" : "", log);
    }
  }
  auto store = Store::open(store_path(results), OpenMode::read_only);
  auto exps = store ? store->experiments() : Result<std::vector<ExperimentRecord>>{};
  if (store && exps) {
    const ExperimentRecord* newest = nullptr;
    for (const auto& e : *exps) {
      if (e.name == spec->name && (!newest || e.id > newest->id)) {
        newest = &e;
      }
    }
    if (newest) {
      const auto& e = *newest;
      if (auto data = load_run_data(*store, e.id)) {
        out << "\n" << render_text(summarize(e, *data));
        if (e.status != "done") {
          err << fmt::format("colo: experiment {} is {}\n", e.id, e.status);
        }
      }
    }
  }
  if (bad > 0) {
    err << fmt::format(
        "colo: {} Slurm job(s) did not complete; the experiment stays resumable: {}\n", bad,
        resume_hint);
    return 1;
  }
  return 0;
}

}  // namespace

SlurmCliPtr register_slurm_commands(CLI::App& app, CLI::App& run, EngineOptions& ropts) {
  SlurmCliPtr c(new SlurmCli);  // NOLINT(cppcoreguidelines-owning-memory)
  auto* slurm =
      app.add_subcommand("slurm", "Slurm: gres configuration for GPU sharing (docs/slurm.md)");
  slurm->require_subcommand(1);
  c->config = slurm->add_subcommand(
      "config",
      "Print the gres.conf/slurm.conf lines for gpu, mps and shard; --check compares "
      "the running cluster's configuration");
  c->config->add_option("--gpu", c->gpu, "auto, sim or nvml")
      ->check(CLI::IsMember({"auto", "sim", "nvml"}));
  c->config->add_option("--sim-topology", c->topology, "Topology file for the simulated GPU");
  c->config->add_option("--node", c->gres.node, "NodeName (default: this host's short name)");
  c->config->add_option("--mps-count", c->gres.mps_per_gpu, "mps Count per GPU (default 100)")
      ->check(CLI::Range(1, 100000));
  c->config->add_option("--shards", c->gres.shards_per_gpu, "shard Count per GPU (default 4)")
      ->check(CLI::Range(1, 100000));
  c->config->add_option("--device-prefix", c->device_prefix,
                        "Device file of GPU N is PREFIX<N> (default /dev/nvidia)");
  c->config->add_flag("--check", c->check,
                      "Compare with scontrol show config / show node -o; exit 1 when lines are "
                      "missing");
  c->run = &run;
  run.add_flag("--slurm", c->slurm,
               "Run each (mode, group) of the experiment as a Slurm job and follow them");
  run.add_option("--partition", c->partition, "--slurm: the partition (default: Slurm's)");
  run.add_option("--account", c->account, "--slurm: the account");
  run.add_option("--time", c->time, "--slurm: each job's time limit (Slurm's format)");
  run.add_option("--slurm-job-mode", ropts.only_mode,
                 "Inside a Slurm job of colo run --slurm: run only this mode's runs")
      ->group("");
  run.add_option("--slurm-job-group", ropts.only_group,
                 "Inside a Slurm job of colo run --slurm: run only this group's runs")
      ->group("");
  return c;
}

int run_slurm_commands(const SlurmCli& c, const std::string& spec_path, const EngineOptions& ropts,
                       std::ostream& out, std::ostream& err) {
  if (*c.config) {
    return cmd_slurm_config(c, out, err);
  }
  if (*c.run && c.slurm) {
    return cmd_run_slurm(c, spec_path, ropts, out, err);
  }
  return -1;
}

}  // namespace colo
