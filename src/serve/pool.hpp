#pragma once
// A function's worker pool: K threads, each owning one warm WorkerProcess, taking the function's
// tasks from the TaskStore. A crashed worker is restarted with exponential backoff and its task
// retried when the function is idempotent (else failed with the reason); a task past its
// deadline kills its worker and fails. resize() changes the size or the partition live: queued
// tasks stay queued, running ones finish, workers restart with the new share (hold() first when
// the old share must be gone before the new one exists). Thread-safe.
#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.hpp"
#include "serve/config.hpp"
#include "serve/task_store.hpp"

namespace colo::serve {

// Where a pool finds colo's files, what every worker carries, and the daemon's GPU services.
struct PoolContext {
  std::string python_dir;  // colo_serve_worker.py (kind python)
  std::string run_token;   // COLO_RUN_TOKEN of every worker (the daemon's guard sweeps it)
  // The GPU environment of a partition beyond the mode layer's (worker_env): the device's UUID in
  // CUDA_VISIBLE_DEVICES and, under MPS, the pipe and log directories of the GPU's MPS daemon
  // (started on first use). An error keeps the worker from starting (retried with backoff).
  // Unset: nothing added. Thread-safe.
  std::function<Result<std::map<std::string, std::string>>(const PartitionSpec&)> gpu_env;
  // Why a task on an MPS partition of `device` may have failed: the MPS server's recent fault
  // ("" when none), appended to the task's reason. Unset: "". Thread-safe.
  std::function<std::string(int device)> mps_note;
  std::string workload_dir;  // colo-serve-cuda (kind builtin)
};

// The environment a worker of `f` gets for its partition (src/gpu/mode's share_env) plus
// COLO_SERVE_FUNCTION/COLO_SERVE_WORKER. Pure.
std::map<std::string, std::string> worker_env(const FunctionConfig& f, int worker_index);
// The worker's argv: `argv` (command), python3 colo_serve_worker.py module:function (python), or
// colo-serve-cuda FUNCTION --param value... (builtin, every param with its default). Pure.
std::vector<std::string> worker_argv(const FunctionConfig& f, const std::string& python_dir,
                                     const std::string& workload_dir = "");
// A python worker's PYTHONPATH: the function's `python_path` entries, colo's python directory,
// then the PYTHONPATH of the function's `env` when it sets one, else `inherited` (the daemon's
// own; null or empty: none), as colo run keeps its workloads' PYTHONPATH. Pure.
std::string python_path_env(const FunctionConfig& f, const std::string& python_dir,
                            const char* inherited);
// The builtin worker's program in `workload_dir`.
std::string builtin_worker(const std::string& workload_dir);

// The autoscaler's decision (pure): `current` workers, `queued` tasks, `busy` workers,
// `idle_for_s` since the pool last had work. Grows by up to doubling while the queue exceeds
// scale_up_queue_per_worker per worker; shrinks by one after scale_down_idle_s idle; always
// within min_workers..max_workers.
int desired_workers(const FunctionConfig& f, int current, std::size_t queued, int busy,
                    double idle_for_s);

struct PoolStats {
  int workers = 0;             // target size
  int alive = 0;               // worker processes running now
  int busy = 0;                // running a task now
  std::uint64_t restarts = 0;  // workers started again after a crash or a deadline kill
  std::uint64_t spawn_failures = 0;
  int generation = 0;  // partition changes applied
  PartitionSpec partition;
};

class Pool {
 public:
  Pool(FunctionConfig f, TaskStore& store, const Clock& clock, PoolContext ctx);
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;
  ~Pool();

  void start();
  // New size (and partition, when given). Returns when retired workers have finished their task
  // and stopped and, for a new partition, every worker has restarted with it (each after its
  // running task; at most `k_repartition_wait`). Errors: invalid_argument (outside min..max, or a
  // bad partition).
  Status resize(int workers, const std::optional<PartitionSpec>& partition);
  // Stops every worker between tasks and keeps the pool without workers (queued tasks stay
  // queued) until the next resize() or stop(), e.g. while its MIG instance is re-created. Waits
  // up to `wait` for the running tasks; false when some still run then (the pool stays held).
  bool hold(Nanos wait);
  // The autoscaler's tick (the daemon calls it about every 200 ms).
  void autoscale();
  // Restarts every worker between tasks (after an MPS server fault tore their CUDA contexts
  // down); returns at once. Counts as restarts.
  void recycle();
  // Stops every worker: running tasks get `drain` to finish, then their workers are killed and
  // the tasks fail. Idempotent.
  void stop(Nanos drain);

  [[nodiscard]] PoolStats stats() const;
  // The worker processes running now.
  [[nodiscard]] std::vector<pid_t> worker_pids() const;
  static constexpr auto k_repartition_wait = std::chrono::seconds(60);
  [[nodiscard]] const FunctionConfig& config() const { return m_f; }
  // A copy of the function's config now (size and partition included), taken under the lock.
  [[nodiscard]] FunctionConfig snapshot() const;

 private:
  struct Slot {
    std::thread thread;
    std::atomic<bool> retire{false};
    std::atomic<pid_t> pid{-1};       // its worker process (stop() kills it after the drain)
    std::atomic<int> generation{-1};  // the partition generation its worker was started with
  };
  void run_worker(Slot& slot, int index);
  void set_size(int workers);  // m_mutex held
  // Sleeps up to `d` unless the pool stops; false when it stopped.
  bool pause(Nanos d);
  // `reason` with the recent fault of the MPS server of GPU `device` appended (-1: not MPS);
  // `worker_died`: waits up to a second for the server log to report it.
  [[nodiscard]] std::string with_mps_note(std::string reason, bool worker_died, int device) const;

  FunctionConfig m_f;  // partition and sizes guarded by m_mutex after start()
  TaskStore& m_store;
  const Clock& m_clock;
  PoolContext m_ctx;
  mutable std::mutex m_mutex;
  std::condition_variable m_wake;
  std::vector<std::unique_ptr<Slot>> m_slots;
  std::vector<std::unique_ptr<Slot>> m_retired;  // joined by resize()/stop()
  std::atomic<bool> m_stopping{false};
  std::atomic<int> m_alive{0};
  std::atomic<int> m_busy{0};
  std::atomic<std::uint64_t> m_restarts{0};
  std::atomic<std::uint64_t> m_spawn_failures{0};
  int m_generation = 0;          // partition changes and recycles: workers restart when it moves
  std::uint64_t m_recycles = 0;  // recycle() calls
  Nanos m_last_busy{0};
  bool m_held = false;  // hold(): no worker starts until resize()
};

}  // namespace colo::serve
