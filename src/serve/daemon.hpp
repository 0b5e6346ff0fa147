#pragma once
// The `colo serve` daemon: the TaskStore, one Pool per function and the HTTP/1.1 JSON API
// (cpp-httplib) on one listener (docs/serve.md has the routes). Errors at start are values;
// bad requests are 4xx answers, never a crash. Thread-safe: the HTTP threads (at most
// max_connections, each serving one connection) share the store and the pools.
#include <atomic>
#include <iosfwd>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "serve/config.hpp"
#include "serve/gpu_host.hpp"
#include "serve/metrics.hpp"
#include "serve/mig_plan.hpp"
#include "serve/pool.hpp"
#include "serve/task_store.hpp"

namespace httplib {
class Server;
}

namespace colo::serve {

class Daemon {
 public:
  // `log`: one line per event (start, resize, MPS faults, shutdown); never the token or task
  // inputs. `gpu`: the host's GPUs (devices, telemetry, MPS daemons); nullptr: none (partitions
  // get the mode layer's environment by GPU index, no MPS daemon is started, no telemetry).
  Daemon(ServeConfig cfg, PoolContext ctx, const Clock& clock, std::ostream& log,
         GpuHost* gpu = nullptr);
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;
  ~Daemon();

  // Binds (port 0: an ephemeral one), checks every pool's GPU against the host, starts one MPS
  // control daemon per GPU with MPS pools, creates one MIG layout per GPU with MIG pools of a
  // profile (mig_plan.hpp), then the pools and the HTTP threads. Errors: invalid_argument (a
  // non-loopback listener without a token, a GPU the host lacks, a MIG layout that does not
  // fit), unsupported (MIG disabled), io (cannot bind), an MPS daemon or MIG layout that cannot
  // be made (the daemons already started are quit, the instances already made destroyed).
  Status start();
  [[nodiscard]] int port() const { return m_port; }
  // Blocks until `stop_fd` (the interrupt self-pipe) is readable, running the maintenance tick
  // (deadlines of queued tasks, autoscaling) every 200 ms; then shuts down.
  void run_until(int stop_fd);
  // Graceful shutdown: refuses new tasks (503), fails queued ones, gives running ones drain_s,
  // stops every worker, quits every MPS daemon it started, destroys every MIG instance it
  // created, closes the listener. Idempotent.
  void shutdown();
  // The maintenance tick run_until() runs about every 200 ms: deadlines of queued tasks,
  // autoscaling, MPS faults (the affected pools' workers are recycled), GPU telemetry (every
  // `k_telemetry_period`). Public for tests.
  void tick();
  static constexpr auto k_telemetry_period = std::chrono::seconds(1);
  // A task failing this soon after its GPU's MPS fault names the fault in its reason.
  static constexpr auto k_mps_fault_window = std::chrono::seconds(30);

  // The /metrics text.
  [[nodiscard]] std::string metrics_text() const;

 private:
  void routes();
  Pool* pool(const std::string& name) const;
  // PoolContext::gpu_env and mps_note (below m_gpu_mutex).
  Result<std::map<std::string, std::string>> gpu_env(const PartitionSpec& p);
  std::string mps_note(int device);
  // Starts the MPS daemon of `device` unless it runs (m_gpu_mutex held).
  Status ensure_mps(int device);
  // New faults of `device`'s MPS daemon: logged, remembered for mps_note, the daemon restarted
  // when it was lost, and the pools on it recycled (m_gpu_mutex held).
  void check_mps(int device);
  void quit_mps();
  // Creates `layout`'s MIG instances on its GPU (m_gpu_mutex held).
  Status create_mig(const MigGpuLayout& layout);
  // Destroys the instances colo serve created on `device` (m_gpu_mutex held); all: every GPU's.
  void destroy_mig(int device);
  void destroy_all_mig();
  // The MIG-... UUID of `function`'s instance on `device` ("" when none; m_gpu_mutex held).
  [[nodiscard]] std::string mig_uuid(int device, const std::string& function) const;
  // A live partition change of `pool` from or to a MIG instance colo serve creates: checks the
  // new layout, drains the pool, re-creates its GPU's layout, restarts its workers. Refused when
  // another MIG pool shares the GPU (its instance would be destroyed with the layout).
  Status repartition_mig(Pool& pool, int workers, PartitionSpec partition);
  // Reads the host's devices, checks every pool's GPU, starts the MPS daemons.
  Status start_gpus();
  void sample_gpus();
  [[nodiscard]] std::vector<MetricFamily> gpu_families() const;

  struct MpsState {
    std::unique_ptr<MpsServer> server;
    std::size_t seen = 0;     // faults() already handled
    std::string last_fault;   // the newest, for mps_note
    Nanos last_fault_at{-1};  // when it was seen
  };

  struct MigState {
    std::unique_ptr<MigInstances> instances;
    MigGpuLayout layout;
    std::vector<std::string> uuids;  // per instance, as layout.profiles
  };

  ServeConfig m_cfg;
  PoolContext m_ctx;
  const Clock& m_clock;
  std::ostream& m_log;
  TaskStore m_store;
  std::vector<std::unique_ptr<Pool>> m_pools;
  std::unique_ptr<httplib::Server> m_http;
  std::thread m_listener;
  int m_port = 0;
  std::atomic<bool> m_shutting_down{false};
  std::atomic<std::uint64_t> m_http_rejected{0};  // 429 for too many connections
  Nanos m_started{0};
  GpuHost* m_gpu;
  std::mutex m_gpu_mutex;             // m_gpu, m_devices, m_mps
  std::vector<DeviceInfo> m_devices;  // the host's, read at start
  std::map<int, MpsState> m_mps;      // by GPU index
  std::map<int, MigState> m_mig;      // by GPU index: the MIG layouts colo serve created
  // One repartition_mig at a time, and none while destroy_all_mig runs (taken before
  // m_gpu_mutex): shutdown never misses a layout a change re-creates.
  std::mutex m_mig_change_mutex;
  mutable std::mutex m_telemetry_mutex;
  std::map<int, std::vector<Metric>> m_telemetry;  // last sample per GPU in use
  Nanos m_last_sample{-1};
};

}  // namespace colo::serve
