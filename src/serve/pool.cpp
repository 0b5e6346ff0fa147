#include "serve/pool.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <iostream>

#include "gpu/mode/mode_env.hpp"
#include "serve/worker.hpp"

namespace colo::serve {
namespace {

constexpr auto k_take_wait = std::chrono::milliseconds(100);
constexpr auto k_backoff_first = std::chrono::milliseconds(100);
constexpr auto k_backoff_max = std::chrono::seconds(5);

// The worker's answer as the task's outcome: {"result": X} succeeds with X, {"error": "why"}
// fails; anything else fails naming the protocol.
struct Answer {
  bool ok = false;
  std::string text;  // ok: the result JSON; else the reason
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
    return {false, e->is_string() ? e->get<std::string>() : e->dump()};
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

std::vector<std::string> worker_argv(const FunctionConfig& f, const std::string& python_dir) {
  if (f.kind == FunctionKind::python) {
    return {"python3", "-u", python_dir + "/colo_serve_worker.py", f.entry};
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
  auto backoff = Nanos(k_backoff_first);
  bool started_once = false;
  while (!slot.retire && !m_stopping) {
    if (!proc) {
      SpawnRequest req;
      {
        const std::lock_guard lock(m_mutex);
        generation = m_generation;
        req.argv = worker_argv(m_f, m_ctx.python_dir);
        req.env = worker_env(m_f, index);
        req.cwd = m_f.cwd;
      }
      req.env["COLO_RUN_TOKEN"] = m_ctx.run_token;
      if (m_f.kind == FunctionKind::python) {
        std::string pp;
        for (const auto& d : m_f.python_path) {
          pp += d + ":";
        }
        req.env["PYTHONPATH"] = pp + m_ctx.python_dir;
      }
      auto p = WorkerProcess::start(req);
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
    {
      const std::lock_guard lock(m_mutex);
      repartitioned = generation != m_generation;
    }
    if (repartitioned) {
      // A new partition: this worker restarts with it between tasks.
      proc->stop(std::chrono::seconds(2));
      proc.reset();
      slot.pid = -1;
      --m_alive;
      started_once = false;
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
        m_store.fail(lease->id, a.text);
      }
      continue;
    }
    // The worker is gone or in an unknown state: stop it and start another.
    proc->stop(std::chrono::milliseconds(200));
    proc.reset();
    slot.pid = -1;
    --m_alive;
    if (r.status == CallStatus::timeout) {
      m_store.fail(lease->id, fmt::format("{} (timeout; the worker was restarted)", r.reason),
                   TaskState::expired);
      continue;
    }
    std::cerr << fmt::format("colo serve: {}: worker {} crashed: {}\n", m_f.name, index, r.reason);
    (void)m_store.retry_or_fail(lease->id, fmt::format("worker crashed: {}", r.reason),
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

PoolStats Pool::stats() const {
  const std::lock_guard lock(m_mutex);
  PoolStats s;
  s.workers = m_f.workers;
  s.alive = m_alive;
  s.busy = m_busy;
  s.restarts = m_restarts;
  s.spawn_failures = m_spawn_failures;
  s.generation = m_generation;
  s.partition = m_f.partition;
  return s;
}

}  // namespace colo::serve
