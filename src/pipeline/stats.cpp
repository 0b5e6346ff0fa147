#include "pipeline/stats.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace colo::pipeline {

namespace {
double ms(std::int64_t ns) {
  return static_cast<double>(ns) / 1e6;
}
// Nearest rank: the smallest value with at least q of the values at or below it.
std::int64_t rank(const std::vector<std::int64_t>& sorted, double q) {
  const auto n = static_cast<double>(sorted.size());
  auto i = static_cast<std::size_t>(std::ceil(q * n));
  i = std::clamp<std::size_t>(i, 1, sorted.size());
  return sorted[i - 1];
}
}  // namespace

Percentiles percentiles(std::vector<std::int64_t>& ns) {
  Percentiles p;
  if (ns.empty()) {
    return p;
  }
  std::sort(ns.begin(), ns.end());
  p.count = static_cast<std::int64_t>(ns.size());
  double sum = 0;
  for (auto v : ns) {
    sum += static_cast<double>(v);
  }
  p.mean_ms = sum / static_cast<double>(ns.size()) / 1e6;
  p.p50_ms = ms(rank(ns, 0.50));
  p.p90_ms = ms(rank(ns, 0.90));
  p.p99_ms = ms(rank(ns, 0.99));
  p.p999_ms = ms(rank(ns, 0.999));
  p.max_ms = ms(ns.back());
  return p;
}

PipelineStats summarize(const std::vector<QueryRecord>& queries,
                        const std::vector<std::string>& stage_names, const LogMeta& meta,
                        std::size_t cdf_points, std::int64_t from_ns) {
  PipelineStats s;
  from_ns = std::max<std::int64_t>(from_ns, 0);
  s.window_start_ms = ms(from_ns);
  const std::int64_t latency_bound_ns = meta.latency_bound_ns;
  s.events_not_logged = meta.events_not_logged;
  s.queries_not_logged = meta.queries_not_logged;
  const std::size_t ns = stage_names.size();
  std::vector<std::int64_t> e2e;
  std::vector<std::vector<std::int64_t>> wait(ns);
  std::vector<std::vector<std::int64_t>> service(ns);
  std::vector<std::int64_t> failed_at(ns, 0);
  // Per stage, batch size -> queries sent on in batches of that size.
  std::vector<std::map<int, std::int64_t>> batched(ns);
  std::int64_t last_scheduled = 0;
  std::int64_t last_done = 0;
  for (const auto& q : queries) {
    if (q.scheduled_ns < from_ns) {
      ++s.warmup_queries;
      continue;
    }
    ++s.issued;
    last_scheduled = std::max(last_scheduled, q.scheduled_ns);
    switch (q.status) {
      case QueryStatus::dropped:
        ++s.dropped;
        continue;
      case QueryStatus::failed:
        ++s.failed;
        if (q.failed_stage >= 0 && static_cast<std::size_t>(q.failed_stage) < ns) {
          ++failed_at[static_cast<std::size_t>(q.failed_stage)];
        }
        break;
      case QueryStatus::completed: {
        ++s.completed;
        const std::int64_t lat = q.done_ns - q.scheduled_ns;
        e2e.push_back(lat);
        if (latency_bound_ns > 0 && lat > latency_bound_ns) {
          ++s.over_bound;
        }
        last_done = std::max(last_done, q.done_ns);
        break;
      }
      case QueryStatus::in_flight:
        break;
    }
    // Queue wait: from the previous stage's end (the first stage: from the scheduled arrival,
    // so the wait in the load generator's queue counts) to this stage's start.
    std::int64_t ready = q.scheduled_ns;
    for (std::size_t i = 0; i < ns && i < q.stages.size(); ++i) {
      const auto& t = q.stages[i];
      if (t.start_ns < 0) {
        break;
      }
      wait[i].push_back(t.start_ns - ready);
      if (t.end_ns < 0) {
        break;
      }
      if (t.batch > 0) {
        ++batched[i][t.batch];
      }
      service[i].push_back(t.end_ns - t.start_ns);
      ready = t.end_ns;
    }
  }
  if (s.issued > 1 && last_scheduled > from_ns) {
    s.offered_qps =
        static_cast<double>(s.issued) / (static_cast<double>(last_scheduled - from_ns) / 1e9);
  }
  if (last_done > from_ns) {
    s.achieved_qps =
        static_cast<double>(s.completed) / (static_cast<double>(last_done - from_ns) / 1e9);
  }
  s.latency = percentiles(e2e);  // sorts e2e
  if (latency_bound_ns > 0) {
    s.latency_bound_ms = ms(latency_bound_ns);
    s.bound_percentile = meta.latency_percentile;
    if (!e2e.empty()) {
      const std::int64_t at = rank(e2e, meta.latency_percentile / 100.0);
      s.latency_at_percentile_ms = ms(at);
      s.bound_met = at <= latency_bound_ns;
    }
  }
  if (!e2e.empty()) {
    const std::size_t points = std::max<std::size_t>(cdf_points, 2);
    for (std::size_t k = 0; k < points; ++k) {
      const double q = static_cast<double>(k) / static_cast<double>(points - 1);
      const auto v = rank(e2e, std::max(q, 1e-12));
      s.cdf.emplace_back(ms(v), q);
    }
  }
  for (std::size_t i = 0; i < ns; ++i) {
    s.stages.push_back(
        {stage_names[i], percentiles(wait[i]), percentiles(service[i]), failed_at[i], {}});
    // A batch of n sent n queries on, each saying n (a batch cut by the event-log cap or a
    // failure counts as the part that was logged, rounded up).
    for (const auto& [size, n] : batched[i]) {
      s.stages.back().batches[size] = (n + size - 1) / size;
    }
  }
  return s;
}

