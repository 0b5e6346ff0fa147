#include "serve/task_store.hpp"

#include <fmt/format.h>

#include <charconv>

namespace colo::serve {

const char* to_string(TaskState s) {
  switch (s) {
    case TaskState::queued:
      return "queued";
    case TaskState::running:
      return "running";
    case TaskState::succeeded:
      return "succeeded";
    case TaskState::failed:
      return "failed";
    case TaskState::cancelled:
      return "cancelled";
    case TaskState::expired:
      return "expired";
  }
  return "?";
}

void TaskStore::add_function(const std::string& name, std::size_t capacity) {
  const std::lock_guard lock(m_mutex);
  auto& q = m_queues[name];
  q.capacity = capacity;
  if (!q.latency) {
    q.latency = std::make_unique<Histogram>(Histogram::latency_bounds());
  }
}

std::optional<std::uint64_t> TaskStore::parse_id(const std::string& id) {
  if (id.size() < 2 || id[0] != 't') {
    return std::nullopt;
  }
  std::uint64_t v = 0;
  const auto* end = id.data() + id.size();
  const auto r = std::from_chars(id.data() + 1, end, v);
  if (r.ec != std::errc{} || r.ptr != end) {
    return std::nullopt;
  }
  return v;
}

Result<std::vector<std::string>> TaskStore::submit(const std::string& function,
                                                   const std::vector<std::string>& inputs,
                                                   Nanos timeout) {
  std::vector<std::string> ids;
  {
    const std::lock_guard lock(m_mutex);
    if (m_closed) {
      return colo::fail(ErrorCode::interrupted, m_close_reason);
    }
    auto it = m_queues.find(function);
    if (it == m_queues.end()) {
      return colo::fail(ErrorCode::not_found, fmt::format("unknown function '{}'", function));
    }
    auto& q = it->second;
    if (q.counters.queued + inputs.size() > q.capacity) {
      q.counters.rejected += inputs.size();
      return colo::fail(ErrorCode::busy,
                        fmt::format("the queue of '{}' is full ({} queued, capacity {})", function,
                                    q.counters.queued, q.capacity));
    }
    const Nanos now = m_clock.now();
    ids.reserve(inputs.size());
    for (const auto& input : inputs) {
      const std::uint64_t seq = m_next++;
      Task t;
      t.function = function;
      t.input = input;
      t.submitted = now;
      t.deadline = now + timeout;
      m_tasks.emplace(seq, std::move(t));
      q.order.push_back(seq);
      ids.push_back(fmt::format("t{}", seq));
    }
    q.counters.queued += inputs.size();
    q.counters.submitted += inputs.size();
    // notify_all: a batch may feed every worker of the pool.
    q.cv.notify_all();
  }
  return ids;
}

std::optional<TaskLease> TaskStore::take(const std::string& function, Nanos wait) {
  std::unique_lock lock(m_mutex);
  auto it = m_queues.find(function);
  if (it == m_queues.end()) {
    return std::nullopt;
  }
  auto& q = it->second;
  const auto until = std::chrono::steady_clock::now() + wait;
  while (true) {
    while (!q.order.empty()) {
      const std::uint64_t seq = q.order.front();
      q.order.pop_front();
      auto t = m_tasks.find(seq);
      if (t == m_tasks.end() || t->second.state != TaskState::queued) {
        continue;  // cancelled or expired while queued
      }
      Task& task = t->second;
      const Nanos now = m_clock.now();
      --q.counters.queued;
      if (now >= task.deadline) {
        task.error = "deadline passed while the task was queued";
        finish(seq, task, TaskState::expired);
        continue;
      }
      task.state = TaskState::running;
      task.started = now;
      ++task.attempts;
      ++q.counters.running;
      return TaskLease{fmt::format("t{}", seq), task.input, task.deadline, task.attempts};
    }
    if (m_closed || wait <= Nanos(0) || q.cv.wait_until(lock, until) == std::cv_status::timeout) {
      if (q.order.empty()) {
        return std::nullopt;
      }
    }
  }
}

void TaskStore::finish(std::uint64_t seq, Task& t, TaskState state) {
  auto& q = m_queues[t.function];
  if (t.state == TaskState::running) {
    --q.counters.running;
  }
  t.state = state;
  t.ended = m_clock.now();
  switch (state) {
    case TaskState::succeeded:
      ++q.counters.succeeded;
      q.latency->observe(to_seconds(t.ended - t.submitted));
      break;
    case TaskState::failed:
      ++q.counters.failed;
      break;
    case TaskState::expired:
      ++q.counters.expired;
      break;
    case TaskState::cancelled:
      ++q.counters.cancelled;
      break;
    default:
      break;
  }
  t.input.clear();
  t.input.shrink_to_fit();
  m_finished.push_back(seq);
  while (m_finished.size() > m_retention) {
    m_tasks.erase(m_finished.front());
    m_finished.pop_front();
  }
  m_done.notify_all();
}

void TaskStore::succeed(const std::string& id, std::string result) {
  const auto seq = parse_id(id);
  const std::lock_guard lock(m_mutex);
  auto t = seq ? m_tasks.find(*seq) : m_tasks.end();
  if (t == m_tasks.end() || t->second.state != TaskState::running) {
    return;
  }
  t->second.result = std::move(result);
  finish(*seq, t->second, TaskState::succeeded);
}

void TaskStore::fail(const std::string& id, std::string reason, TaskState state) {
  const auto seq = parse_id(id);
  const std::lock_guard lock(m_mutex);
  auto t = seq ? m_tasks.find(*seq) : m_tasks.end();
  if (t == m_tasks.end() || finished(t->second.state)) {
    return;
  }
  if (t->second.state == TaskState::queued) {
    --m_queues[t->second.function].counters.queued;
  }
  t->second.error = std::move(reason);
  finish(*seq, t->second, state);
}

bool TaskStore::retry_or_fail(const std::string& id, const std::string& reason, bool retry,
                              int max_attempts) {
  const auto seq = parse_id(id);
  std::unique_lock lock(m_mutex);
  auto t = seq ? m_tasks.find(*seq) : m_tasks.end();
  if (t == m_tasks.end() || t->second.state != TaskState::running) {
    return false;
  }
  Task& task = t->second;
  if (!retry || task.attempts >= max_attempts || m_closed) {
    task.error = retry && !m_closed
                     ? fmt::format("{} (attempt {} of {}; no attempts left)", reason, task.attempts,
                                   max_attempts)
                     : fmt::format("{} (the function is not idempotent: not retried)", reason);
    if (m_closed) {
      task.error = fmt::format("{} ({})", reason, m_close_reason);
    }
    finish(*seq, task, TaskState::failed);
    return false;
  }
  auto& q = m_queues[task.function];
  --q.counters.running;
  ++q.counters.retried;
  ++q.counters.queued;
  task.state = TaskState::queued;
  task.error = reason;
  q.order.push_front(*seq);
  q.cv.notify_one();
  return true;
}

Result<TaskState> TaskStore::cancel(const std::string& id) {
  const auto seq = parse_id(id);
  const std::lock_guard lock(m_mutex);
  auto t = seq ? m_tasks.find(*seq) : m_tasks.end();
  if (t == m_tasks.end()) {
    return colo::fail(ErrorCode::not_found, fmt::format("no task '{}'", id));
  }
  Task& task = t->second;
  if (task.state == TaskState::running) {
    return colo::fail(ErrorCode::busy,
                      fmt::format("task '{}' is running; a running task is not interrupted", id));
  }
  if (task.state == TaskState::queued) {
    --m_queues[task.function].counters.queued;
    task.error = "cancelled by a client";
    finish(*seq, task, TaskState::cancelled);
  }
  return task.state;
}

TaskView TaskStore::view(std::uint64_t seq, const Task& t) const {
  TaskView v;
  v.id = fmt::format("t{}", seq);
  v.function = t.function;
  v.state = t.state;
  v.result = t.result;
  v.error = t.error;
  v.attempts = t.attempts;
  const Nanos end = finished(t.state) ? t.ended : m_clock.now();
  const Nanos start = t.state == TaskState::queued || t.attempts == 0 ? end : t.started;
  v.queued_s = to_seconds(start - t.submitted);
  v.total_s = to_seconds(end - t.submitted);
  return v;
}

std::optional<TaskView> TaskStore::get(const std::string& id) const {
  const auto seq = parse_id(id);
  const std::lock_guard lock(m_mutex);
  auto t = seq ? m_tasks.find(*seq) : m_tasks.end();
  if (t == m_tasks.end()) {
    return std::nullopt;
  }
  return view(*seq, t->second);
}

std::optional<TaskView> TaskStore::wait(const std::string& id, Nanos wait) {
  const auto seq = parse_id(id);
  std::unique_lock lock(m_mutex);
  const auto until = std::chrono::steady_clock::now() + wait;
  while (true) {
    auto t = seq ? m_tasks.find(*seq) : m_tasks.end();
    if (t == m_tasks.end()) {
      return std::nullopt;
    }
    if (finished(t->second.state) || wait <= Nanos(0) ||
        m_done.wait_until(lock, until) == std::cv_status::timeout) {
      t = m_tasks.find(*seq);
      if (t == m_tasks.end()) {
        return std::nullopt;
      }
      if (finished(t->second.state) || std::chrono::steady_clock::now() >= until ||
          wait <= Nanos(0)) {
        return view(*seq, t->second);
      }
    }
  }
}

std::size_t TaskStore::expire_overdue() {
  const std::lock_guard lock(m_mutex);
  const Nanos now = m_clock.now();
  std::vector<std::uint64_t> overdue;  // finish() may drop old tasks: no iterating while it runs
  for (const auto& [seq, t] : m_tasks) {
    if (t.state == TaskState::queued && now >= t.deadline) {
      overdue.push_back(seq);
    }
  }
  for (const std::uint64_t seq : overdue) {
    Task& t = m_tasks.at(seq);
    --m_queues[t.function].counters.queued;
    t.error = "deadline passed while the task was queued";
    finish(seq, t, TaskState::expired);
  }
  return overdue.size();
}

void TaskStore::close(const std::string& reason) {
  const std::lock_guard lock(m_mutex);
  m_closed = true;
  m_close_reason = reason;
  std::vector<std::uint64_t> queued;
  for (const auto& [seq, t] : m_tasks) {
    if (t.state == TaskState::queued) {
      queued.push_back(seq);
    }
  }
  for (const std::uint64_t seq : queued) {
    Task& t = m_tasks.at(seq);
    --m_queues[t.function].counters.queued;
    t.error = reason;
    finish(seq, t, TaskState::failed);
  }
  for (auto& [name, q] : m_queues) {
    q.order.clear();
    q.cv.notify_all();
  }
}

FunctionCounters TaskStore::counters(const std::string& function) const {
  const std::lock_guard lock(m_mutex);
  auto it = m_queues.find(function);
  return it == m_queues.end() ? FunctionCounters{} : it->second.counters;
}

std::size_t TaskStore::queue_length(const std::string& function) const {
  return counters(function).queued;
}

const Histogram* TaskStore::latency(const std::string& function) const {
  const std::lock_guard lock(m_mutex);
  auto it = m_queues.find(function);
  return it == m_queues.end() ? nullptr : it->second.latency.get();
}

}  // namespace colo::serve
