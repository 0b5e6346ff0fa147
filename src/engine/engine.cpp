#include "engine/engine.hpp"

#include <unistd.h>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <streambuf>
#include <thread>

#include "core/private_dir.hpp"
#include "core/run_plan.hpp"
#include "core/units.hpp"
#include "engine/backend_factory.hpp"
#include "gpu/mps/mps_daemon.hpp"
#include "launch/interrupt.hpp"
#include "launch/process.hpp"
#include "launch/supervisor.hpp"
#include "monitor/sampler.hpp"
#include "pipeline/config.hpp"
#include "pipeline/events.hpp"
#include "pipeline/rows.hpp"
#include "pipeline/stats.hpp"
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
    const double from = run_warmup_s(r);
    double window = 0;
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
  if (name == "pipeline") {
    return {(fs::path(dir) / "colo-pipeline").string()};
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

// Whether this build's colo-pipeline has the cuda-model stage (it was built with nvcc).
#ifdef COLO_PIPELINE_HAS_CUDA
constexpr bool k_pipeline_has_cuda = true;
#else
constexpr bool k_pipeline_has_cuda = false;
#endif

// A pipeline workload's config (its `--config` JSON, sweep values substituted) is checked by
// the pipeline module, with what only colo knows: a simulated model needs the simulated GPU, a
// loader's dataset directory (relative to the workload's cwd) must exist.
Status check_pipeline(const WorkloadSpec& w, ClientPlan& c, const std::string& source_path,
                      bool simulated) {
  const std::string where =
      fmt::format("{}:{}: workloads.{}.pipeline", source_path, w.pipeline_line, w.name);
  auto at = std::find(c.argv.begin(), c.argv.end(), "--config");
  if (at == c.argv.end() || at + 1 == c.argv.end()) {
    return fail(ErrorCode::internal, where + ": no --config");
  }
  auto doc = nlohmann::json::parse(*(at + 1), nullptr, false);
  auto config = pipeline::parse_config(doc);
  if (!config) {
    return fail(ErrorCode::invalid_argument, where + "." + config.error().message);
  }
  for (std::size_t i = 0; i < config->stages.size(); ++i) {
    const auto& st = config->stages[i];
    if (st.kind == "sim-model" && !simulated) {
      return fail(ErrorCode::invalid_argument,
                  fmt::format("{}.stages[{}]: stage kind 'sim-model' runs only on the simulated "
                              "GPU (--gpu sim)",
                              where, i));
    }
    if (st.kind == "cuda-model") {
      if (!k_pipeline_has_cuda) {
        return fail(ErrorCode::unsupported,
                    fmt::format("{}.stages[{}]: colo-pipeline was built without CUDA (nvcc was "
                                "not found at build time): stage kind 'cuda-model' is not "
                                "available; build colo where nvcc is, or use a worker stage",
                                where, i));
      }
      if (simulated) {
        return fail(ErrorCode::invalid_argument,
                    fmt::format("{}.stages[{}]: stage kind 'cuda-model' runs native CUDA on a real "
                                "GPU; on the simulated GPU use sim-model",
                                where, i));
      }
    }
    if (st.kind == "loader") {
      const fs::path path = fs::path(c.cwd) / st.params.at("path");
      std::error_code ec;
      if (!fs::is_directory(path, ec)) {
        return fail(ErrorCode::not_found,
                    fmt::format("{}.stages[{}].params.path: dataset directory '{}' does not "
                                "exist (colo-pipeline --make-dataset DIR makes one)",
                                where, i, path.string()));
      }
    }
  }
  return {};
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
        if (name == "pipeline") {
          COLO_TRY(check_pipeline(*w, c, spec.source_path, simulated));
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
  // Samples reported after the window's first report, and the span from that report to the last
  // one: the steady rate without the error of counting whole reports in a fixed window (up to
  // one report's samples, e.g. 8% of a 2 s window at 6 reports/s).
  double span_samples = 0;
  double first_t = -1;
  double last_t = -1;
  int reports = 0;
  for (const auto& [t, s] : ws.steps) {
    if (t > start && t <= end) {
      samples += s;
      if (reports++ == 0) {
        first_t = t;
      } else {
        span_samples += s;
        last_t = t;
      }
    }
  }
  w.samples = samples;
  w.window_s = std::isfinite(start) && end > start ? end - start : 0;
  if (w.window_s > 0) {
    // Report to report when at least k_min_span_reports reports cover half the window; else (few
    // coarse reports) the count over the window.
    constexpr int k_min_span_reports = 3;
    const bool spans = reports >= k_min_span_reports && last_t - first_t >= 0.5 * w.window_s;
    w.throughput = spans ? span_samples / (last_t - first_t) : samples / w.window_s;
  }
}

class RunObserver final : public SupervisorObserver {
 public:
  RunObserver(Store& store, Sampler& sampler, const Clock& clock, RunId run,
              std::vector<WorkloadRecord>& records, RunWatcher* watcher, int seq)
      : m_watcher(watcher),
        m_seq(seq),
        m_store(store),
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
    if (m_watcher != nullptr) {
      m_watcher->progress(m_seq, client, t, e.samples);
    }
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
      if (m_watcher != nullptr && !s.target && s.gpu) {
        m_watcher->gpu_metric(*s.gpu, s.metric, s.value);
      }
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
  RunWatcher* m_watcher;
  int m_seq;  // the run's seq, for m_watcher
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
  Launcher& launcher;
  std::string python_dir;  // on every workload's PYTHONPATH ("" = none)
  ExperimentId exp_id = 0;
  std::string logs_dir;
  // Held while a sharing mode is set up or torn down (MPS daemons, MIG layouts): concurrent
  // runs change the GPUs' state one at a time. Null: one run at a time anyway.
  std::mutex* mode_mutex = nullptr;
};

// The devices of `plan` (a plan built without them, as in older tests: the experiment's).
const std::vector<int>& run_gpus(const ExperimentSpec& spec, const RunPlan& plan) {
  return plan.gpus.empty() ? spec.gpus : plan.gpus;
}

// A lock on ctx.mode_mutex when there is one.
std::unique_lock<std::mutex> mode_lock(const Context& ctx) {
  return ctx.mode_mutex ? std::unique_lock<std::mutex>(*ctx.mode_mutex)
                        : std::unique_lock<std::mutex>();
}

// What a RunWatcher is told of a run about to start.
WatchedRun watched_run(const Context& ctx, const RunPlan& plan, const RunRecord& rec,
                       const std::vector<WorkloadRecord>& records) {
  WatchedRun w;
  w.experiment = ctx.exp_id;
  w.seq = rec.seq;
  w.mode = plan.mode.label();
  w.group = plan.group;
  w.repetition = plan.repetition;
  w.simulated = ctx.backend.simulated();
  if (auto devs = ctx.backend.devices()) {
    for (const auto& d : *devs) {
      w.gpu_uuids.push_back(d.uuid);
      w.gpu_names.push_back(d.name);
    }
  }
  for (std::size_t i = 0; i < records.size(); ++i) {
    w.workloads.push_back({static_cast<int>(i), records[i].name, records[i].copy, records[i].gpu});
  }
  return w;
}

// How client `index` of a run is started: its command, its environment plus the mode's, and
// colo's Python client directory ahead of the workload's own PYTHONPATH.
ClientLaunch make_launch(const Context& ctx, const ClientPlan& c, const ModeSession& session,
                         int index, std::string stdout_path, std::string stderr_path) {
  ClientLaunch l;
  l.label = c.label();
  l.progress = c.progress;
  l.spawn.argv = c.argv;
  l.spawn.cwd = c.cwd;
  l.spawn.env = c.env;
  for (const auto& [k, v] : session.client_env(c, index)) {
    l.spawn.env[k] = v;
  }
  if (!ctx.python_dir.empty()) {
    std::string path = ctx.python_dir;
    if (auto it = c.env.find("PYTHONPATH"); it != c.env.end()) {
      path += it->second.empty() ? "" : ":" + it->second;
    } else if (const char* inherited = std::getenv("PYTHONPATH"); inherited && *inherited) {
      path += std::string(":") + inherited;
    }
    l.spawn.env["PYTHONPATH"] = path;
  }
  l.spawn.env["COLO_EXPERIMENT"] = ctx.spec.name;
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

bool is_pipeline(const ExperimentSpec& spec, const ClientPlan& c) {
  const auto* w = spec.find_workload(c.workload);
  return w && w->builtin == "pipeline";
}

std::string events_path(const std::string& run_dir, const ClientPlan& c) {
  return fmt::format("{}/{}.{}.events.tsv", run_dir, c.workload, c.copy);
}

// Stores a pipeline workload's event log (written by colo-pipeline at its end) and returns its
// one-line latency summary; a missing or unreadable log is said in the line, not an error (the
// workload's exit class says why it ended).
Result<std::string> store_pipeline_events(Store& store, WorkloadId id, const std::string& path,
                                          Seconds warmup) {
  std::ifstream in(path);
  if (!in) {
    return std::string("no pipeline event log (the workload ended before writing it)");
  }
  auto log = pipeline::read_events(in);
  if (!log) {
    return fmt::format("pipeline event log {}: {}", path, log.error().message);
  }
  COLO_TRY(store.put_pipeline_events(id, pipeline::to_store(*log)));
  const auto stats = pipeline::summarize(
      *log, 101, std::chrono::duration_cast<std::chrono::nanoseconds>(warmup).count());
  return pipeline::one_line(stats);
}

// Runs one planned run. Returns the number of workloads that did not end ok; sets interrupted.
Result<int> execute_run(Context& ctx, const RunPlan& plan, RunRecord& rec, bool& interrupted) {
  const auto& spec = ctx.spec;
  const std::string run_dir = fmt::format(
      "{}/{:03d}-{}", ctx.logs_dir, rec.seq,
      sanitize(plan.mode.label() + "-" + plan.group + "-r" + std::to_string(plan.repetition)));
  COLO_TRY(create_private_dir(run_dir));  // 0700: workload output is the user's alone
  const auto& gpus = run_gpus(spec, plan);
  auto session = [&] {
    const auto held = mode_lock(ctx);
    return ctx.backend.begin_mode(plan.mode, gpus, run_dir);
  }();
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
    w.gpu = device_for_client(gpus, static_cast<int>(i));
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
        make_launch(ctx, c, **session, static_cast<int>(i), w.stdout_path, w.stderr_path),
        spec.limits);
    l.spawn.env["COLO_RUN_KEY"] = plan.key;
    if (is_pipeline(spec, c)) {
      l.spawn.env["COLO_PIPELINE_EVENTS"] = events_path(run_dir, c);
    }
    if (plan.clients[i].sms) {
      l.spawn.env["COLO_GREEN_OFFSET"] = std::to_string(green_offsets(plan.clients, gpus)[i]);
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
  policy.hello_timeout = spec.hello_timeout;
  Sampler sampler(&ctx.backend, ctx.clock, spec.sample_period, gpus);  // this run's GPUs only
  RunObserver obs(ctx.store, sampler, ctx.clock, rec.id, records, ctx.opts.watcher, rec.seq);
  if (ctx.opts.watcher != nullptr) {
    ctx.opts.watcher->run_started(watched_run(ctx, plan, rec, records));
  }
  sampler.start();
  const auto t_start = ctx.clock.now();
  auto result = ctx.launcher.launch(std::move(launches), policy, obs);
  sampler.stop();
  obs.flush();
  if (ctx.opts.watcher != nullptr) {
    ctx.opts.watcher->run_finished(rec.seq);
  }
  // A telemetry error (a GPU lost mid-run) is not a silent gap: the run is marked degraded.
  if (const auto errors = sampler.errors(); !errors.empty()) {
    rec.degraded = fmt::format("{}{} telemetry error(s) during the run, first: {}", errors.size(),
                               errors.size() >= 100 ? "+" : "", errors.front().substr(0, 300));
  }
  const auto faults = (*session)->faults();
  auto ended = [&] {
    const auto held = mode_lock(ctx);
    return (*session)->end();
  }();
  if (!result) {
    return fail(result.error());
  }
  // A fault of the sharing machinery itself (pid 0, e.g. the MPS daemon died mid-run): the
  // workloads that did not end ok are charged to it, and the run fails with it below.
  std::string machinery;
  for (const auto& f : faults) {
    machinery = f.pid <= 0 ? f.message.substr(0, 400) : machinery;
  }
  int failed = 0;
  std::string pipelines;
  for (std::size_t i = 0; i < records.size(); ++i) {
    if (is_pipeline(spec, plan.clients[i])) {
      auto line = store_pipeline_events(
          ctx.store, records[i].id, events_path(run_dir, plan.clients[i]), spec.warmup.duration);
      if (!line) {
        return fail(line.error());
      }
      pipelines += fmt::format("\n    {}#{}: {}{}", records[i].name, records[i].copy, *line,
                               ctx.backend.simulated() ? " (simulated GPU)" : "");
    }
  }
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
    if (!machinery.empty() && w.exit_class != ExitClass::ok) {
      w.exit_class = ExitClass::gpu_fault;
      w.message = machinery + "; the workload: " + w.message;
    }
    measure(spec, obs.window(static_cast<int>(i)), o, !o.by_wall_time, w);
    if (o.by_wall_time && plan.clients[i].progress == ProgressMode::automatic) {
      w.message +=
          fmt::format(" (measured by wall time: no progress protocol line within hello_timeout {})",
                      format_duration(spec.hello_timeout));
    }
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
  if (!machinery.empty()) {
    // Not a result: the run is failed (fail_run stores it) and the experiment stops resumable.
    return fail(ErrorCode::gpu, machinery +
                                    "; the run is failed: fix the cause and continue "
                                    "with colo run --resume");
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
  if (!rec.degraded.empty()) {
    line += fmt::format(" [DEGRADED: {}]", rec.degraded);
  }
  ctx.log << line << pipelines << "\n" << std::flush;
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
  auto l = with_limits(make_launch(ctx, c, **session, 0, dir + "/warmup.out", dir + "/warmup.err"),
                       ctx.spec.limits);
  StopPolicy policy;
  policy.duration = ctx.spec.warmup_run;
  policy.grace = ctx.spec.grace;
  policy.init_timeout = ctx.spec.init_timeout;
  policy.hello_timeout = ctx.spec.hello_timeout;
  SupervisorObserver quiet;
  ctx.log << fmt::format("colo: warm-up run of {} for {} (not recorded)\n", c.label(),
                         format_duration(ctx.spec.warmup_run))
          << std::flush;
  auto r = ctx.launcher.launch({l}, policy, quiet);
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

// The stored records of planned runs, numbered from `first_seq`.
std::vector<RunRecord> run_records(const ExperimentSpec& spec, const std::vector<RunPlan>& planned,
                                   int first_seq) {
  std::vector<RunRecord> recs;
  int seq = first_seq;
  for (const auto& r : planned) {
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
  return recs;
}

void print_plan(const ExperimentSpec& spec, const std::vector<RunPlan>& planned,
                const GpuBackend& backend, std::ostream& log) {
  log << fmt::format("plan: {} runs on {}{}{}\n", planned.size(), backend.name(),
                     backend.simulated() ? " (simulated)" : "",
                     spec.repeat_ci > 0 ? fmt::format(" (adaptive: {} to {} repetitions)",
                                                      spec.repeat, spec.repeat_max)
                                        : "");
  for (const auto& r : planned) {
    log << "  " << r.key
        << (spec.gpus.size() > 1 ? fmt::format(" (GPU {})", fmt::join(r.gpus, ",")) : "") << "\n";
  }
  if (spec.parallel && spec.gpus.size() > 1) {
    log << "  (parallel: runs on disjoint GPUs at the same time)\n";
  }
}

// The planned runs of repetitions [first, last) in plan order, each (sweep point, repetition)
// block shuffled when the experiment runs in random order (seeded by its stored seed).
std::vector<RunPlan> runs_of(const std::vector<RunPlan>& planned, const ExperimentRecord& exp,
                             int first, int last) {
  std::vector<RunPlan> out;
  std::copy_if(planned.begin(), planned.end(), std::back_inserter(out),
               [&](const RunPlan& r) { return r.repetition >= first && r.repetition < last; });
  if (exp.order_seed) {
    shuffle_runs(out,
                 static_cast<std::uint64_t>(*exp.order_seed) + static_cast<std::uint64_t>(first));
  }
  return out;
}

// The experiment to run: a new one (created with its runs in one transaction), or the
// unfinished one being resumed.
Result<ExperimentRecord> open_experiment(const ExperimentSpec& spec, const EngineOptions& opts,
                                         const std::vector<RunPlan>& planned, EngineDeps& deps,
                                         std::ostream& log) {
  auto& store = deps.store;
  const std::string hash = spec_hash(spec.source_text);
  auto prev = opts.resume || opts.resume_or_create
                  ? store.latest_unfinished(spec.name)
                  : Result<std::optional<ExperimentRecord>>(std::nullopt);
  if (!prev) {
    return fail(prev.error());
  }
  if (opts.resume || (opts.resume_or_create && *prev)) {
    if (!*prev) {
      return fail(ErrorCode::not_found,
                  fmt::format("nothing to resume: no unfinished experiment named '{}' in '{}'",
                              spec.name, store.path()));
    }
    if ((*prev)->spec_hash != hash) {
      return fail(ErrorCode::invalid_argument,
                  fmt::format("cannot resume experiment {} '{}': its spec changed since it "
                              "started; run without --resume to start a new experiment",
                              (*prev)->id, spec.name));
    }
    auto exp = **prev;
    log << fmt::format("colo: resuming experiment {} '{}'\n", exp.id, exp.name);
    auto stored = store.runs(exp.id);
    if (!stored) {
      return fail(stored.error());
    }
    if (stored->empty() && !planned.empty()) {
      // Left by a colo older than the one-transaction create, killed in between: nothing ran.
      log << fmt::format(
          "colo: experiment {} has no runs stored (created by a colo that died "
          "before adding them); adding its planned runs\n",
          exp.id);
      COLO_TRY(store.add_runs(exp.id, run_records(spec, runs_of(planned, exp, 0, spec.repeat), 0)));
    }
    return exp;
  }
  auto devices = deps.backend.devices();
  if (!devices) {
    return fail(devices.error());
  }
  nlohmann::json gj = nlohmann::json::array();
  for (const auto& d : *devices) {
    if (std::find(spec.gpus.begin(), spec.gpus.end(), d.index) != spec.gpus.end()) {
      gj.push_back(to_json(d));
    }
  }
  ExperimentRecord exp;
  exp.name = spec.name;
  exp.spec_path = spec.source_path;
  exp.spec_yaml = spec.source_text;
  exp.spec_hash = hash;
  exp.backend = deps.backend.name();
  exp.simulated = deps.backend.simulated();
  exp.gpu_json = gj.dump();
  exp.colo_version = COLO_VERSION;
  exp.host = host_name();
  exp.status = "running";
  exp.created_at = deps.clock.unix_now();
  if (spec.order_random) {
    // The seed is stored so that the order can be replayed; kept below 2^63 for SQLite.
    exp.order_seed = static_cast<std::int64_t>(
        spec.order_seed.value_or(std::random_device{}() ^
                                 (static_cast<std::uint64_t>(std::random_device{}()) << 31)) &
        0x7fffffffffffffffULL);
    log << fmt::format("colo: runs in random order, seed {}\n", *exp.order_seed);
  }
  const auto first = runs_of(planned, exp, 0, spec.repeat);
  auto id = store.create_experiment(exp, run_records(spec, first, 0));
  if (!id) {
    return fail(id.error());
  }
  exp.id = *id;
  log << fmt::format(
      "colo: experiment {} '{}': {} runs{} on {} -> {}\n", exp.id, exp.name, first.size(),
      spec.repeat_ci > 0 ? fmt::format(" ({} repetitions, up to {} until every speed-up is "
                                       "within ±{:g}%)",
                                       spec.repeat, spec.repeat_max, 100 * spec.repeat_ci)
                         : "",
      deps.backend.simulated() ? "the SIMULATED GPU" : deps.backend.name() + " GPU(s)",
      store.path());
  return exp;
}

// Marks a run that colo itself failed (an exception or an error inside the engine): the run is
// failed with the reason, and --resume runs it again.
void fail_run(Context& ctx, RunRecord& rec, const std::string& reason) {
  rec.status = RunStatus::failed;
  rec.error = reason;
  rec.finished_at = ctx.clock.unix_now();
  (void)ctx.store.finish_run(rec);
  ctx.log << fmt::format("  failed inside colo: {}\n", reason) << std::flush;
}

// Adaptive repetitions: whether every group's aggregate speed-up is known within the target
// (95% CI half-width <= target x mean, from at least two repetitions). `why` says which is not.
bool ci_target_met(const Summary& s, double target, std::string& why) {
  for (const auto& g : s.groups) {
    if (!g.speedup) {
      continue;
    }
    const double rel = g.stat.mean > 0 ? g.stat.ci95_half / g.stat.mean : 1e9;
    if (g.stat.n < 2 || rel > target) {
      why = fmt::format("{} {}{}: speed-up CI ±{:.1f}% from {} repetition(s)", g.mode, g.group,
                        g.sweep.empty() ? "" : " [" + g.sweep + "]",
                        g.stat.n < 2 ? 100.0 : 100.0 * rel, g.stat.n);
      return false;
    }
  }
  return true;
}

// One run with the last catch: no exception escapes (it fails this run; the next one goes ahead).
Result<int> execute_caught(Context& ctx, const RunPlan& plan, RunRecord& rec, bool& interrupted) {
  try {
    return execute_run(ctx, plan, rec, interrupted);
  } catch (const std::exception& e) {
    return fail(ErrorCode::internal, fmt::format("internal error: {}", e.what()));
  } catch (...) {
    return fail(ErrorCode::internal, "internal error: unknown exception");
  }
}

// Accounts for a run that ended: an error of colo fails the run, and one that is not internal
// (a store or GPU setup error) is fatal: colo cannot go on.
void settle(Context& ctx, RunRecord& rec, const Result<int>& failed, EngineResult& result,
            std::optional<Error>& fatal) {
  ++result.runs_executed;
  if (!failed) {
    fail_run(ctx, rec, failed.error().what());
    if (failed.error().code != ErrorCode::internal) {
      fatal = failed.error();
    } else {
      ++result.internal_errors;
    }
    return;
  }
  result.failed_workloads += *failed;
  result.degraded_runs += rec.degraded.empty() ? 0 : 1;
}

// A stored run about to execute again: whatever an interrupted session stored of it is dropped.
Status prepare_run(Store& store, RunRecord& rec) {
  if (rec.status != RunStatus::pending) {
    COLO_TRY(store.reset_run(rec.id));
    rec.degraded.clear();
    rec.error.clear();  // the reset row has none; a stale one would be written back
  }
  return {};
}

std::string run_header(const RunRecord& rec, int total, const std::string& where) {
  return fmt::format("[{}/{}] {} {} rep {}{}{}\n", rec.seq + 1, total, rec.mode, rec.group,
                     rec.repetition + 1, rec.sweep.empty() ? "" : " [" + rec.sweep + "]", where);
}

// `parallel: true`: the runs of `todo` with list scheduling over GPUs. A run starts, on a thread
// of its own, as soon as no running run and no earlier waiting run shares a GPU with it (so each
// GPU's runs keep their stored order); runs on disjoint GPUs overlap. Each run's log lines are
// written when it ends, after its header. No run starts after an interrupt or a fatal error; the
// running ones end by their own rules (an interrupt stops them all: the supervisors poll it).
// Store writes are serialized by the store; mode set-up and teardown by ctx.mode_mutex.
Status run_concurrently(Context& ctx,
                        const std::vector<std::pair<RunRecord*, const RunPlan*>>& todo, int total,
                        EngineResult& result, bool& interrupted, std::optional<Error>& fatal) {
  struct Slot {
    RunRecord* rec = nullptr;
    const RunPlan* plan = nullptr;
    std::ostringstream out;
    Result<int> failed = 0;
    bool interrupted = false;
    bool done = false;  // guarded by `mutex`
    std::jthread thread;
  };
  std::mutex mutex;
  std::condition_variable cv;
  std::vector<std::unique_ptr<Slot>> running;
  std::vector<std::pair<RunRecord*, const RunPlan*>> waiting = todo;
  for (;;) {
    if (Interrupt::raised()) {
      interrupted = true;
    }
    if (fatal || interrupted) {
      waiting.clear();
    }
    std::vector<const RunPlan*> blocked;
    for (const auto& slot : running) {
      blocked.push_back(slot->plan);
    }
    for (auto it = waiting.begin(); it != waiting.end();) {
      const RunPlan* plan = it->second;
      const bool clash = std::any_of(blocked.begin(), blocked.end(),
                                     [&](const RunPlan* b) { return gpus_overlap(*plan, *b); });
      blocked.push_back(plan);
      if (clash) {
        ++it;
        continue;
      }
      auto slot = std::make_unique<Slot>();
      slot->rec = it->first;
      slot->plan = plan;
      COLO_TRY(prepare_run(ctx.store, *slot->rec));
      ctx.log << run_header(*slot->rec, total,
                            fmt::format(" on GPU {} (concurrent)",
                                        fmt::join(run_gpus(ctx.spec, *plan), ",")))
              << std::flush;
      Slot* raw = slot.get();
      running.push_back(std::move(slot));
      raw->thread = std::jthread([&ctx, raw, &mutex, &cv] {
        // The same collaborators; its own log.
        Context run_ctx{ctx.spec,    ctx.opts,     ctx.clock,     raw->out,
                        ctx.backend, ctx.store,    ctx.launcher,  ctx.python_dir,
                        ctx.exp_id,  ctx.logs_dir, ctx.mode_mutex};
        auto failed = execute_caught(run_ctx, *raw->plan, *raw->rec, raw->interrupted);
        const std::lock_guard lock(mutex);
        raw->failed = std::move(failed);
        raw->done = true;
        cv.notify_all();
      });
      it = waiting.erase(it);
    }
    if (running.empty()) {
      return {};
    }
    std::unique_lock lock(mutex);
    cv.wait(lock, [&] {
      return std::any_of(running.begin(), running.end(), [](const auto& s) { return s->done; });
    });
    lock.unlock();
    for (auto it = running.begin(); it != running.end();) {
      Slot& slot = **it;
      {
        const std::lock_guard held(mutex);
        if (!slot.done) {
          ++it;
          continue;
        }
      }
      slot.thread.join();
      ctx.log << fmt::format("[{}/{}] {} {}:\n", slot.rec->seq + 1, total, slot.rec->mode,
                             slot.rec->group)
              << slot.out.str() << std::flush;
      interrupted = interrupted || slot.interrupted;
      settle(ctx, *slot.rec, slot.failed, result, fatal);
      it = running.erase(it);
    }
  }
}

// The run loop over the stored runs of `exp`; with adaptive repetitions, repetitions are added
// until the CI target is met or repeat_max is reached.
Result<EngineResult> execute_experiment(const ExperimentSpec& spec, const EngineOptions& opts,
                                        const std::vector<RunPlan>& planned,
                                        const ExperimentRecord& exp, EngineDeps& deps,
                                        std::ostream& log) {
  auto& store = deps.store;
  const auto& clock = deps.clock;
  EngineResult result;
  result.id = exp.id;
  result.runs_planned = static_cast<int>(planned.size());
  const double prior_wall = exp.wall_s;
  COLO_TRY(store.update_experiment_status(exp.id, "running", 0, prior_wall));
  std::map<std::string, const RunPlan*> by_key;
  for (const auto& r : planned) {
    by_key[r.key] = &r;
  }
  Context ctx{spec,          opts,
              clock,         log,
              deps.backend,  store,
              deps.launcher, colo_paths().python_dir,
              exp.id,        fmt::format("{}/logs/e{}", opts.results_dir, exp.id)};
  std::mutex mode_mutex;
  ctx.mode_mutex = &mode_mutex;
  const bool parallel = spec.parallel || opts.parallel_gpus;
  const auto t0 = clock.now();
  bool interrupted = false;
  std::optional<Error> fatal;
  bool warmed = false;
  bool left_out = false;  // runs outside opts.only_mode/only_group stay pending
  const auto in_unit = [&opts](const RunRecord& r) {
    return (opts.only_mode.empty() || r.mode == opts.only_mode) &&
           (opts.only_group.empty() || r.group == opts.only_group);
  };
  for (;;) {
    auto stored = store.runs(exp.id);
    if (!stored) {
      return fail(stored.error());
    }
    const int total = static_cast<int>(stored->size());
    const bool any_pending = std::any_of(stored->begin(), stored->end(), [](const RunRecord& r) {
      return r.status != RunStatus::done;
    });
    if (spec.warmup_run.count() > 0 && any_pending && !planned.empty() && !warmed) {
      warmed = true;
      if (auto st = warm_up(ctx, planned.front()); !st) {
        fatal = st.error();
      }
    }
    std::vector<std::pair<RunRecord*, const RunPlan*>> todo;  // this pass, in stored order
    for (auto& rec : *stored) {
      if (rec.status == RunStatus::done) {
        continue;
      }
      if (!in_unit(rec)) {
        left_out = true;
        continue;
      }
      auto it = by_key.find(rec.key);
      if (it == by_key.end()) {
        fatal = Error{ErrorCode::internal, "stored run has no plan: " + rec.key, {}};
        break;
      }
      todo.emplace_back(&rec, it->second);
    }
    if (!fatal && parallel) {
      COLO_TRY(run_concurrently(ctx, todo, total, result, interrupted, fatal));
      todo.clear();
    }
    for (auto [rec_ptr, plan] : todo) {
      auto& rec = *rec_ptr;
      if (fatal) {
        break;
      }
      if (Interrupt::raised()) {
        interrupted = true;
        break;
      }
      COLO_TRY(prepare_run(store, rec));
      log << run_header(rec, total, "") << std::flush;
      const auto failed = execute_caught(ctx, *plan, rec, interrupted);
      settle(ctx, rec, failed, result, fatal);
      if (fatal) {
        break;
      }
      if (!failed) {
        continue;
      }
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
    if (fatal || interrupted || spec.repeat_ci <= 0 || result.internal_errors > 0 || left_out) {
      break;
    }
    int reps = 0;
    for (const auto& r : *stored) {
      reps = std::max(reps, r.repetition + 1);
    }
    if (reps >= spec.repeat_max) {
      break;
    }
    auto e = store.experiment(exp.id);
    auto data = load_run_data(store, exp.id);
    if (!e || !data) {
      return fail(!e ? e.error() : data.error());
    }
    std::string why;
    if (ci_target_met(summarize(*e, *data), spec.repeat_ci, why)) {
      log << fmt::format("colo: every speed-up within ±{:g}% after {} repetitions\n",
                         100 * spec.repeat_ci, reps);
      break;
    }
    log << fmt::format("colo: {} (target ±{:g}%): adding repetition {} of at most {}\n", why,
                       100 * spec.repeat_ci, reps + 1, spec.repeat_max);
    COLO_TRY(
        store.add_runs(exp.id, run_records(spec, runs_of(planned, exp, reps, reps + 1), total)));
  }
  const double wall = prior_wall + to_seconds(clock.now() - t0);
  const std::string status = fatal || result.internal_errors > 0
                                 ? "failed"
                                 : (interrupted ? "interrupted" : (left_out ? "partial" : "done"));
  (void)store.update_experiment_status(exp.id, status, clock.unix_now(), wall);
  if (fatal) {
    return fail(*fatal);
  }
  result.interrupted = interrupted;
  auto e = store.experiment(exp.id);
  auto data = load_run_data(store, exp.id);
  if (!e || !data) {
    return fail(!e ? e.error() : data.error());
  }
  result.summary = summarize(*e, *data);
  return result;
}

// execute_experiment with a last catch: whatever happens, the experiment is not left `running`.
Result<EngineResult> execute_guarded(const ExperimentSpec& spec_in, const EngineOptions& opts,
                                     const std::vector<RunPlan>& planned, EngineDeps& deps,
                                     std::ostream& log) {
  // --parallel-gpus is stored with the runs' settings (`parallel`) as the spec's key would be.
  ExperimentSpec spec = spec_in;
  spec.parallel = spec.parallel || opts.parallel_gpus;
  auto exp = open_experiment(spec, opts, planned, deps, log);
  if (!exp) {
    return fail(exp.error());
  }
  std::string what;
  try {
    return execute_experiment(spec, opts, planned, *exp, deps, log);
  } catch (const std::exception& e) {
    what = e.what();
  } catch (...) {
    what = "unknown exception";
  }
  (void)deps.store.update_experiment_status(exp->id, "failed", deps.clock.unix_now(), exp->wall_s);
  return fail(ErrorCode::internal,
              fmt::format("internal error in experiment {}: {} (finished runs are kept; "
                          "continue with --resume)",
                          exp->id, what));
}

// Every GPU the spec names exists here: an error names the spec line (`gpus:`).
Status check_spec_gpus(const ExperimentSpec& spec, GpuBackend& backend) {
  auto devices = backend.devices();
  if (!devices) {
    return {};  // said by check_mode, with the backend's reason
  }
  std::vector<int> have;
  for (const auto& d : *devices) {
    have.push_back(d.index);
  }
  for (int g : spec.gpus) {
    if (std::find(have.begin(), have.end(), g) == have.end()) {
      return fail(
          ErrorCode::invalid_argument,
          fmt::format("{}{}: gpus: GPU {} does not exist: {} has {} GPU(s) ({}){}",
                      spec.source_path,
                      spec.gpus_line > 0 ? fmt::format(":{}", spec.gpus_line) : "", g,
                      backend.simulated() ? "the simulated host" : "this host", have.size(),
                      fmt::join(have, ", "),
                      backend.simulated() ? "; give more with --sim-topology (devices:)" : ""));
    }
  }
  return {};
}

// Whether no two of `specs` share a GPU (their top-level `gpus:`).
bool disjoint_gpus(const std::vector<ExperimentSpec>& specs) {
  std::vector<int> seen;
  for (const auto& spec : specs) {
    for (int g : spec.gpus) {
      if (std::find(seen.begin(), seen.end(), g) != seen.end()) {
        return false;
      }
    }
    seen.insert(seen.end(), spec.gpus.begin(), spec.gpus.end());
  }
  return true;
}

// An ostream whose complete lines go to `out` under `mutex`, each after `prefix`: the logs of
// experiments running at the same time, interleaved by line, never within one.
class PrefixedLog {
 public:
  PrefixedLog(std::ostream& out, std::mutex& mutex, std::string prefix)
      : m_buf(out, mutex, std::move(prefix)), m_stream(&m_buf) {}
  PrefixedLog(const PrefixedLog&) = delete;
  PrefixedLog& operator=(const PrefixedLog&) = delete;
  ~PrefixedLog() { m_stream.flush(); }
  std::ostream& stream() { return m_stream; }

 private:
  class Buf final : public std::streambuf {
   public:
    Buf(std::ostream& out, std::mutex& mutex, std::string prefix)
        : m_out(out), m_mutex(mutex), m_prefix(std::move(prefix)) {}
    Buf(const Buf&) = delete;
    Buf& operator=(const Buf&) = delete;
    ~Buf() override { emit(); }

   protected:
    int_type overflow(int_type c) override {
      if (c != traits_type::eof()) {
        m_line.push_back(static_cast<char>(c));
        if (c == '\n') {
          emit();
        }
      }
      return c;
    }
    int sync() override { return 0; }  // a partial line waits for its end

   private:
    void emit() {
      if (m_line.empty()) {
        return;
      }
      const std::lock_guard lock(m_mutex);
      m_out << m_prefix << m_line << std::flush;
      m_line.clear();
    }
    std::ostream& m_out;
    std::mutex& m_mutex;
    std::string m_prefix;
    std::string m_line;
  };
  Buf m_buf;
  std::ostream m_stream;
};

EngineOptions absolute_paths(EngineOptions opts) {
  // Workloads run in their own directories: every path handed to them is absolute.
  opts.results_dir = fs::absolute(opts.results_dir).lexically_normal().string();
  return opts;
}

}  // namespace

std::vector<std::string> builtin_command(const std::string& workload_dir, const std::string& name) {
  return builtin_argv(workload_dir, name);
}

ColoPaths colo_paths(const std::string& exe_dir_in) {
  const fs::path exe = exe_dir_in.empty() ? fs::path(self_dir()) : fs::path(exe_dir_in);
  std::error_code ec;
  ColoPaths p;
  // Build tree: builtins next to colo in <build>/bin; installed: <prefix>/libexec/colo.
  for (const auto& d : {exe, exe / ".." / "libexec" / "colo"}) {
    if (fs::exists(d / "colo-cpu-work", ec)) {
      p.workload_dir = d.lexically_normal().string();
      break;
    }
  }
  if (p.workload_dir.empty()) {
    p.workload_dir = exe.string();  // the missing builtin is named when a spec uses it
  }
  // <build>/share/colo/python (copied at configure time) or <prefix>/share/colo/python.
  const auto py = exe / ".." / "share" / "colo" / "python";
  if (fs::exists(py / "colo_progress.py", ec)) {
    p.python_dir = fs::absolute(py, ec).lexically_normal().string();
  }
  return p;
}

Result<std::vector<RunPlan>> plan_experiment(const ExperimentSpec& spec, const EngineOptions& opts,
                                             GpuBackend& backend) {
  auto planned = expand_runs(spec);
  if (!planned) {
    return fail(planned.error());
  }
  COLO_TRY(check_spec_gpus(spec, backend));
  for (const auto& run : *planned) {
    COLO_TRY(backend.check_mode(run.mode, run_gpus(spec, run)));
  }
  std::string workload_dir = opts.workload_dir;
  if (workload_dir.empty()) {
    const char* env = std::getenv("COLO_WORKLOAD_DIR");
    workload_dir = env && *env ? std::string(env) : colo_paths().workload_dir;
  }
  COLO_TRY(resolve_commands(spec, *planned, workload_dir, backend.simulated()));
  return planned;
}

Result<EngineResult> run_experiment(const ExperimentSpec& spec, const EngineOptions& opts_in,
                                    EngineDeps& deps, std::ostream& log) {
  const EngineOptions opts = absolute_paths(opts_in);
  auto planned = plan_experiment(spec, opts, deps.backend);
  if (!planned) {
    return fail(planned.error());
  }
  if (opts.dry_run) {
    print_plan(spec, *planned, deps.backend, log);
    EngineResult result;
    result.runs_planned = static_cast<int>(planned->size());
    return result;
  }
  return execute_guarded(spec, opts, *planned, deps, log);
}

Result<EngineResult> run_experiment(const ExperimentSpec& spec, const EngineOptions& opts_in,
                                    const Clock& clock, std::ostream& log) {
  auto results = run_experiments({spec}, opts_in, clock, log);
  if (!results) {
    return fail(results.error());
  }
  return std::move(results->front());
}

Result<std::vector<Result<EngineResult>>> run_experiments(const std::vector<ExperimentSpec>& specs,
                                                          const EngineOptions& opts_in,
                                                          const Clock& clock, std::ostream& log) {
  if (specs.empty()) {
    return fail(ErrorCode::invalid_argument, "no experiment to run");
  }
  const EngineOptions opts = absolute_paths(opts_in);
  const std::string which = opts.gpu.empty() ? specs.front().gpu_backend : opts.gpu;
  auto choice = make_backend(which, clock, opts.sim_topology);
  if (!choice) {
    return fail(choice.error());
  }
  auto& backend = *choice->backend;
  if (!choice->notice.empty()) {
    log << "colo: " << choice->notice << "\n";
  }
  std::vector<std::vector<RunPlan>> planned;
  for (const auto& spec : specs) {
    auto p = plan_experiment(spec, opts, backend);
    if (!p) {
      return fail(p.error());
    }
    planned.push_back(std::move(*p));
  }
  auto devices = backend.devices();
  if (!devices) {
    return fail(devices.error());
  }
  std::vector<Result<EngineResult>> results;
  if (opts.dry_run) {
    for (std::size_t i = 0; i < specs.size(); ++i) {
      print_plan(specs[i], planned[i], backend, log);
      EngineResult result;
      result.runs_planned = static_cast<int>(planned[i].size());
      results.emplace_back(result);
    }
    return results;
  }
  if (!backend.simulated()) {
    if (int stale = cleanup_stale_mps(); stale > 0) {
      log << fmt::format("colo: quit {} stale MPS daemon(s) left by a colo that died\n", stale);
    }
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
  auto locked = open_locked(db);
  if (!locked) {
    return fail(locked.error());
  }
  Store* store = &locked->store;
  for (const char* suffix : {"", "-wal", "-shm"}) {
    (void)make_private_file(db + suffix);  // 0600; best effort, the directory is what guards
  }
  ProcessLauncher launcher(clock, token);
  EngineDeps deps{backend, *store, clock, launcher};
  if (specs.size() == 1 || !disjoint_gpus(specs)) {
    for (std::size_t i = 0; i < specs.size(); ++i) {
      results.push_back(execute_guarded(specs[i], opts, planned[i], deps, log));
      if (results.back() && results.back()->interrupted) {
        break;
      }
    }
  } else {
    // Disjoint GPUs: every experiment at once, each on a thread of its own, its lines prefixed.
    std::mutex log_mutex;
    std::vector<std::unique_ptr<PrefixedLog>> logs;
    std::vector<std::optional<Result<EngineResult>>> slots(specs.size());
    {
      std::vector<std::jthread> threads;
      for (std::size_t i = 0; i < specs.size(); ++i) {
        logs.push_back(std::make_unique<PrefixedLog>(log, log_mutex, "[" + specs[i].name + "] "));
        threads.emplace_back([&, i] {
          try {
            slots[i] = execute_guarded(specs[i], opts, planned[i], deps, logs[i]->stream());
          } catch (const std::exception& e) {
            slots[i] = fail(ErrorCode::internal, fmt::format("internal error: {}", e.what()));
          } catch (...) {
            slots[i] = fail(ErrorCode::internal, "internal error: unknown exception");
          }
        });
      }
    }
    for (auto& s : slots) {
      results.push_back(s ? std::move(*s)
                          : Result<EngineResult>(fail(ErrorCode::internal, "experiment not run")));
    }
  }
  guard->release();
  return results;
}

}  // namespace colo
