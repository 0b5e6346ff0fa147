#include "pipeline/config.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "core/units.hpp"
#include "pipeline/stage.hpp"

namespace colo::pipeline {

const char* to_string(LoadKind kind) {
  switch (kind) {
    case LoadKind::closed:
      return "closed";
    case LoadKind::poisson:
      return "poisson";
    case LoadKind::single_stream:
      return "single-stream";
    case LoadKind::multi_stream:
      return "multi-stream";
    case LoadKind::server:
      return "server";
    case LoadKind::offline:
      return "offline";
  }
  return "?";
}

namespace {

tl::unexpected<Error> bad(const std::string& field, const std::string& why) {
  return fail(ErrorCode::invalid_argument, field + ": " + why);
}

// A scalar as text: YAML turned into JSON gives strings, JSON written by hand gives numbers.
Result<std::string> text(const nlohmann::json& v, const std::string& field) {
  if (v.is_string()) {
    return v.get<std::string>();
  }
  if (v.is_number() || v.is_boolean()) {
    return v.dump();
  }
  return bad(field, "expected a scalar");
}

Result<std::int64_t> integer(const nlohmann::json& v, const std::string& field, std::int64_t lo,
                             std::int64_t hi) {
  auto t = text(v, field);
  if (!t) {
    return fail(t.error());
  }
  char* end = nullptr;
  const long long n = std::strtoll(t->c_str(), &end, 10);
  if (t->empty() || *end != '\0' || n < lo || n > hi) {
    return bad(field, fmt::format("'{}' is not an integer in [{}, {}]", *t, lo, hi));
  }
  return n;
}

// A queue depth in [1, k_max_queue_depth]; 0 is named as the problem it is.
Result<std::size_t> queue_depth(const nlohmann::json& v, const std::string& field) {
  auto d = integer(v, field, 0, static_cast<std::int64_t>(k_max_queue_depth));
  if (!d) {
    return fail(d.error());
  }
  if (*d == 0) {
    return bad(field, "queue depth 0 cannot hold a query (at least 1)");
  }
  return static_cast<std::size_t>(*d);
}

Result<Seconds> duration(const nlohmann::json& v, const std::string& field) {
  auto t = text(v, field);
  if (!t) {
    return fail(t.error());
  }
  auto d = parse_duration(*t);
  if (!d) {
    return bad(field, d.error().message);
  }
  return *d;
}

Status known_fields(const nlohmann::json& obj, const std::string& field,
                    const std::set<std::string>& known) {
  if (!obj.is_object()) {
    return bad(field, "expected a mapping");
  }
  for (const auto& [k, v] : obj.items()) {
    if (!known.count(k)) {
      std::string names;
      for (const auto& n : known) {
        names += (names.empty() ? "" : ", ") + n;
      }
      return bad(field, fmt::format("unknown field '{}' (known: {})", k, names));
    }
  }
  return {};
}

bool valid_name(const std::string& s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
  });
}

