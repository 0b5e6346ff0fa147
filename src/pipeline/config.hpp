#pragma once
// A pipeline's configuration (docs/pipeline.md): its stages, the graph joining them, the load
// generator and the stop rule, as plain structs with documented defaults. parse_config() checks
// everything before a thread starts; every error names the field ("stages[1].kind: ...").
// Pure: values in, values out.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"

namespace colo::pipeline {

// Caps checked by parse_config.
inline constexpr std::size_t k_max_stages = 64;
inline constexpr std::size_t k_max_queue_depth = 1'000'000;
inline constexpr int k_max_stage_threads = 256;
inline constexpr double k_max_rate = 10'000'000;  // queries/s an open-loop generator may ask for
// Events kept in memory for the event log by default; the rest are counted (max_events).
inline constexpr std::int64_t k_default_max_events = 1'000'000;

// The load generators (docs/pipeline.md, "Load").
enum class LoadKind {
  closed,         // `outstanding` queries in flight; a new one is issued when one ends
  poisson,        // open loop: exponential inter-arrival times at `rate` queries/s
  single_stream,  // MLPerf SingleStream: one query at a time (closed loop, outstanding 1)
  multi_stream,   // MLPerf MultiStream: a query of `samples` samples every `interval`
  server,         // MLPerf Server: Poisson at `rate` with a `latency_bound` per query
  offline,        // MLPerf Offline: every query issued at t = 0
};
const char* to_string(LoadKind kind);

// What a stage failure (an exception, an error value or a timeout) does to the pipeline.
enum class FailurePolicy { keep_running, stop };

struct StageConfig {
  std::string name;  // unique in the pipeline: letters, digits, _ . -
  std::string kind;  // a registered stage kind (stage.hpp: known_stage_kinds())
  int threads = 1;   // worker threads of this stage
  // Depth of the bounded queue in front of this stage (>= 1).
  std::size_t queue_depth = 64;
  std::vector<std::string> next;              // successor stage names; empty: the list's next stage
  std::map<std::string, std::string> params;  // kind-specific (stage.hpp documents each)
};

struct LoadConfig {
  LoadKind kind = LoadKind::closed;
  int outstanding = 1;                   // closed: queries in flight
  double rate = 0;                       // poisson, server: queries/s (> 0)
  Seconds interval{0};                   // multi_stream: one query every interval
  int samples = 1;                       // multi_stream: samples per query
  std::optional<Seconds> latency_bound;  // server: a query over it counts as over-bound
  // server: the bound holds when this percentile of the latencies is within it (MLPerf: 99)
  double latency_percentile = 99;
  std::optional<std::int64_t> max_queries;  // stop issuing after this many
  std::optional<Seconds> duration;          // stop issuing this long after the start
  // Queries waiting to enter the first stage; an open-loop arrival finding it full is dropped.
  std::size_t queue_depth = 1024;
  std::uint64_t seed = 1;  // the arrival process's random stream
};

struct PipelineConfig {
  std::vector<StageConfig> stages;  // as written
  std::vector<std::size_t> order;   // the validated chain: stage indices, source to sink
  LoadConfig load;
  FailurePolicy on_failure = FailurePolicy::keep_running;
  // A stage busy with one query longer than this fails the query (the stage named); 0: never.
  Seconds stage_timeout{10};
  // The in-memory event log keeps the events of the first queries that finish, up to this many
  // events (whole queries only); the rest are counted, not kept, and the log says how many.
  std::int64_t max_events = k_default_max_events;
};

// Parses and validates a pipeline document (the spec's `pipeline:` mapping as JSON). Checks:
// known fields, stage kinds, unique names, queue depths >= 1, an acyclic connected single chain,
// a possible rate, a stop rule for open-loop generators, stage parameters (stage.hpp).
Result<PipelineConfig> parse_config(const nlohmann::json& doc);

// The stage order of a graph: the one chain from the source (no predecessor) to the sink. Fails
// naming the problem: an unknown successor, a cycle, a fork or join, a disconnected stage.
Result<std::vector<std::size_t>> chain_order(const std::vector<StageConfig>& stages);

}  // namespace colo::pipeline
