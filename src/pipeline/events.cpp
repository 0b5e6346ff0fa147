#include "pipeline/events.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <sstream>

namespace colo::pipeline {

const char* to_string(QueryStatus status) {
  switch (status) {
    case QueryStatus::in_flight:
      return "in_flight";
    case QueryStatus::completed:
      return "completed";
    case QueryStatus::dropped:
      return "dropped";
    case QueryStatus::failed:
      return "failed";
  }
  return "?";
}

namespace {
constexpr EventKind k_kinds[] = {EventKind::scheduled, EventKind::issued,    EventKind::stage_start,
                                 EventKind::stage_end, EventKind::completed, EventKind::dropped,
                                 EventKind::failed,    EventKind::meta};
constexpr const char* k_batch_prefix = "batch=";
constexpr const char* k_header = "#colo-pipeline-events v1 stages=";

std::string clean(const std::string& s) {
  std::string out = s.substr(0, 500);
  std::replace_if(
      out.begin(), out.end(), [](char c) { return c == '\t' || c == '\n' || c == '\r'; }, ' ');
  return out;
}
}  // namespace

const char* to_string(EventKind kind) {
  switch (kind) {
    case EventKind::scheduled:
      return "scheduled";
    case EventKind::issued:
      return "issued";
    case EventKind::stage_start:
      return "stage_start";
    case EventKind::stage_end:
      return "stage_end";
    case EventKind::completed:
      return "completed";
    case EventKind::dropped:
      return "dropped";
    case EventKind::failed:
      return "failed";
    case EventKind::meta:
      return "meta";
  }
  return "?";
}

Event meta_event(const LogMeta& m, std::int64_t t_ns) {
  return {-1, EventKind::meta, -1, t_ns,
          fmt::format("latency_bound_ns={} latency_percentile={} events_not_logged={} "
                      "queries_not_logged={}",
                      m.latency_bound_ns, m.latency_percentile, m.events_not_logged,
                      m.queries_not_logged)};
}

LogMeta log_meta(const EventLog& log) {
  LogMeta m;
  for (const auto& e : log.events) {
    if (e.kind != EventKind::meta) {
      continue;
    }
    std::stringstream words(e.detail);
    for (std::string w; words >> w;) {
      const auto eq = w.find('=');
      if (eq == std::string::npos) {
        continue;
      }
      const std::string key = w.substr(0, eq);
      const char* value = w.c_str() + eq + 1;
      if (key == "latency_bound_ns") {
        m.latency_bound_ns = std::strtoll(value, nullptr, 10);
      } else if (key == "latency_percentile") {
        m.latency_percentile = std::strtod(value, nullptr);
      } else if (key == "events_not_logged") {
        m.events_not_logged = std::strtoll(value, nullptr, 10);
      } else if (key == "queries_not_logged") {
        m.queries_not_logged = std::strtoll(value, nullptr, 10);
      }
    }
  }
  return m;
}

std::optional<EventKind> parse_event_kind(std::string_view name) {
  for (auto k : k_kinds) {
    if (name == to_string(k)) {
      return k;
    }
  }
  return std::nullopt;
}

void append_events(const QueryRecord& q, std::vector<Event>& out) {
  out.push_back({q.id, EventKind::scheduled, -1, q.scheduled_ns, {}});
  if (q.status == QueryStatus::dropped) {
    out.push_back({q.id, EventKind::dropped, -1, q.done_ns, q.error});
    return;
  }
  out.push_back({q.id, EventKind::issued, -1, q.issued_ns, {}});
  for (std::size_t s = 0; s < q.stages.size(); ++s) {
    const int si = static_cast<int>(s);
    if (q.stages[s].start_ns >= 0) {
      out.push_back({q.id, EventKind::stage_start, si, q.stages[s].start_ns, {}});
    }
    if (q.stages[s].end_ns >= 0) {
      out.push_back(
          {q.id, EventKind::stage_end, si, q.stages[s].end_ns,
           q.stages[s].batch > 0 ? fmt::format("{}{}", k_batch_prefix, q.stages[s].batch) : ""});
    }
  }
  if (q.status == QueryStatus::completed) {
    out.push_back({q.id, EventKind::completed, -1, q.done_ns, {}});
  } else if (q.status == QueryStatus::failed) {
    out.push_back({q.id, EventKind::failed, q.failed_stage, q.done_ns, q.error});
  }
}

std::size_t event_count(const QueryRecord& q) {
  if (q.status == QueryStatus::dropped) {
    return 2;
  }
  std::size_t n = 2;  // scheduled, issued
  for (const auto& t : q.stages) {
    n += (t.start_ns >= 0 ? 1 : 0) + (t.end_ns >= 0 ? 1 : 0);
  }
  return n + (q.status == QueryStatus::completed || q.status == QueryStatus::failed ? 1 : 0);
}

void write_event_header(std::ostream& out, const std::vector<std::string>& stages) {
  out << k_header;
  for (std::size_t i = 0; i < stages.size(); ++i) {
    out << (i ? "," : "") << stages[i];
  }
  out << '\n';
}

void write_events(std::ostream& out, const std::vector<std::string>& stages,
                  const std::vector<Event>& events) {
  for (const auto& e : events) {
    const bool has_stage = e.stage >= 0 && static_cast<std::size_t>(e.stage) < stages.size();
    out << e.query << '\t' << to_string(e.kind) << '\t'
        << (has_stage ? stages[static_cast<std::size_t>(e.stage)] : std::string("-")) << '\t'
        << e.t_ns << '\t' << clean(e.detail) << '\n';
  }
}

Result<EventLog> read_events(std::istream& in) {
  EventLog log;
  std::string line;
  if (!std::getline(in, line) || line.rfind(k_header, 0) != 0) {
    return fail(ErrorCode::invalid_argument,
                "not a colo pipeline event log (line 1 is not '#colo-pipeline-events v1 ...')");
  }
  std::stringstream names(line.substr(std::string(k_header).size()));
  for (std::string s; std::getline(names, s, ',');) {
    log.stages.push_back(s);
  }
  std::map<std::string, int> stage_index;
  for (std::size_t i = 0; i < log.stages.size(); ++i) {
    stage_index[log.stages[i]] = static_cast<int>(i);
  }
  for (int lineno = 2; std::getline(in, line); ++lineno) {
    const bool last = in.peek() == std::char_traits<char>::eof();
    std::vector<std::string> f;
    std::stringstream ss(line);
    for (std::string s; std::getline(ss, s, '\t');) {
      f.push_back(s);
    }
    if (f.size() == 4 && !line.empty() && line.back() == '\t') {
      f.emplace_back();
    }
    Event e;
    bool ok = f.size() == 5;
    if (ok) {
      char* end = nullptr;
      e.query = std::strtoll(f[0].c_str(), &end, 10);
      ok = !f[0].empty() && *end == '\0';
      e.t_ns = std::strtoll(f[3].c_str(), &end, 10);
      ok = ok && !f[3].empty() && *end == '\0';
      const auto kind = parse_event_kind(f[1]);
      ok = ok && kind.has_value();
      if (ok) {
        e.kind = *kind;
      }
      if (ok && f[2] != "-") {
        auto it = stage_index.find(f[2]);
        ok = it != stage_index.end();
        e.stage = ok ? it->second : -1;
      }
      e.detail = ok ? f[4] : "";
    }
    if (!ok) {
      if (last) {
        break;  // a writer killed mid-line
      }
      return fail(
          ErrorCode::invalid_argument,
          fmt::format("pipeline event log line {}: malformed '{}'", lineno, line.substr(0, 120)));
    }
    log.events.push_back(std::move(e));
  }
  return log;
}

std::vector<QueryRecord> records_from_events(const EventLog& log) {
  std::map<std::int64_t, QueryRecord> by_id;
  for (const auto& e : log.events) {
    if (e.kind == EventKind::meta) {
      continue;
    }
    auto& q = by_id[e.query];
    q.id = e.query;
    if (q.stages.size() != log.stages.size()) {
      q.stages.resize(log.stages.size());
    }
    const auto s = static_cast<std::size_t>(e.stage);
    switch (e.kind) {
      case EventKind::scheduled:
        q.scheduled_ns = e.t_ns;
        break;
      case EventKind::issued:
        q.issued_ns = e.t_ns;
        break;
      case EventKind::stage_start:
        q.stages[s].start_ns = e.t_ns;
        break;
      case EventKind::stage_end:
        q.stages[s].end_ns = e.t_ns;
        if (e.detail.rfind(k_batch_prefix, 0) == 0) {
          q.stages[s].batch = static_cast<int>(
              std::strtol(e.detail.c_str() + std::strlen(k_batch_prefix), nullptr, 10));
        }
        break;
      case EventKind::completed:
        q.status = QueryStatus::completed;
        q.done_ns = e.t_ns;
        break;
      case EventKind::dropped:
        q.status = QueryStatus::dropped;
        q.done_ns = e.t_ns;
        q.error = e.detail;
        break;
      case EventKind::failed:
        q.status = QueryStatus::failed;
        q.done_ns = e.t_ns;
        q.failed_stage = e.stage;
        q.error = e.detail;
        break;
      case EventKind::meta:
        break;
    }
  }
  std::vector<QueryRecord> out;
  out.reserve(by_id.size());
  for (auto& [id, q] : by_id) {
    out.emplace_back();
    auto& r = out.back();
    r.id = q.id;
    r.scheduled_ns = q.scheduled_ns;
    r.issued_ns = q.issued_ns;
    r.done_ns = q.done_ns;
    r.status = q.status;
    r.failed_stage = q.failed_stage;
    r.error = std::move(q.error);
    r.stages = std::move(q.stages);
  }
  return out;
}

}  // namespace colo::pipeline