Result<StageConfig> parse_stage(const nlohmann::json& n, const std::string& f) {
  COLO_TRY(known_fields(n, f, {"name", "kind", "threads", "queue_depth", "next", "params"}));
  StageConfig s;
  if (!n.contains("name") || !n.contains("kind")) {
    return bad(f, "a stage needs 'name' and 'kind'");
  }
  auto name = text(n["name"], f + ".name");
  auto kind = text(n["kind"], f + ".kind");
  if (!name || !kind) {
    return fail(!name ? name.error() : kind.error());
  }
  if (!valid_name(*name)) {
    return bad(f + ".name", fmt::format("'{}' is not a name (letters, digits, _ . -)", *name));
  }
  s.name = *name;
  s.kind = *kind;
  const auto kinds = known_stage_kinds();
  if (std::find(kinds.begin(), kinds.end(), s.kind) == kinds.end()) {
    return bad(f + ".kind",
               fmt::format("unknown stage '{}' (known: {})", s.kind, fmt::join(kinds, ", ")));
  }
  if (n.contains("threads")) {
    auto t = integer(n["threads"], f + ".threads", 1, k_max_stage_threads);
    if (!t) {
      return fail(t.error());
    }
    s.threads = static_cast<int>(*t);
  }
  if (n.contains("queue_depth")) {
    auto d = queue_depth(n["queue_depth"], f + ".queue_depth");
    if (!d) {
      return fail(d.error());
    }
    s.queue_depth = *d;
  }
  if (n.contains("next")) {
    const auto& nx = n["next"];
    for (const auto& v : nx.is_array() ? nx : nlohmann::json::array({nx})) {
      auto t = text(v, f + ".next");
      if (!t) {
        return fail(t.error());
      }
      s.next.push_back(*t);
    }
  }
  if (n.contains("params")) {
    if (!n["params"].is_object()) {
      return bad(f + ".params", "expected a mapping");
    }
    for (const auto& [k, v] : n["params"].items()) {
      auto t = text(v, f + ".params." + k);
      if (!t) {
        return fail(t.error());
      }
      s.params[k] = *t;
    }
  }
  if (auto ok = check_stage_params(s.kind, s.params); !ok) {
    return bad(f + ".params", ok.error().message);
  }
  return s;
}

Result<LoadKind> parse_load_kind(const std::string& s, const std::string& f) {
  static const std::map<std::string, LoadKind> k_kinds{{"closed", LoadKind::closed},
                                                       {"poisson", LoadKind::poisson},
                                                       {"single-stream", LoadKind::single_stream},
                                                       {"multi-stream", LoadKind::multi_stream},
                                                       {"server", LoadKind::server},
                                                       {"offline", LoadKind::offline}};
  if (auto it = k_kinds.find(s); it != k_kinds.end()) {
    return it->second;
  }
  return bad(f, fmt::format("unknown load generator '{}' (known: closed, poisson, single-stream, "
                            "multi-stream, server, offline)",
                            s));
}

