#include "pipeline/rows.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace colo::pipeline {

PipelineEventLogRecord to_store(const EventLog& log) {
  PipelineEventLogRecord rec;
  rec.stages = log.stages;
  rec.events.reserve(log.events.size());
  for (const auto& e : log.events) {
    rec.events.push_back({e.query, to_string(e.kind), e.stage, e.t_ns, e.detail});
  }
  return rec;
}

Result<EventLog> from_store(const PipelineEventLogRecord& rec) {
  EventLog log;
  log.stages = rec.stages;
  log.events.reserve(rec.events.size());
  for (const auto& r : rec.events) {
    const auto kind = parse_event_kind(r.kind);
    if (!kind) {
      return fail(ErrorCode::store, fmt::format("unknown pipeline event kind '{}'", r.kind));
    }
    log.events.push_back({r.query, *kind, r.stage, r.t_ns, r.detail});
  }
  return log;
}

namespace {
PipelineLatency latency(const Percentiles& p) {
  return {p.count, p.mean_ms, p.p50_ms, p.p90_ms, p.p99_ms, p.p999_ms};
}
}  // namespace

PipelineRow to_report(const PipelineStats& s) {
  PipelineRow row;
  row.issued = s.issued;
  row.completed = s.completed;
  row.dropped = s.dropped;
  row.failed = s.failed;
  row.offered_qps = s.offered_qps;
  row.achieved_qps = s.achieved_qps;
  row.e2e = latency(s.latency);
  for (const auto& st : s.stages) {
    row.stages.push_back(
        {st.name, latency(st.queue_wait), latency(st.service), st.failed, st.batches});
  }
  row.cdf = s.cdf;
  row.latency_bound_ms = s.latency_bound_ms;
  row.bound_percentile = s.bound_percentile;
  row.latency_at_percentile_ms = s.latency_at_percentile_ms;
  row.bound_met = s.bound_met;
  row.events_not_logged = s.events_not_logged;
  row.queries_not_logged = s.queries_not_logged;
  row.warmup_queries = s.warmup_queries;
  row.warmup_s = s.window_start_ms / 1e3;
  return row;
}

}  // namespace colo::pipeline
