#pragma once
// Runs one pipeline: a load-generator thread, each stage's worker threads, bounded queues
// between them, and a watchdog for the stage timeout. Time comes from the injected Clock and
// passes only through the injected Waiter (unit tests: FakeClock + FakeWaiter).
// Lifecycle: construct, run() once (blocks until the stop rule, request_stop() or the failure
// policy ends issuing and every issued query has completed, failed or been dropped).
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "pipeline/config.hpp"
#include "pipeline/events.hpp"
#include "pipeline/loadgen.hpp"
#include "pipeline/stage.hpp"

namespace colo::pipeline {

struct RunResult {
  std::vector<std::string> stage_names;               // chain order
  std::vector<std::unique_ptr<QueryRecord>> queries;  // every issued or dropped query, by id
  bool stopped_by_failure = false;                    // on_failure: stop ended the run
  Nanos issue_window{0};                              // start to the last scheduled arrival
};

class Runner {
 public:
  // `stages` in config.order (one per chain position). on_done is called (from a worker thread,
  // serialised) for each finished query: progress reporting; may be empty.
  Runner(const PipelineConfig& config, std::vector<std::unique_ptr<Stage>> stages,
         const Clock& clock, Waiter& waiter, std::function<void(const QueryRecord&)> on_done = {});
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;

  // Runs to the end; t = 0 of every record is the call. Call once.
  RunResult run();
  // Stops issuing (thread-safe, async-signal-unsafe); queries already being served finish,
  // queries still waiting in a queue are dropped ("stopped before it ran"); run() then returns.
  void request_stop() {
    m_abort = true;
    m_stop = true;
  }

 private:
  struct Impl;
  const PipelineConfig& m_config;
  std::vector<std::unique_ptr<Stage>> m_stages;
  const Clock& m_clock;
  Waiter& m_waiter;
  std::function<void(const QueryRecord&)> m_on_done;
  std::atomic<bool> m_stop{false};   // no more queries are issued
  std::atomic<bool> m_abort{false};  // and the queued ones are dropped
};

}  // namespace colo::pipeline