Result<LoadConfig> parse_load(const nlohmann::json& n) {
  const std::string f = "load";
  COLO_TRY(known_fields(n, f,
                        {"kind", "outstanding", "rate", "interval", "samples", "latency_bound",
                         "latency_percentile", "max_queries", "duration", "queue_depth", "seed"}));
  LoadConfig l;
  if (!n.contains("kind")) {
    return bad(f, "needs 'kind' (closed, poisson, single-stream, multi-stream, server, offline)");
  }
  auto kind_text = text(n["kind"], f + ".kind");
  if (!kind_text) {
    return fail(kind_text.error());
  }
  auto kind = parse_load_kind(*kind_text, f + ".kind");
  if (!kind) {
    return fail(kind.error());
  }
  l.kind = *kind;
  if (n.contains("outstanding")) {
    auto o = integer(n["outstanding"], f + ".outstanding", 1, 1'000'000);
    if (!o) {
      return fail(o.error());
    }
    l.outstanding = static_cast<int>(*o);
  }
  if (n.contains("rate")) {
    auto t = text(n["rate"], f + ".rate");
    if (!t) {
      return fail(t.error());
    }
    char* end = nullptr;
    const double r = std::strtod(t->c_str(), &end);
    if (t->empty() || *end != '\0' || !std::isfinite(r) || r <= 0) {
      return bad(f + ".rate", fmt::format("impossible rate '{}': queries/s must be > 0", *t));
    }
    if (r > k_max_rate) {
      return bad(f + ".rate", fmt::format("impossible rate {} queries/s: at most {} (one query "
                                          "per 100 ns)",
                                          r, k_max_rate));
    }
    l.rate = r;
  }
  if (n.contains("interval")) {
    auto d = duration(n["interval"], f + ".interval");
    if (!d) {
      return fail(d.error());
    }
    if (d->count() < 1e-6) {
      return bad(f + ".interval", "impossible interval: at least 1us");
    }
    l.interval = *d;
  }
  if (n.contains("samples")) {
    auto s = integer(n["samples"], f + ".samples", 1, 1'000'000);
    if (!s) {
      return fail(s.error());
    }
    l.samples = static_cast<int>(*s);
  }
  if (n.contains("latency_bound")) {
    auto d = duration(n["latency_bound"], f + ".latency_bound");
    if (!d) {
      return fail(d.error());
    }
    l.latency_bound = *d;
  }
  if (n.contains("latency_percentile")) {
    auto t = text(n["latency_percentile"], f + ".latency_percentile");
    if (!t) {
      return fail(t.error());
    }
    char* end = nullptr;
    const double p = std::strtod(t->c_str(), &end);
    if (t->empty() || *end != '\0' || !(p > 0 && p <= 100)) {
      return bad(f + ".latency_percentile",
                 fmt::format("'{}' is not a percentile in (0, 100]", *t));
    }
    l.latency_percentile = p;
  }
  if (n.contains("max_queries")) {
    auto m = integer(n["max_queries"], f + ".max_queries", 1, std::int64_t{1} << 40);
    if (!m) {
      return fail(m.error());
    }
    l.max_queries = *m;
  }
  if (n.contains("duration")) {
    auto d = duration(n["duration"], f + ".duration");
    if (!d) {
      return fail(d.error());
    }
    if (d->count() <= 0) {
      return bad(f + ".duration", "must be > 0");
    }
    l.duration = *d;
  }
  if (n.contains("queue_depth")) {
    auto d = queue_depth(n["queue_depth"], f + ".queue_depth");
    if (!d) {
      return fail(d.error());
    }
    l.queue_depth = *d;
  }
  if (n.contains("seed")) {
    auto s = integer(n["seed"], f + ".seed", 0, std::numeric_limits<std::int64_t>::max());
    if (!s) {
      return fail(s.error());
    }
    l.seed = static_cast<std::uint64_t>(*s);
  }
  // What each generator needs.
  const bool needs_rate = l.kind == LoadKind::poisson || l.kind == LoadKind::server;
  if (needs_rate && l.rate <= 0) {
    return bad(f + ".rate", fmt::format("load '{}' needs a rate (queries/s > 0)", *kind_text));
  }
  if (l.kind == LoadKind::multi_stream && l.interval.count() <= 0) {
    return bad(f + ".interval", "load 'multi-stream' needs an interval (e.g. 50ms)");
  }
  if (l.kind == LoadKind::server && !l.latency_bound) {
    return bad(f + ".latency_bound", "load 'server' needs a latency_bound (e.g. 100ms)");
  }
  if (l.kind == LoadKind::offline && !l.max_queries) {
    return bad(f + ".max_queries", "load 'offline' issues every query at once: give max_queries");
  }
  if (l.kind == LoadKind::single_stream) {
    l.outstanding = 1;
  }
  return l;
}

}  // namespace

