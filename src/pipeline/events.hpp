#pragma once
// What happened to each query: its record while it runs, the per-query event log derived from it
// (issued, each stage's start and end, completed, dropped, failed) and that log's file format,
// which colo-pipeline writes and colo ingests into the experiment store. Times are nanoseconds
// from the pipeline's start (the start barrier's release).
#include <atomic>
#include <cstdint>
#include <istream>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace colo::pipeline {

enum class QueryStatus { in_flight, completed, dropped, failed };
const char* to_string(QueryStatus status);

// An atomic flag that moves (a record is moved between containers only while no thread shares it).
struct CancelFlag {
  std::atomic<bool> value{false};
  CancelFlag() = default;
  CancelFlag(CancelFlag&& o) noexcept : value(o.value.load()) {}
  CancelFlag& operator=(CancelFlag&& o) noexcept {
    value = o.value.load();
    return *this;
  }
  CancelFlag(const CancelFlag&) = delete;
  CancelFlag& operator=(const CancelFlag&) = delete;
  ~CancelFlag() = default;
  [[nodiscard]] bool is_set() const { return value.load(std::memory_order_relaxed); }
};

struct StageTimes {
  std::int64_t start_ns = -1;  // -1: the stage never started this query
  std::int64_t end_ns = -1;
  int batch = 0;  // a batching stage: the size of the batch it sent this query on in; else 0
};

// One query. Owned by one thread at a time (it travels through the queues), except `cancel`,
// which the runner's watchdog sets when a stage holds the query past the stage timeout.
struct QueryRecord {
  std::int64_t id = 0;
  std::int64_t scheduled_ns = 0;  // when the load generator meant it to arrive
  std::int64_t issued_ns = 0;     // when it was actually handed to the first stage
  std::int64_t done_ns = -1;      // completed, dropped or failed
  int samples = 1;
  QueryStatus status = QueryStatus::in_flight;
  int failed_stage = -1;
  std::string error;  // failed: "stage 'pre': ..."; dropped: why
  std::vector<StageTimes> stages;
  std::vector<std::uint8_t> payload;  // what the stages hand on (loader bytes, tensors)
  CancelFlag cancel;
};

// `meta` is not about a query (query -1): the log's settings and counts (LogMeta) in its detail.
enum class EventKind {
  scheduled,
  issued,
  stage_start,
  stage_end,
  completed,
  dropped,
  failed,
  meta
};
const char* to_string(EventKind kind);
// The kind to_string() names; nothing for any other text.
std::optional<EventKind> parse_event_kind(std::string_view name);

struct Event {
  std::int64_t query = 0;
  EventKind kind = EventKind::issued;
  int stage = -1;  // stage_start, stage_end, failed (-1: none)
  std::int64_t t_ns = 0;
  // failed, dropped: the reason; a batching stage's stage_end: "batch=N"; meta: "key=value ..."
  std::string detail;
};

struct EventLog {
  std::vector<std::string> stages;  // stage names in chain order
  std::vector<Event> events;
};

// What a log says about itself (its meta event): the Server scenario's latency bound, and the
// events the writer counted but did not keep (the in-memory log's cap, max_events). A log
// without a meta event (written before it existed) has the defaults.
struct LogMeta {
  std::int64_t latency_bound_ns = 0;  // 0: none
  double latency_percentile = 99;     // the percentile the bound applies to
  std::int64_t events_not_logged = 0;
  std::int64_t queries_not_logged = 0;
};
Event meta_event(const LogMeta& meta, std::int64_t t_ns);
LogMeta log_meta(const EventLog& log);

// A query's events, in time order of its life.
void append_events(const QueryRecord& q, std::vector<Event>& out);
// How many events append_events gives for q.
std::size_t event_count(const QueryRecord& q);

// The event-log file: a header line `#colo-pipeline-events v1 stages=a,b,c`, then one line per
// event: `query<TAB>kind<TAB>stage<TAB>t_ns<TAB>detail` (stage "-" when none; tabs and newlines
// in details become spaces).
void write_event_header(std::ostream& out, const std::vector<std::string>& stages);
void write_events(std::ostream& out, const std::vector<std::string>& stages,
                  const std::vector<Event>& events);
// Reads a whole file written above; a malformed line is an error naming its line number. A
// truncated last line (a killed writer) is ignored, not an error.
Result<EventLog> read_events(std::istream& in);

// Rebuilds query records (without payloads) from a log, ordered by query id (meta events are
// not queries: left out).
std::vector<QueryRecord> records_from_events(const EventLog& log);

}  // namespace colo::pipeline
