#pragma once
// Latency statistics of a pipeline run from its query records: throughput, end-to-end latency
// percentiles (from the scheduled arrival), per stage the queue wait (ready to start) and service
// time (start to end), achieved against offered load, dropped and failed queries. Pure.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "pipeline/events.hpp"

namespace colo::pipeline {

struct Percentiles {
  std::int64_t count = 0;
  double mean_ms = 0;
  double p50_ms = 0;
  double p90_ms = 0;
  double p99_ms = 0;
  double p999_ms = 0;
  double max_ms = 0;
};

// Nearest-rank percentiles of durations in nanoseconds (sorted in place). Empty: all zero.
Percentiles percentiles(std::vector<std::int64_t>& ns);

struct StageStats {
  std::string name;
  Percentiles queue_wait;  // previous stage's end (or issue) to this stage's start
  Percentiles service;     // this stage's start to end
  std::int64_t failed = 0;
  // A batching stage: batch size -> batches it sent on (empty for other stages).
  std::map<int, std::int64_t> batches;
};

struct PipelineStats {
  std::int64_t issued = 0;
  std::int64_t completed = 0;
  std::int64_t dropped = 0;
  std::int64_t failed = 0;
  std::int64_t over_bound = 0;  // completed later than the latency bound after scheduling
  double offered_qps = 0;       // scheduled arrivals per second of the arrival window
  double achieved_qps = 0;      // completions per second from the start to the last completion
  Percentiles latency;          // end to end, scheduled arrival to completion
  std::vector<StageStats> stages;
  // The latency CDF, at most cdf_points points (latency ms, fraction of completed queries <=).
  std::vector<std::pair<double, double>> cdf;
  // MLPerf Server's check (when the log has a latency bound): the latency at the bound's
  // percentile (nearest rank over completed queries) is at most the bound. Not met when nothing
  // completed.
  double latency_bound_ms = 0;  // 0: no bound
  double bound_percentile = 0;
  double latency_at_percentile_ms = 0;
  bool bound_met = false;
  // Events the writer counted but did not keep (max_events); statistics cover the rest.
  std::int64_t events_not_logged = 0;
  std::int64_t queries_not_logged = 0;
  // Queries scheduled before the measurement window (the run's warm-up): left out of every
  // figure above.
  std::int64_t warmup_queries = 0;
  double window_start_ms = 0;  // from_ns of summarize, in ms
};

// The latency bound and not-logged counts come from `meta`. `cdf_points` >= 2. Queries scheduled
// before `from_ns` (ns after the pipeline's start: the run's warm-up, as colo's throughput window
// leaves it out) count only in warmup_queries; rates are over the time after from_ns.
PipelineStats summarize(const std::vector<QueryRecord>& queries,
                        const std::vector<std::string>& stage_names, const LogMeta& meta = {},
                        std::size_t cdf_points = 101, std::int64_t from_ns = 0);
// The statistics of a stored or written log (its records and its meta event).
PipelineStats summarize(const EventLog& log, std::size_t cdf_points = 101,
                        std::int64_t from_ns = 0);

// One line: "e2e p50 1.2 ms p99 3.4 ms; loader p50 ... ; 812 q/s of 800 offered, 0 dropped",
// then, when they apply, the batch sizes, the latency bound met or not, the events not logged.
std::string one_line(const PipelineStats& s);
// "p99 12.3 ms <= bound 20 ms: met" (or "> ...: NOT met"); "" without a bound.
std::string bound_verdict(const PipelineStats& s);

}  // namespace colo::pipeline
