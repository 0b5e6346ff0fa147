#pragma once
// The tasks of `colo serve`: one bounded FIFO queue per function, every task's state and result,
// per-task deadlines on an injected Clock, retries, cancellation, retention of finished tasks,
// and the counters /metrics reports. Thread-safe (one mutex); take() and wait() block on
// condition variables for at most the real time they are given (0: not at all, as unit tests
// with a FakeClock use them).
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "serve/metrics.hpp"

namespace colo::serve {

enum class TaskState { queued, running, succeeded, failed, cancelled, expired };
const char* to_string(TaskState s);
inline bool finished(TaskState s) {
  return s != TaskState::queued && s != TaskState::running;
}

// A snapshot of one task.
struct TaskView {
  std::string id;
  std::string function;
  TaskState state = TaskState::queued;
  std::string result;  // succeeded: the worker's result, JSON text
  std::string error;   // failed/expired/cancelled: why
  int attempts = 0;
  double queued_s = 0;  // submission -> start of the last attempt (or now/finish)
  double total_s = 0;   // submission -> finish (or now)
};

// A task handed to a worker.
struct TaskLease {
  std::string id;
  std::string input;  // JSON text
  Nanos deadline{0};  // on the store's Clock
  int attempt = 1;
};

struct FunctionCounters {
  std::uint64_t submitted = 0;
  std::uint64_t succeeded = 0;
  std::uint64_t failed = 0;
  std::uint64_t expired = 0;
  std::uint64_t cancelled = 0;
  std::uint64_t retried = 0;
  std::uint64_t rejected = 0;  // queue full
  std::size_t queued = 0;      // now
  std::size_t running = 0;     // now
};

class TaskStore {
 public:
  // `retention`: finished tasks kept (oldest dropped first).
  TaskStore(const Clock& clock, std::size_t retention) : m_clock(clock), m_retention(retention) {}

  // Registers a function's queue (before tasks for it arrive).
  void add_function(const std::string& name, std::size_t capacity);

  // Queues tasks; all or none. Errors: not_found (unknown function), busy (the queue has no
  // room for all of them: the caller answers 429), interrupted (the store is closed).
  Result<std::vector<std::string>> submit(const std::string& function,
                                          const std::vector<std::string>& inputs, Nanos timeout);

  // The next queued task of `function` within its deadline (expired ones are marked on the way),
  // now running. Waits up to `wait` of real time for one; nullopt when none came or the store
  // closed.
  std::optional<TaskLease> take(const std::string& function, Nanos wait);

  void succeed(const std::string& id, std::string result);
  void fail(const std::string& id, std::string reason, TaskState state = TaskState::failed);
  // A crashed attempt: queued again at the front when `retry` and attempts remain below
  // `max_attempts` (true), else failed with `reason` (false).
  bool retry_or_fail(const std::string& id, const std::string& reason, bool retry,
                     int max_attempts);

  // Cancels a queued task (its state afterwards). Errors: not_found; busy when it is running
  // (a running task is not interrupted) — the state is in the message.
  Result<TaskState> cancel(const std::string& id);

  std::optional<TaskView> get(const std::string& id) const;
  // Waits up to `wait` of real time for the task to finish; its view then (or now).
  std::optional<TaskView> wait(const std::string& id, Nanos wait);

  // Marks queued tasks past their deadline expired; returns how many.
  std::size_t expire_overdue();
  // No more submissions; every queued task fails with `reason`; takers wake up.
  void close(const std::string& reason);

  [[nodiscard]] FunctionCounters counters(const std::string& function) const;
  [[nodiscard]] std::size_t queue_length(const std::string& function) const;
  // Submission -> finish of succeeded tasks, seconds.
  const Histogram* latency(const std::string& function) const;

 private:
  struct Task {
    std::string function;
    std::string input;
    TaskState state = TaskState::queued;
    std::string result;
    std::string error;
    int attempts = 0;
    Nanos submitted{0};
    Nanos started{0};
    Nanos ended{0};
    Nanos deadline{0};
  };
  struct Queue {
    std::deque<std::uint64_t> order;  // may hold cancelled/expired seqs, skipped by take()
    std::size_t capacity = 0;
    FunctionCounters counters;
    std::unique_ptr<Histogram> latency;
    std::condition_variable cv;
  };
  static std::optional<std::uint64_t> parse_id(const std::string& id);
  TaskView view(std::uint64_t seq, const Task& t) const;
  void finish(std::uint64_t seq, Task& t, TaskState state);  // m_mutex held

  const Clock& m_clock;
  std::size_t m_retention;
  mutable std::mutex m_mutex;
  std::condition_variable m_done;
  std::map<std::string, Queue> m_queues;
  std::unordered_map<std::uint64_t, Task> m_tasks;
  std::deque<std::uint64_t> m_finished;  // for retention
  std::uint64_t m_next = 1;
  bool m_closed = false;
  std::string m_close_reason;
};

}  // namespace colo::serve
