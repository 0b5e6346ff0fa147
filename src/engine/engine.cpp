#include "engine/engine.hpp"

#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <map>

#include "core/private_dir.hpp"
#include "core/run_plan.hpp"
#include "core/units.hpp"
#include "engine/backend_factory.hpp"
#include "gpu/mps/mps_daemon.hpp"
#include "launch/interrupt.hpp"
#include "launch/process.hpp"
#include "launch/supervisor.hpp"
#include "monitor/sampler.hpp"
#include "store/store.hpp"

namespace colo {
namespace fs = std::filesystem;

std::string spec_hash(const std::string& text) {
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return fmt::format("{:016x}", h);
}

std::string store_path(const std::string& results_dir) {
  return (fs::path(results_dir) / "colo.db").string();
}

Result<std::vector<RunData>> load_run_data(Store& store, ExperimentId id) {
  auto runs = store.runs(id);
  if (!runs) {
    return fail(runs.error());
  }
  std::vector<RunData> out;
  for (auto& r : *runs) {
    auto ws = store.workloads(r.id);
    if (!ws) {
      return fail(ws.error());
    }
    // Energy over the measurement window: after the warm-up, as long as the longest window.
    double from = 0;
    double window = 0;
    try {
      from = nlohmann::json::parse(r.settings_json).at("warmup").value("duration_s", 0.0);
    } catch (const std::exception&) {
      from = 0;
    }
    for (const auto& w : *ws) {
      window = std::max(window, w.window_s);
    }
    std::optional<double> energy;
    if (window > 0) {
      auto samples = store.samples(r.id);
      if (!samples) {
        return fail(samples.error());
      }
      energy = energy_in_window(*samples, from, from + window);
    }
    out.push_back({std::move(r), std::move(*ws), energy});
  }
  return out;
}

namespace {

std::string self_dir() {
  std::error_code ec;
  auto p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string(".") : p.parent_path().string();
}

// argv prefix of a builtin workload: its program and, for the CUDA ones, the mode.
std::vector<std::string> builtin_argv(const std::string& dir, const std::string& name) {
  if (name == "cpu") {
    return {(fs::path(dir) / "colo-cpu-work").string()};
  }
  if (name.rfind("cuda-", 0) == 0) {
    return {(fs::path(dir) / "colo-cuda-work").string(), name.substr(5)};
  }
  return {(fs::path(dir) / "colo-sim-gpu").string()};
}

std::string sanitize(const std::string& s) {
  std::string out;
  for (char c : s) {
    out += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.') ? c : '_';
  }
  return out.substr(0, 48);
}

// Resolves builtins and checks every executable and working directory before anything runs.
Status resolve_commands(const ExperimentSpec& spec, std::vector<RunPlan>& runs,
                        const std::string& workload_dir, bool simulated) {
  for (auto& run : runs) {
    for (auto& c : run.clients) {
      const auto* w = spec.find_workload(c.workload);
      const std::string where =
          fmt::format("{}:{}: workloads.{}", spec.source_path, w->line, c.workload);
      if (c.argv[0].rfind(k_builtin_prefix, 0) == 0) {
        const std::string name = c.argv[0].substr(std::string(k_builtin_prefix).size());
        if (name == "sim-gpu" && !simulated) {
          return fail(ErrorCode::invalid_argument,
                      fmt::format("{}: builtin 'sim-gpu' runs only on the simulated GPU "
                                  "(--gpu sim); on a real GPU use a real workload",
                                  where));
        }
        auto prefix = builtin_argv(workload_dir, name);
        c.argv.erase(c.argv.begin());
        c.argv.insert(c.argv.begin(), prefix.begin(), prefix.end());
        if (name.rfind("cuda-", 0) == 0 && !fs::exists(c.argv[0])) {
          return fail(ErrorCode::not_found,
                      fmt::format("{}: builtin '{}' needs colo-cuda-work, which is built only "
                                  "where nvcc was found at build time",
                                  where, name));
        }
      }
      if (!fs::is_directory(c.cwd)) {
        return fail(ErrorCode::not_found,
                    fmt::format("{}.cwd: directory '{}' does not exist", where, c.cwd));
      }
      auto exe = resolve_executable(c.argv[0], c.cwd);
      if (!exe) {
        return fail(ErrorCode::not_found, fmt::format("{}.cmd: {}", where, exe.error().message));
      }
    }
  }
  return {};
}

// Measurement of one workload from its step events (docs/metrics.md).
struct WindowStats {
  std::vector<std::pair<double, double>> steps;  // (t, samples) after the barrier
};

void measure(const ExperimentSpec& spec, const WindowStats& ws, const ClientOutcome& o,
             bool progress, WorkloadRecord& w) {
  w.steps = o.steps;
  w.runtime_s = o.runtime_s;
  if (!progress) {
    return;
  }
  double start = spec.warmup.duration.count();
  if (spec.warmup.steps > 0) {
    if (static_cast<std::int64_t>(ws.steps.size()) >= spec.warmup.steps) {
      start = std::max(start, ws.steps[static_cast<std::size_t>(spec.warmup.steps - 1)].first);
    } else {
      start = std::numeric_limits<double>::infinity();
    }
  }
  const bool cut_by_duration =
      spec.stop.duration && o.facts.stopped_by_colo && o.runtime_s >= spec.stop.duration->count();
  double end = 0;
  if (cut_by_duration) {
    end = spec.stop.duration->count();
  } else if (!ws.steps.empty()) {
    end = ws.steps.back().first;
  }
  double samples = 0;
  for (const auto& [t, s] : ws.steps) {
    if (t > start && t <= end) {
      samples += s;
    }
  }
  w.samples = samples;
  w.window_s = std::isfinite(start) && end > start ? end - start : 0;
  if (w.window_s > 0) {
    w.throughput = samples / w.window_s;
  }
}

class RunObserver final : public SupervisorObserver {
 public:
  RunObserver(Store& store, Sampler& sampler, const Clock& clock, RunId run,
              std::vector<WorkloadRecord>& records)
      : m_store(store),
        m_sampler(sampler),
        m_clock(clock),
        m_run(run),
        m_records(records),
        m_windows(records.size()),
        m_start(to_seconds(clock.now())) {}

