#include "serve/pool.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "gpu/mode/mode_env.hpp"
#include "serve/worker.hpp"

namespace colo::serve {
namespace {

constexpr auto k_take_wait = std::chrono::milliseconds(100);
constexpr auto k_backoff_first = std::chrono::milliseconds(100);
constexpr auto k_backoff_max = std::chrono::seconds(5);
constexpr Nanos k_mps_log_grace = std::chrono::seconds(1);

// The worker's answer as the task's outcome: {"result": X} succeeds with X, {"error": "why"}
// fails ("exit": true: the worker exits after it, e.g. its CUDA context is lost); anything else
// fails naming the protocol.
struct Answer {
  bool ok = false;
  std::string text;    // ok: the result JSON; else the reason
  bool exits = false;  // the worker said it exits now
};

Answer parse_answer(const std::string& line) {
  auto j = nlohmann::json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return {false,
            "the worker wrote a line that is not a JSON object (docs/serve.md: the worker "
            "protocol)"};
  }
  if (auto r = j.find("result"); r != j.end()) {
    return {true, r->dump()};
  }
  if (auto e = j.find("error"); e != j.end()) {
    const auto x = j.find("exit");
    return {false, e->is_string() ? e->get<std::string>() : e->dump(),
            x != j.end() && x->is_boolean() && x->get<bool>()};
  }
  return {false, "the worker's answer has neither \"result\" nor \"error\""};
}

}  // namespace

std::map<std::string, std::string> worker_env(const FunctionConfig& f, int worker_index) {
  std::map<std::string, std::string> env;
  const PartitionSpec& p = f.partition;
  ClientShare share;
  share.device = p.device;
  switch (p.kind) {
    case PartitionKind::none:
      break;
    case PartitionKind::gpu:
      env = share_env(share, std::to_string(p.device));
      break;
    case PartitionKind::mps:
      share.mps = true;
      share.thread_percent = p.thread_percent;
      share.mem_limit = p.mem_limit;
      env = share_env(share, std::to_string(p.device));
      break;
    case PartitionKind::mig:
      env = share_env(share, p.mig_uuid);
      break;
    case PartitionKind::green:
      share.green_sms = p.green_sms;
      env = share_env(share, std::to_string(p.device));
      break;
  }
  for (const auto& [k, v] : f.env) {
    env[k] = v;
  }
  env["COLO_SERVE_FUNCTION"] = f.name;
  env["COLO_SERVE_WORKER"] = std::to_string(worker_index);
  return env;
}

std::string python_path_env(const FunctionConfig& f, const std::string& python_dir,
                            const char* inherited) {
  std::string path;
  for (const auto& d : f.python_path) {
    path += d + ":";
  }
  path += python_dir;
  const auto own = f.env.find("PYTHONPATH");
  const std::string rest = own != f.env.end() ? own->second : (inherited ? inherited : "");
  if (!rest.empty()) {
    path += ":" + rest;
  }
  return path;
}

std::string builtin_worker(const std::string& workload_dir) {
  return workload_dir + "/colo-serve-cuda";
}

std::vector<std::string> worker_argv(const FunctionConfig& f, const std::string& python_dir,
                                     const std::string& workload_dir) {
  if (f.kind == FunctionKind::python) {
    return {"python3", "-u", python_dir + "/colo_serve_worker.py", f.entry};
  }
  if (f.kind == FunctionKind::builtin) {
    std::vector<std::string> argv{builtin_worker(workload_dir), f.builtin};
    if (const auto* params = builtin_params(f.builtin)) {
      for (const auto& p : *params) {
        const auto it = f.params.find(p.name);
        argv.push_back(fmt::format("--{}", p.name));
        argv.push_back(std::to_string(it == f.params.end() ? p.def : it->second));
      }
    }
    return argv;
  }
  return f.argv;
}