PipelineStats summarize(const EventLog& log, std::size_t cdf_points, std::int64_t from_ns) {
  return summarize(records_from_events(log), log.stages, log_meta(log), cdf_points, from_ns);
}

std::string bound_verdict(const PipelineStats& s) {
  if (s.latency_bound_ms <= 0) {
    return "";
  }
  return fmt::format("p{:g} {:.3g} ms {} bound {:.3g} ms: {}", s.bound_percentile,
                     s.latency_at_percentile_ms, s.bound_met ? "<=" : ">", s.latency_bound_ms,
                     s.bound_met ? "met" : "NOT met");
}

std::string one_line(const PipelineStats& s) {
  std::string out =
      fmt::format("e2e p50 {:.3g} ms p99 {:.3g} ms", s.latency.p50_ms, s.latency.p99_ms);
  for (const auto& st : s.stages) {
    out += fmt::format("; {} p50 {:.3g}/p99 {:.3g} ms (wait p50 {:.3g} ms)", st.name,
                       st.service.p50_ms, st.service.p99_ms, st.queue_wait.p50_ms);
  }
  out += fmt::format("; {:.4g} q/s", s.achieved_qps);
  if (s.offered_qps > 0) {
    out += fmt::format(" of {:.4g} offered", s.offered_qps);
  }
  out += fmt::format(", {} dropped, {} failed", s.dropped, s.failed);
  if (s.warmup_queries > 0) {
    out += fmt::format("; {} warm-up queries (first {:.4g} s) not counted", s.warmup_queries,
                       s.window_start_ms / 1e3);
  }
  for (const auto& st : s.stages) {
    if (st.batches.empty()) {
      continue;
    }
    std::int64_t batches = 0;
    std::int64_t queries = 0;
    std::string sizes;
    for (const auto& [size, n] : st.batches) {
      batches += n;
      queries += n * size;
      sizes += fmt::format(" {}:{}", size, n);
    }
    out += fmt::format("; {} batches: mean size {:.3g} (size:batches{})", st.name,
                       static_cast<double>(queries) / static_cast<double>(batches), sizes);
  }
  if (const auto verdict = bound_verdict(s); !verdict.empty()) {
    out += "; latency bound: " + verdict;
  }
  if (s.events_not_logged > 0) {
    out += fmt::format(
        "; {} events of {} queries NOT in the event log (max_events): the "
        "latencies are of the logged queries",
        s.events_not_logged, s.queries_not_logged);
  }
  return out;
}

}  // namespace colo::pipeline
