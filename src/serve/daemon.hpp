#pragma once
// The `colo serve` daemon: the TaskStore, one Pool per function and the HTTP/1.1 JSON API
// (cpp-httplib) on one listener (docs/serve.md has the routes). Errors at start are values;
// bad requests are 4xx answers, never a crash. Thread-safe: the HTTP threads (at most
// max_connections, each serving one connection) share the store and the pools.
#include <atomic>
#include <iosfwd>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "serve/config.hpp"
#include "serve/pool.hpp"
#include "serve/task_store.hpp"

namespace httplib {
class Server;
}

namespace colo::serve {

class Daemon {
 public:
  // `log`: one line per event (start, resize, shutdown); never the token or task inputs.
  Daemon(ServeConfig cfg, PoolContext ctx, const Clock& clock, std::ostream& log);
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;
  ~Daemon();

  // Binds (port 0: an ephemeral one), starts the pools and the HTTP threads. Errors:
  // invalid_argument (a non-loopback listener without a token), io (cannot bind).
  Status start();
  [[nodiscard]] int port() const { return m_port; }
  // Blocks until `stop_fd` (the interrupt self-pipe) is readable, running the maintenance tick
  // (deadlines of queued tasks, autoscaling) every 200 ms; then shuts down.
  void run_until(int stop_fd);
  // Graceful shutdown: refuses new tasks (503), fails queued ones, gives running ones drain_s,
  // stops every worker, closes the listener. Idempotent.
  void shutdown();

  // The /metrics text.
  [[nodiscard]] std::string metrics_text() const;

 private:
  void routes();
  Pool* pool(const std::string& name) const;

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
};

}  // namespace colo::serve