int desired_workers(const FunctionConfig& f, int current, std::size_t queued, int busy,
                    double idle_for_s) {
  int want = current;
  if (static_cast<double>(queued) > f.scale_up_queue_per_worker * std::max(current, 1)) {
    want = std::max(current * 2, current + 1);
  } else if (queued == 0 && busy < current && idle_for_s >= f.scale_down_idle_s) {
    want = std::max(busy, current - 1);
  }
  return std::clamp(want, f.min_workers, f.max_workers);
}

Pool::Pool(FunctionConfig f, TaskStore& store, const Clock& clock, PoolContext ctx)
    : m_f(std::move(f)), m_store(store), m_clock(clock), m_ctx(std::move(ctx)) {}

Pool::~Pool() {
  try {
    stop(Nanos(0));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "colo serve: stopping a pool failed: %s\n", e.what());
  }
}

void Pool::start() {
  const std::lock_guard lock(m_mutex);
  m_last_busy = m_clock.now();
  set_size(m_f.workers);
}

void Pool::set_size(int workers) {
  m_f.workers = workers;
  while (static_cast<int>(m_slots.size()) < workers) {
    auto slot = std::make_unique<Slot>();
    Slot* s = slot.get();
    const int index = static_cast<int>(m_slots.size());
    m_slots.push_back(std::move(slot));
    s->thread = std::thread([this, s, index] { run_worker(*s, index); });
  }
  while (static_cast<int>(m_slots.size()) > workers) {
    m_slots.back()->retire = true;
    m_retired.push_back(std::move(m_slots.back()));
    m_slots.pop_back();
  }
  m_wake.notify_all();
}

bool Pool::pause(Nanos d) {
  std::unique_lock lock(m_mutex);
  m_wake.wait_for(lock, d, [&] { return m_stopping.load(); });
  return !m_stopping;
}

