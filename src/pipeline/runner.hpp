#pragma once
// Runs one pipeline: a load-generator thread, each stage's worker threads, bounded queues
// between them, and a watchdog for the stage timeout. Time comes from the injected Clock and
// passes only through the injected Waiter (unit tests: FakeClock + FakeWaiter).
// Lifecycle: construct, run() once (blocks until the stop rule, request_stop() or the failure
// policy ends issuing and every issued query has completed, failed or been dropped).
// Batches: a stage whose batching() gives a policy collects queries for the next stages; the
// queries of a batch travel together from then on (a stage that takes_batches() serves them in
// one call, others one by one). A batching stage's wait for more queries is a wait on its queue
// bounded by max_wait measured on the Clock (real time passes in it, not through the Waiter).
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
  std::vector<std::string> stage_names;  // chain order
  // Every issued or dropped query, by id, while their events fit in config.max_events (the
  // first to finish); the rest only counted below. Payloads are not kept.
  std::vector<std::unique_ptr<QueryRecord>> queries;
  bool stopped_by_failure = false;  // on_failure: stop ended the run
  Nanos issue_window{0};            // start to the last scheduled arrival (of the kept queries)
  std::int64_t events_not_logged = 0;
  std::int64_t queries_not_logged = 0;
  std::int64_t last_not_logged_ns = 0;  // when the last query not kept finished
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