  void on_started(int client, pid_t pid) override {
    m_records[static_cast<std::size_t>(client)].pid = pid;
    m_targets[client] = pid;
    m_sampler.set_targets(m_targets);
  }
  void on_released() override { m_release = to_seconds(m_clock.now()); }
  // Steps before the barrier (workload warm-up) are stored but not measured.
  void on_event(int client, double t, const ProgressEvent& e) override {
    if (e.kind != ProgressKind::step) {
      return;
    }
    auto& rec = m_records[static_cast<std::size_t>(client)];
    m_progress.push_back(
        {rec.id, t, e.step.value_or(m_step_count[client] + 1), e.samples, e.loss, e.latency_ms});
    ++m_step_count[client];
    if (m_release) {
      m_windows[static_cast<std::size_t>(client)].steps.emplace_back(t, e.samples);
    }
  }
  void on_tick(double /*t*/) override {
    if (to_seconds(m_clock.now()) - m_last_flush >= 0.5) {
      flush();
    }
  }

  // Writes buffered progress and samples; store errors are kept and reported at the end.
  void flush() {
    m_last_flush = to_seconds(m_clock.now());
    if (auto st = m_store.add_progress(m_progress); !st && !m_error) {
      m_error = st.error();
    }
    m_progress.clear();
    std::vector<SampleRow> rows;
    for (auto& s : m_sampler.drain()) {
      SampleRow r;
      r.run_id = m_run;
      r.t = s.t - m_release.value_or(m_start);
      if (s.target) {
        const auto& rec = m_records[static_cast<std::size_t>(*s.target)];
        r.workload_id = rec.id;
        auto& w = m_records[static_cast<std::size_t>(*s.target)];
        if (s.metric == "host.rss_bytes") {
          w.peak_rss_bytes = std::max(w.peak_rss_bytes, s.value);
        } else if (s.metric == "gpu.mem_bytes") {
          w.peak_gpu_mem_bytes = std::max(w.peak_gpu_mem_bytes, s.value);
        }
      }
      r.gpu = s.gpu;
      r.metric = s.metric;
      r.value = s.value;
      rows.push_back(std::move(r));
    }
    if (auto st = m_store.add_samples(rows); !st && !m_error) {
      m_error = st.error();
    }
  }