void Pool::run_worker(Slot& slot, int index) {
  std::unique_ptr<WorkerProcess> proc;
  int generation = -1;
  std::uint64_t recycles = 0;  // m_recycles when this worker started
  int mps_device = -1;         // the GPU of this worker's MPS partition; -1: not MPS
  auto backoff = Nanos(k_backoff_first);
  bool started_once = false;
  while (!slot.retire && !m_stopping) {
    if (!proc) {
      {
        std::unique_lock lock(m_mutex);
        m_wake.wait(lock, [&] { return !m_held || m_stopping || slot.retire; });
      }
      if (slot.retire || m_stopping) {
        break;
      }
      SpawnRequest req;
      PartitionSpec partition;
      {
        const std::lock_guard lock(m_mutex);
        generation = m_generation;
        recycles = m_recycles;
        FunctionConfig f = m_f;  // this worker's GPU
        f.partition.device = worker_device(m_f, index);
        req.argv = worker_argv(f, m_ctx.python_dir, m_ctx.workload_dir);
        req.env = worker_env(f, index);
        req.cwd = f.cwd;
        partition = f.partition;
      }
      mps_device = partition.kind == PartitionKind::mps ? partition.device : -1;
      req.env["COLO_RUN_TOKEN"] = m_ctx.run_token;
      Result<std::map<std::string, std::string>> gpu =
          m_ctx.gpu_env ? m_ctx.gpu_env(partition) : std::map<std::string, std::string>{};
      if (gpu) {
        for (auto& [k, v] : *gpu) {
          req.env[k] = std::move(v);
        }
      }
      if (m_f.kind == FunctionKind::python) {
        req.env["PYTHONPATH"] = python_path_env(m_f, m_ctx.python_dir, std::getenv("PYTHONPATH"));
      }
      auto p = gpu ? WorkerProcess::start(req)
                   : Result<std::unique_ptr<WorkerProcess>>(fail(gpu.error()));
      if (!p) {
        ++m_spawn_failures;
        std::cerr << fmt::format("colo serve: {}: cannot start worker {}: {}\n", m_f.name, index,
                                 p.error().what());
        if (!pause(backoff)) {
          break;
        }
        backoff = std::min(backoff * 2, Nanos(k_backoff_max));
        continue;
      }
      if (started_once) {
        ++m_restarts;
      }
      started_once = true;
      proc = std::move(*p);
      slot.pid = proc->pid();
      slot.generation = generation;
      ++m_alive;
    }
    bool repartitioned = false;
    bool recycled = false;
    {
      const std::lock_guard lock(m_mutex);
      repartitioned = generation != m_generation || m_held;
      recycled = recycles != m_recycles;
    }
    if (repartitioned) {
      // A new partition, or recycle(): this worker restarts between tasks (a recycled one counts
      // as restarted).
      proc->stop(std::chrono::seconds(2));
      proc.reset();
      slot.pid = -1;
      --m_alive;
      started_once = recycled;
      continue;
    }
    auto lease = m_store.take(m_f.name, Nanos(k_take_wait));
    if (!lease) {
      continue;
    }
    ++m_busy;
    nlohmann::json task = {{"id", lease->id}, {"attempt", lease->attempt}};
    task["input"] = nlohmann::json::parse(lease->input, nullptr, false);
    const Nanos left = lease->deadline - m_clock.now();
    const CallResult r = left > Nanos(0) ? proc->call(task.dump(), left)
                                         : CallResult{CallStatus::timeout, {}, "deadline passed"};
    --m_busy;
    if (r.status == CallStatus::ok) {
      backoff = Nanos(k_backoff_first);
      const Answer a = parse_answer(r.line);
      if (a.ok) {
        m_store.succeed(lease->id, a.text);
      } else {
        m_store.fail(lease->id, with_mps_note(a.text, a.exits, mps_device));
      }
      if (a.exits) {
        // The worker exits after this answer: the next task goes to a new one.
        proc->stop(std::chrono::seconds(2));
        proc.reset();
        slot.pid = -1;
        --m_alive;
      }
      continue;
    }
    // The worker is gone or in an unknown state: stop it and start another.
    proc->stop(std::chrono::milliseconds(200));
    proc.reset();
    slot.pid = -1;
    --m_alive;
    if (r.status == CallStatus::timeout) {
      m_store.fail(lease->id,
                   with_mps_note(fmt::format("{} (timeout; the worker was restarted)", r.reason),
                                 false, mps_device),
                   TaskState::expired);
      continue;
    }
    std::cerr << fmt::format("colo serve: {}: worker {} crashed: {}\n", m_f.name, index, r.reason);
    (void)m_store.retry_or_fail(
        lease->id, with_mps_note(fmt::format("worker crashed: {}", r.reason), true, mps_device),
        m_f.idempotent, m_f.max_attempts);
    if (!pause(backoff)) {
      break;
    }
    backoff = std::min(backoff * 2, Nanos(k_backoff_max));
  }
  if (proc) {
    proc->stop(std::chrono::seconds(2));
    --m_alive;
  }
  slot.pid = -1;
}

