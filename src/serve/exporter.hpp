#pragma once
// Prometheus metrics of a running experiment (`colo run --metrics-addr HOST:PORT`,
// docs/serve.md): RunExporter is the engine's RunWatcher and keeps the current run, each
// workload's progress and the GPUs' latest telemetry; MetricsServer serves any metrics text on
// GET /metrics (cpp-httplib), with the bearer-token rule of colo serve. Thread-safe.
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "core/run_watch.hpp"

namespace httplib {
class Server;
}

namespace colo::serve {

class RunExporter final : public RunWatcher {
 public:
  void run_started(const WatchedRun& run) override;
  void progress(int seq, int client, double t, double samples) override;
  void gpu_metric(int gpu, const std::string& metric, double value) override;
  void run_finished(int seq) override;

  // The exposition text: colo_run_* families and the GPUs' DCGM_FI_* values.
  [[nodiscard]] std::string metrics_text() const;

  // A workload's progress rate is taken over its steps of this last stretch (seconds).
  static constexpr double k_rate_window_s = 10;

 private:
  struct Progress {
    double samples = 0;  // since the run started
    long long steps = 0;
    std::deque<std::pair<double, double>> recent;  // (t, samples) within k_rate_window_s
  };
  struct Running {
    WatchedRun run;
    std::map<int, Progress> progress;  // by client
  };
  mutable std::mutex m_mutex;
  std::map<int, Running> m_running;  // the runs running now, by seq (several on disjoint GPUs)
  WatchedRun m_last;                 // the run started last: the GPUs' UUIDs and names
  long long m_runs_started = 0;
  long long m_runs_finished = 0;
  std::map<int, std::map<std::string, double>> m_gpus;  // latest value per GPU and field
};

// Stops `server`, whose listen_after_bind() runs (or is about to run) on `listener`, and joins
// the thread. cpp-httplib's stop() does nothing before the listen loop has started, so this
// waits (up to 10 s) for it to be running first.
void stop_listener(httplib::Server& server, std::thread& listener);

class MetricsServer {
 public:
  // `text`: called per scrape (any thread). `token`: required as "Authorization: Bearer" when
  // non-empty.
  MetricsServer(std::function<std::string()> text, std::string token);
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;
  ~MetricsServer();
  // Binds HOST:PORT (port 0: an ephemeral one) and serves in a thread. Errors: invalid_argument
  // (beyond loopback without a token), io (cannot bind).
  Status start(const std::string& host, int port, const std::string& token_env);
  [[nodiscard]] int port() const { return m_port; }
  void stop();

 private:
  std::function<std::string()> m_text;
  std::string m_token;
  std::unique_ptr<httplib::Server> m_http;
  std::thread m_thread;
  int m_port = 0;
};

}  // namespace colo::serve