  [[nodiscard]] const WindowStats& window(int client) const {
    return m_windows[static_cast<std::size_t>(client)];
  }
  [[nodiscard]] const std::optional<Error>& error() const { return m_error; }

 private:
  Store& m_store;
  Sampler& m_sampler;
  const Clock& m_clock;
  RunId m_run;
  std::vector<WorkloadRecord>& m_records;
  std::vector<WindowStats> m_windows;
  std::map<int, pid_t> m_targets;
  std::map<int, std::int64_t> m_step_count;
  std::vector<ProgressRow> m_progress;
  double m_start;                   // seconds: sample times of a run never released count from here
  std::optional<double> m_release;  // seconds: the start barrier's release
  double m_last_flush = 0;
  std::optional<Error> m_error;
};

struct Context {
  const ExperimentSpec& spec;
  const EngineOptions& opts;
  const Clock& clock;
  std::ostream& log;
  GpuBackend& backend;
  Store& store;
  std::string token;
  ExperimentId exp_id = 0;
  std::string logs_dir;
};

// How client `index` of a run is started: its command, its environment plus the mode's.
ClientLaunch make_launch(const ClientPlan& c, const ModeSession& session, int index,
                         const std::string& experiment, std::string stdout_path,
                         std::string stderr_path) {
  ClientLaunch l;
  l.label = c.label();
  l.progress = c.progress;
  l.spawn.argv = c.argv;
  l.spawn.cwd = c.cwd;
  l.spawn.env = c.env;
  for (const auto& [k, v] : session.client_env(c, index)) {
    l.spawn.env[k] = v;
  }
  l.spawn.env["COLO_EXPERIMENT"] = experiment;
  l.spawn.stdout_path = std::move(stdout_path);
  l.spawn.stderr_path = std::move(stderr_path);
  return l;
}

// The spec's per-workload bounds (cgroup pids.max, captured output cap) on a launch.
ClientLaunch with_limits(ClientLaunch l, const Limits& limits) {
  l.spawn.pids_max = limits.pids;
  l.spawn.output_limit = limits.output;
  return l;
}

// Runs one planned run. Returns the number of workloads that did not end ok; sets interrupted.
Result<int> execute_run(Context& ctx, const RunPlan& plan, RunRecord& rec, bool& interrupted) {
  const auto& spec = ctx.spec;
  const std::string run_dir = fmt::format(
      "{}/{:03d}-{}", ctx.logs_dir, rec.seq,
      sanitize(plan.mode.label() + "-" + plan.group + "-r" + std::to_string(plan.repetition)));
  COLO_TRY(create_private_dir(run_dir));  // 0700: workload output is the user's alone
  auto session = ctx.backend.begin_mode(plan.mode, spec.gpus, run_dir);
  if (!session) {
    return fail(session.error());
  }
  COLO_TRY(ctx.store.start_run(rec.id, ctx.clock.unix_now()));
  std::vector<WorkloadRecord> records;
  std::vector<ClientLaunch> launches;
  for (std::size_t i = 0; i < plan.clients.size(); ++i) {
    const auto& c = plan.clients[i];
    WorkloadRecord w;
    w.run_id = rec.id;
    w.name = c.workload;
    w.copy = c.copy;
    w.gpu = device_for_client(spec.gpus, static_cast<int>(i));
    w.argv_json = nlohmann::json(c.argv).dump();
    w.stdout_path = fmt::format("{}/{}.{}.out", run_dir, c.workload, c.copy);
    w.stderr_path = fmt::format("{}/{}.{}.err", run_dir, c.workload, c.copy);
    w.exit_class = ExitClass::interrupted;
    w.message = "running";
    auto id = ctx.store.add_workload(w);
    if (!id) {
      return fail(id.error());
    }
    w.id = *id;
    records.push_back(w);
    auto l = with_limits(
        make_launch(c, **session, static_cast<int>(i), spec.name, w.stdout_path, w.stderr_path),
        spec.limits);
    l.spawn.env["COLO_RUN_KEY"] = plan.key;
    if (plan.clients[i].sms) {
      l.spawn.env["COLO_GREEN_OFFSET"] = std::to_string(green_offsets(plan.clients, spec.gpus)[i]);
    }
    launches.push_back(std::move(l));
  }
  StopPolicy policy;
  policy.duration = spec.stop.duration;
  policy.steps = spec.stop.steps;
  policy.on_exit = spec.stop.on_exit;
  policy.timeout = spec.stop.timeout;
  policy.grace = spec.grace;
  policy.init_timeout = spec.init_timeout;
  Sampler sampler(&ctx.backend, ctx.clock, spec.sample_period, spec.gpus);
  RunObserver obs(ctx.store, sampler, ctx.clock, rec.id, records);
  sampler.start();
  const auto t_start = ctx.clock.now();
  auto result = supervise(std::move(launches), policy, ctx.clock, obs, ctx.token);
  sampler.stop();
  obs.flush();
  const auto faults = (*session)->faults();
  auto ended = (*session)->end();
  if (!result) {
    return fail(result.error());
  }
  int failed = 0;
  for (std::size_t i = 0; i < records.size(); ++i) {
    auto& w = records[i];
    const auto& o = result->clients[i];
    w.pid = o.pid;
    w.exit_class = o.classification.exit_class;
    w.message = o.classification.message;
    w.exit_code = o.facts.exit_code;
    w.signal = o.facts.signal;
    // The sharing machinery saw this client fault (e.g. MPS tore it down): say so.
    for (const auto& f : faults) {
      if (f.pid == o.pid && w.exit_class != ExitClass::ok) {
        w.exit_class = ExitClass::gpu_fault;
        w.message = "GPU fault (MPS server log): " + f.message.substr(0, 300);
      }
    }
    measure(spec, obs.window(static_cast<int>(i)), o, plan.clients[i].progress, w);
    if (w.exit_class != ExitClass::ok) {
      ++failed;
    }
    COLO_TRY(ctx.store.update_workload(w));
  }
  interrupted = result->interrupted;
  rec.finished_at = ctx.clock.unix_now();
  rec.wall_s = to_seconds(ctx.clock.now() - t_start);
  rec.status = interrupted ? RunStatus::interrupted
                           : (result->released ? RunStatus::done : RunStatus::failed);
  if (!result->released && !interrupted) {
    rec.error = "the start barrier was never released: a workload failed to start";
  }
  if (!ended) {
    rec.error += (rec.error.empty() ? "" : "; ") + ended.error().what();
  }
  if (obs.error()) {
    return fail(*obs.error());
  }
  COLO_TRY(ctx.store.finish_run(rec));
  std::string line = fmt::format("  done in {:.1f} s:", rec.wall_s);
  for (const auto& w : records) {
    line += fmt::format(" {}#{} {}", w.name, w.copy,
                        w.throughput ? fmt::format("{:.4g} samp/s", *w.throughput)
                                     : fmt::format("{:.2f} s", w.runtime_s));
    if (w.exit_class != ExitClass::ok) {
      line += fmt::format(" [{}: {}]", to_string(w.exit_class), w.message.substr(0, 160));
    }
  }
  if (result->swept > 0) {
    line += fmt::format(" (killed {} stray process(es))", result->swept);
  }
  ctx.log << line << "\n" << std::flush;
  return failed;
}

// Runs the first client of `plan` alone for spec.warmup_run, recording nothing, so that the
// first measured run does not meet a cold GPU (clocks, driver and library caches).
Status warm_up(Context& ctx, const RunPlan& plan) {
  const std::string dir = ctx.logs_dir + "/warmup";
  COLO_TRY(create_private_dir(dir));
  ModeSettings solo;
  auto session = ctx.backend.begin_mode(solo, ctx.spec.gpus, dir);
  if (!session) {
    return fail(session.error());
  }
  const auto& c = plan.clients.front();
  auto l = with_limits(
      make_launch(c, **session, 0, ctx.spec.name, dir + "/warmup.out", dir + "/warmup.err"),
      ctx.spec.limits);
  StopPolicy policy;
  policy.duration = ctx.spec.warmup_run;
  policy.grace = ctx.spec.grace;
  policy.init_timeout = ctx.spec.init_timeout;
  SupervisorObserver quiet;
  ctx.log << fmt::format("colo: warm-up run of {} for {} (not recorded)\n", c.label(),
                         format_duration(ctx.spec.warmup_run))
          << std::flush;
  auto r = supervise({l}, policy, ctx.clock, quiet, ctx.token);
  (void)(*session)->end();
  if (!r) {
    return fail(r.error());
  }
  return {};
}

std::string host_name() {
  char buf[256] = {};
  ::gethostname(buf, sizeof(buf) - 1);
  return buf;
}

}  // namespace

Result<EngineResult> run_experiment(const ExperimentSpec& spec, const EngineOptions& opts_in,
                                    const Clock& clock, std::ostream& log) {
  EngineOptions opts = opts_in;
  // Workloads run in their own directories: every path handed to them is absolute.
  opts.results_dir = fs::absolute(opts.results_dir).lexically_normal().string();
  auto planned = expand_runs(spec);
  if (!planned) {
    return fail(planned.error());
  }
  const std::string which = opts.gpu.empty() ? spec.gpu_backend : opts.gpu;
  auto choice = make_backend(which, clock, opts.sim_topology);
  if (!choice) {
    return fail(choice.error());
  }
  auto& backend = *choice->backend;
  if (!choice->notice.empty()) {
    log << "colo: " << choice->notice << "\n";
  }
  for (const auto& run : *planned) {
    COLO_TRY(backend.check_mode(run.mode, spec.gpus));
  }
  const std::string workload_dir =
      !opts.workload_dir.empty()
          ? opts.workload_dir
          : (std::getenv("COLO_WORKLOAD_DIR") ? std::getenv("COLO_WORKLOAD_DIR") : self_dir());
  COLO_TRY(resolve_commands(spec, *planned, workload_dir, backend.simulated()));
  auto devices = backend.devices();
  if (!devices) {
    return fail(devices.error());
  }
  EngineResult result;
  result.runs_planned = static_cast<int>(planned->size());
  if (!backend.simulated() && !opts.dry_run) {
    if (int stale = cleanup_stale_mps(); stale > 0) {
      log << fmt::format("colo: quit {} stale MPS daemon(s) left by a colo that died\n", stale);
    }
  }
  if (opts.dry_run) {
    log << fmt::format("plan: {} runs on {}{}\n", planned->size(), backend.name(),
                       backend.simulated() ? " (simulated)" : "");
    for (const auto& r : *planned) {
      log << "  " << r.key << "\n";
    }
    return result;
  }

  // From here on processes start: the guard kills them all if colo dies.
  const std::string token = make_run_token();
  auto guard = Guard::start(token);
  if (!guard) {
    return fail(guard.error());
  }
  become_subreaper();
  log << "colo: process containment: " << host_containment().describe() << "\n";

  const std::string db = store_path(opts.results_dir);
  // Created 0700 (an existing one keeps its mode: `colo doctor` reports one open to others);
  // its logs directory is colo's own and made 0700.
  COLO_TRY(create_private_dir(opts.results_dir, ExistingDir::keep_mode));
  COLO_TRY(create_private_dir(opts.results_dir + "/logs"));
  auto lock = StoreLock::acquire(db);
  if (!lock) {
    return fail(lock.error());
  }
  auto store = Store::open(db);
  if (!store) {
    return fail(store.error());
  }
  for (const char* suffix : {"", "-wal", "-shm"}) {
    (void)make_private_file(db + suffix);  // 0600; best effort, the directory is what guards
  }

  // Experiment: new, or the unfinished one being resumed.
  ExperimentRecord exp;
  const std::string hash = spec_hash(spec.source_text);
  double prior_wall = 0;
  if (opts.resume) {
    auto prev = store->latest_unfinished(spec.name);
    if (!prev) {
      return fail(prev.error());
    }
    if (!*prev) {
      return fail(ErrorCode::not_found,
                  fmt::format("nothing to resume: no unfinished experiment named '{}' in '{}'",
                              spec.name, db));
    }
    if ((*prev)->spec_hash != hash) {
      return fail(ErrorCode::invalid_argument,
                  fmt::format("cannot resume experiment {} '{}': its spec changed since it "
                              "started; run without --resume to start a new experiment",
                              (*prev)->id, spec.name));
    }
    exp = **prev;
    prior_wall = exp.wall_s;
    log << fmt::format("colo: resuming experiment {} '{}'\n", exp.id, exp.name);
  } else {
    nlohmann::json gj = nlohmann::json::array();
    for (const auto& d : *devices) {
      if (std::find(spec.gpus.begin(), spec.gpus.end(), d.index) == spec.gpus.end()) {
        continue;
      }
      gj.push_back(to_json(d));
    }
    exp.name = spec.name;
    exp.spec_path = spec.source_path;
    exp.spec_yaml = spec.source_text;
    exp.spec_hash = hash;
    exp.backend = backend.name();
    exp.simulated = backend.simulated();
    exp.gpu_json = gj.dump();
    exp.colo_version = COLO_VERSION;
    exp.host = host_name();
    exp.status = "running";
    exp.created_at = clock.unix_now();
    auto id = store->create_experiment(exp);
    if (!id) {
      return fail(id.error());
    }
    exp.id = *id;
    std::vector<RunRecord> recs;
    int seq = 0;
    for (const auto& r : *planned) {
      RunRecord rr;
      rr.seq = seq++;
      rr.key = r.key;
      rr.repetition = r.repetition;
      rr.mode = r.mode.label();
      rr.mode_kind = to_string(r.mode.kind);
      rr.group = r.group;
      rr.sweep = r.sweep_label();
      rr.settings_json = r.settings_json(spec).dump();
      recs.push_back(rr);
    }
    COLO_TRY(store->add_runs(exp.id, recs));
    log << fmt::format("colo: experiment {} '{}': {} runs on {} -> {}\n", exp.id, exp.name,
                       planned->size(),
                       backend.simulated() ? "the SIMULATED GPU" : backend.name() + " GPU(s)", db);
  }
  result.id = exp.id;
  COLO_TRY(store->update_experiment_status(exp.id, "running", 0, prior_wall));

  auto stored = store->runs(exp.id);
  if (!stored) {
    return fail(stored.error());
  }
  std::map<std::string, const RunPlan*> by_key;
  for (const auto& r : *planned) {
    by_key[r.key] = &r;
  }
  Context ctx{spec,  opts,    clock,
              log,   backend, *store,
              token, exp.id,  fmt::format("{}/logs/e{}", opts.results_dir, exp.id)};
  const auto t0 = clock.now();
  const int total = static_cast<int>(stored->size());
  bool interrupted = false;
  std::optional<Error> fatal;
  const bool any_pending = std::any_of(stored->begin(), stored->end(), [](const RunRecord& r) {
    return r.status != RunStatus::done;
  });
  if (spec.warmup_run.count() > 0 && any_pending) {
    if (auto st = warm_up(ctx, planned->front()); !st) {
      fatal = st.error();
    }
  }
  for (auto& rec : *stored) {
    if (fatal) {
      break;
    }
    if (rec.status == RunStatus::done) {
      continue;
    }
    if (Interrupt::raised()) {
      interrupted = true;
      break;
    }
    auto it = by_key.find(rec.key);
    if (it == by_key.end()) {
      fatal = Error{ErrorCode::internal, "stored run has no plan: " + rec.key, {}};
      break;
    }
    if (rec.status != RunStatus::pending) {
      COLO_TRY(store->reset_run(rec.id));  // partial data of an interrupted session
    }
    log << fmt::format("[{}/{}] {} {} rep {}{}\n", rec.seq + 1, total, rec.mode, rec.group,
                       rec.repetition + 1, rec.sweep.empty() ? "" : " [" + rec.sweep + "]")
        << std::flush;
    auto failed = execute_run(ctx, *it->second, rec, interrupted);
    ++result.runs_executed;
    if (!failed) {
      fatal = failed.error();
      break;
    }
    result.failed_workloads += *failed;
    if (interrupted) {
      break;
    }
    if (opts.progress_bar) {
      int done = 0;
      for (const auto& r : *stored) {
        done += r.status == RunStatus::done || r.seq <= rec.seq ? 1 : 0;
      }
      log << format_progress(done, total, Seconds(to_seconds(clock.now() - t0))) << "\n"
          << std::flush;
    }
  }
  const double wall = prior_wall + to_seconds(clock.now() - t0);
  const std::string status = fatal ? "failed" : (interrupted ? "interrupted" : "done");
  (void)store->update_experiment_status(exp.id, status, clock.unix_now(), wall);
  guard->release();
  if (fatal) {
    return fail(*fatal);
  }
  result.interrupted = interrupted;
  auto e = store->experiment(exp.id);
  auto data = load_run_data(*store, exp.id);
  if (!e || !data) {
    return fail(!e ? e.error() : data.error());
  }
  result.summary = summarize(*e, *data);
  return result;
}

}  // namespace colo