Status Pool::resize(int workers, const std::optional<PartitionSpec>& partition) {
  std::vector<std::unique_ptr<Slot>> retired;
  {
    const std::lock_guard lock(m_mutex);
    if (workers < m_f.min_workers || workers > m_f.max_workers) {
      return fail(ErrorCode::invalid_argument,
                  fmt::format("workers {} is outside min_workers {} .. max_workers {} of '{}'",
                              workers, m_f.min_workers, m_f.max_workers, m_f.name));
    }
    if (m_stopping) {
      return fail(ErrorCode::interrupted, "the daemon is shutting down");
    }
    if (partition) {
      FunctionConfig probe = m_f;
      probe.partition = *partition;
      COLO_TRY(validate_function(probe, fmt::format("function '{}': ", m_f.name)));
      m_f.partition = *partition;
      ++m_generation;
    }
    set_size(workers);
    m_held = false;
    m_wake.notify_all();
    retired.swap(m_retired);
  }
  for (auto& s : retired) {
    s->thread.join();
  }
  if (partition) {
    const auto until = std::chrono::steady_clock::now() + k_repartition_wait;
    while (std::chrono::steady_clock::now() < until && !m_stopping) {
      bool all = true;
      {
        const std::lock_guard lock(m_mutex);
        for (const auto& s : m_slots) {
          all = all && s->generation == m_generation;
        }
      }
      if (all) {
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  return {};
}

std::string Pool::with_mps_note(std::string reason, bool worker_died, int device) const {
  if (device < 0 || !m_ctx.mps_note) {
    return reason;
  }
  // The MPS server logs a client's fault a moment after the client sees it: a worker that died
  // gives the log up to k_mps_log_grace to say so.
  const auto until = std::chrono::steady_clock::now() + (worker_died ? k_mps_log_grace : Nanos(0));
  while (true) {
    if (const std::string note = m_ctx.mps_note(device); !note.empty()) {
      return reason + fmt::format(" ({})", note);
    }
    if (std::chrono::steady_clock::now() >= until || m_stopping) {
      return reason;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

bool Pool::hold(Nanos wait) {
  {
    const std::lock_guard lock(m_mutex);
    m_held = true;
    m_wake.notify_all();
  }
  const auto until = std::chrono::steady_clock::now() + wait;
  while (m_alive > 0 && std::chrono::steady_clock::now() < until && !m_stopping) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return m_alive == 0;
}

void Pool::recycle() {
  const std::lock_guard lock(m_mutex);
  ++m_generation;
  ++m_recycles;
  m_wake.notify_all();
}

void Pool::autoscale() {
  if (m_f.min_workers == m_f.max_workers || m_stopping) {
    return;
  }
  const auto queued = m_store.queue_length(m_f.name);
  const int busy = m_busy;
  const Nanos now = m_clock.now();
  std::vector<std::unique_ptr<Slot>> retired;
  {
    const std::lock_guard lock(m_mutex);
    if (busy > 0 || queued > 0) {
      m_last_busy = now;
    }
    const int want = desired_workers(m_f, m_f.workers, queued, busy, to_seconds(now - m_last_busy));
    if (want != m_f.workers) {
      set_size(want);
      if (want < m_f.workers) {
        m_last_busy = now;  // one step per idle period
      }
    }
    retired.swap(m_retired);
  }
  for (auto& s : retired) {
    s->thread.join();
  }
}

void Pool::stop(Nanos drain) {
  std::vector<std::unique_ptr<Slot>> all;
  {
    const std::lock_guard lock(m_mutex);
    m_stopping = true;
    m_wake.notify_all();
    all.swap(m_slots);
    for (auto& s : m_retired) {
      all.push_back(std::move(s));
    }
    m_retired.clear();
  }
  const auto until = std::chrono::steady_clock::now() + drain;
  while (m_busy > 0 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (m_busy > 0) {
    for (auto& s : all) {
      if (const pid_t pid = s->pid; pid > 0) {
        signal_group(pid, SIGKILL);  // its task fails: the store is closed
      }
    }
  }
  for (auto& s : all) {
    if (s->thread.joinable()) {
      s->thread.join();
    }
  }
}

FunctionConfig Pool::snapshot() const {
  const std::lock_guard lock(m_mutex);
  return m_f;
}

std::vector<pid_t> Pool::worker_pids() const {
  const std::lock_guard lock(m_mutex);
  std::vector<pid_t> out;
  for (const auto& s : m_slots) {
    if (const pid_t pid = s->pid; pid > 0) {
      out.push_back(pid);
    }
  }
  return out;
}

PoolStats Pool::stats() const {
  const std::lock_guard lock(m_mutex);
  PoolStats s;
  s.workers = m_f.workers;
  s.alive = m_alive;
  s.busy = m_busy;
  s.restarts = m_restarts;
  s.spawn_failures = m_spawn_failures;
  s.generation = m_generation - static_cast<int>(m_recycles);
  s.partition = m_f.partition;
  return s;
}

}  // namespace colo::serve