Result<std::vector<std::size_t>> chain_order(const std::vector<StageConfig>& stages) {
  const std::size_t n = stages.size();
  if (n == 0) {
    return bad("stages", "a pipeline needs at least one stage");
  }
  std::map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < n; ++i) {
    if (!index.emplace(stages[i].name, i).second) {
      return bad(fmt::format("stages[{}].name", i),
                 fmt::format("stage '{}' is defined twice", stages[i].name));
    }
  }
  const bool explicit_edges = std::any_of(stages.begin(), stages.end(),
                                          [](const StageConfig& s) { return !s.next.empty(); });
  std::vector<int> succ(n, -1);
  std::vector<int> preds(n, 0);
  for (std::size_t i = 0; i < n; ++i) {
    if (!explicit_edges) {
      succ[i] = i + 1 < n ? static_cast<int>(i + 1) : -1;
    } else {
      if (stages[i].next.size() > 1) {
        return bad(fmt::format("stages[{}].next", i),
                   fmt::format("stage '{}' forks into {} stages; a pipeline is one chain",
                               stages[i].name, stages[i].next.size()));
      }
      if (!stages[i].next.empty()) {
        auto it = index.find(stages[i].next[0]);
        if (it == index.end()) {
          return bad(fmt::format("stages[{}].next", i),
                     fmt::format("unknown stage '{}'", stages[i].next[0]));
        }
        succ[i] = static_cast<int>(it->second);
      }
    }
    if (succ[i] >= 0 && ++preds[static_cast<std::size_t>(succ[i])] > 1) {
      return bad(fmt::format("stages[{}].next", i),
                 fmt::format("stage '{}' has two predecessors; a pipeline is one chain",
                             stages[static_cast<std::size_t>(succ[i])].name));
    }
  }
  std::vector<std::size_t> sources;
  for (std::size_t i = 0; i < n; ++i) {
    if (preds[i] == 0) {
      sources.push_back(i);
    }
  }
  if (sources.empty()) {
    // Every stage has a predecessor: the chain closes on itself.
    return bad("stages", fmt::format("the stage graph has a cycle through '{}' (no source stage)",
                                     stages[0].name));
  }
  std::vector<std::size_t> order;
  std::vector<bool> seen(n, false);
  for (int at = static_cast<int>(sources[0]); at >= 0; at = succ[static_cast<std::size_t>(at)]) {
    const auto u = static_cast<std::size_t>(at);
    if (seen[u]) {
      return bad("stages", fmt::format("the stage graph has a cycle through '{}'", stages[u].name));
    }
    seen[u] = true;
    order.push_back(u);
  }
  if (order.size() != n) {
    for (std::size_t i = 0; i < n; ++i) {
      if (!seen[i]) {
        return bad("stages", fmt::format("stage '{}' is not connected to the chain from '{}'{}",
                                         stages[i].name, stages[sources[0]].name,
                                         sources.size() > 1 ? "" : " (it is on a cycle)"));
      }
    }
  }
  return order;
}

Result<PipelineConfig> parse_config(const nlohmann::json& doc) {
  COLO_TRY(known_fields(doc, "pipeline",
                        {"stages", "load", "on_failure", "stage_timeout", "max_events"}));
  PipelineConfig c;
  if (!doc.contains("stages") || !doc["stages"].is_array()) {
    return bad("stages", "a pipeline needs a list of stages");
  }
  if (doc["stages"].size() > k_max_stages) {
    return bad("stages", fmt::format("{} stages: at most {}", doc["stages"].size(), k_max_stages));
  }
  for (std::size_t i = 0; i < doc["stages"].size(); ++i) {
    auto s = parse_stage(doc["stages"][i], fmt::format("stages[{}]", i));
    if (!s) {
      return fail(s.error());
    }
    c.stages.push_back(std::move(*s));
  }
  auto order = chain_order(c.stages);
  if (!order) {
    return fail(order.error());
  }
  c.order = std::move(*order);
  if (!doc.contains("load")) {
    return bad("load", "a pipeline needs a load generator (load: {kind: closed, ...})");
  }
  auto load = parse_load(doc["load"]);
  if (!load) {
    return fail(load.error());
  }
  c.load = *load;
  if (doc.contains("on_failure")) {
    auto t = text(doc["on_failure"], "on_failure");
    if (!t) {
      return fail(t.error());
    }
    if (*t == "continue") {
      c.on_failure = FailurePolicy::keep_running;
    } else if (*t == "stop") {
      c.on_failure = FailurePolicy::stop;
    } else {
      return bad("on_failure", fmt::format("'{}' is not continue or stop", *t));
    }
  }
  if (doc.contains("stage_timeout")) {
    auto d = duration(doc["stage_timeout"], "stage_timeout");
    if (!d) {
      return fail(d.error());
    }
    c.stage_timeout = *d;
  }
  if (doc.contains("max_events")) {
    auto m = integer(doc["max_events"], "max_events", 0, std::int64_t{1} << 40);
    if (!m) {
      return fail(m.error());
    }
    c.max_events = *m;
  }
  return c;
}

}  // namespace colo::pipeline
