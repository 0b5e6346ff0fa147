#include "core/spec.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "core/units.hpp"

namespace colo {

const char* to_string(ModeKind kind) {
  switch (kind) {
    case ModeKind::solo:
      return "solo";
    case ModeKind::timeslice:
      return "timeslice";
    case ModeKind::mps:
      return "mps";
    case ModeKind::mig:
      return "mig";
    case ModeKind::mig_equivalent:
      return "mig-equivalent";
    case ModeKind::green:
      return "green";
  }
  return "?";
}

Result<ModeKind> parse_mode_kind(std::string_view name) {
  for (auto k : {ModeKind::solo, ModeKind::timeslice, ModeKind::mps, ModeKind::mig,
                 ModeKind::mig_equivalent, ModeKind::green}) {
    if (name == to_string(k)) {
      return k;
    }
  }
  return fail(ErrorCode::invalid_argument,
              fmt::format("unknown sharing mode '{}' (known: solo, timeslice, mps, mig, "
                          "mig-equivalent, green)",
                          name));
}

std::string ModeSettings::label() const {
  std::vector<std::string> parts;
  auto add = [&](const char* key, const auto& pc, auto fmt_value) {
    if (pc.all) {
      parts.push_back(fmt::format("{}={}", key, fmt_value(*pc.all)));
    }
    for (const auto& [w, v] : pc.by_workload) {
      parts.push_back(fmt::format("{}[{}]={}", key, w, fmt_value(v)));
    }
  };
  auto plain = [](int v) { return std::to_string(v); };
  add("tp", thread_percent, plain);
  add("mem", mem_limit, [](std::uint64_t v) {
    if (v % (1024ULL * 1024 * 1024) == 0) {
      return fmt::format("{}G", v / (1024ULL * 1024 * 1024));
    }
    return fmt::format("{}M", v / (1024ULL * 1024));
  });
  add("sms", sms, plain);
  if (!mig_layout.empty()) {
    std::string joined;
    for (const auto& p : mig_layout) {
      joined += (joined.empty() ? "" : "+") + p;
    }
    parts.push_back("layout=" + joined);
  }
  if (kind == ModeKind::green && !green_over_mps) {
    parts.emplace_back("over=timeslice");
  }
  std::string out = to_string(kind);
  if (!parts.empty()) {
    out += "(";
    for (std::size_t i = 0; i < parts.size(); ++i) {
      out += (i ? "," : "") + parts[i];
    }
    out += ")";
  }
  return out;
}

const WorkloadSpec* ExperimentSpec::find_workload(const std::string& wname) const {
  for (const auto& w : workloads) {
    if (w.name == wname) {
      return &w;
    }
  }
  return nullptr;
}

namespace {

// Validation context: builds "file:line: field: message" errors.
class Ctx {
 public:
  explicit Ctx(std::string path) : m_path(std::move(path)) {}

  [[nodiscard]] Error error(const YAML::Node& node, const std::string& field,
                            const std::string& msg) const {
    int line = node.IsDefined() ? node.Mark().line + 1 : 0;
    return error_at(line, field, msg);
  }
  [[nodiscard]] Error error_at(int line, const std::string& field, const std::string& msg) const {
    std::string where = line > 0 ? fmt::format("{}:{}", m_path, line) : m_path;
    return Error{ErrorCode::invalid_argument, fmt::format("{}: {}: {}", where, field, msg), {}};
  }

  Status check_keys(const YAML::Node& map, const std::string& field,
                    std::initializer_list<const char*> allowed) const {
    if (!map.IsMap()) {
      return fail(error(map, field, "expected a mapping"));
    }
    for (auto it = map.begin(); it != map.end(); ++it) {
      auto key = it->first.as<std::string>();
      if (std::find_if(allowed.begin(), allowed.end(), [&](const char* a) { return key == a; }) ==
          allowed.end()) {
        std::string known;
        for (const char* a : allowed) {
          known += (known.empty() ? "" : ", ") + std::string(a);
        }
        return fail(error(it->first, field.empty() ? key : field + "." + key,
                          fmt::format("unknown field '{}' (known: {})", key, known)));
      }
    }
    return {};
  }

  Result<std::string> scalar(const YAML::Node& n, const std::string& field) const {
    if (!n.IsScalar()) {
      return fail(error(n, field, "expected a single value"));
    }
    return n.as<std::string>();
  }

  Result<std::int64_t> integer(const YAML::Node& n, const std::string& field, std::int64_t lo,
                               std::int64_t hi) const {
    auto s = scalar(n, field);
    if (!s) {
      return fail(s.error());
    }
    std::int64_t v = 0;
    try {
      std::size_t used = 0;
      v = std::stoll(*s, &used);
      if (used != s->size()) {
        throw std::invalid_argument("trailing");
      }
    } catch (const std::exception&) {
      return fail(error(n, field, fmt::format("'{}' is not an integer", *s)));
    }
    if (v < lo || v > hi) {
      return fail(error(n, field, fmt::format("{} is out of range [{}, {}]", v, lo, hi)));
    }
    return v;
  }

  Result<Seconds> duration(const YAML::Node& n, const std::string& field) const {
    auto s = scalar(n, field);
    if (!s) {
      return fail(s.error());
    }
    auto d = parse_duration(*s);
    if (!d) {
      return fail(error(n, field, d.error().message));
    }
    return *d;
  }

  Result<std::vector<std::string>> string_list(const YAML::Node& n,
                                               const std::string& field) const {
    std::vector<std::string> out;
    if (n.IsScalar()) {
      out.push_back(n.as<std::string>());
      return out;
    }
    if (!n.IsSequence()) {
      return fail(error(n, field, "expected a list"));
    }
    for (std::size_t i = 0; i < n.size(); ++i) {
      auto s = scalar(n[i], fmt::format("{}[{}]", field, i));
      if (!s) {
        return fail(s.error());
      }
      out.push_back(*s);
    }
    return out;
  }

 private:
  std::string m_path;
};

Result<std::vector<int>> int_list(const Ctx& ctx, const YAML::Node& n, const std::string& field,
                                  int lo, int hi) {
  std::vector<int> out;
  if (n.IsScalar()) {
    auto v = ctx.integer(n, field, lo, hi);
    if (!v) {
      return fail(v.error());
    }
    out.push_back(static_cast<int>(*v));
    return out;
  }
  if (!n.IsSequence() || n.size() == 0) {
    return fail(ctx.error(n, field, "expected a number or a non-empty list of numbers"));
  }
  for (std::size_t i = 0; i < n.size(); ++i) {
    auto v = ctx.integer(n[i], fmt::format("{}[{}]", field, i), lo, hi);
    if (!v) {
      return fail(v.error());
    }
    out.push_back(static_cast<int>(*v));
  }
  return out;
}

// A mode parameter is a scalar, a list (a sweep) or a map workload -> scalar. Returns the sweep
// alternatives, each a PerClient value.
template <typename T, typename ParseOne>
Result<std::vector<PerClient<T>>> per_client_param(const Ctx& ctx, const YAML::Node& n,
                                                   const std::string& field, ParseOne parse_one) {
  std::vector<PerClient<T>> out;
  if (n.IsMap()) {
    PerClient<T> pc;
    for (auto it = n.begin(); it != n.end(); ++it) {
      auto w = it->first.as<std::string>();
      auto v = parse_one(it->second, field + "." + w);
      if (!v) {
        return fail(v.error());
      }
      pc.by_workload[w] = *v;
    }
    out.push_back(pc);
    return out;
  }
  if (n.IsSequence()) {
    if (n.size() == 0) {
      return fail(ctx.error(n, field, "empty list"));
    }
    for (std::size_t i = 0; i < n.size(); ++i) {
      auto v = parse_one(n[i], fmt::format("{}[{}]", field, i));
      if (!v) {
        return fail(v.error());
      }
      PerClient<T> pc;
      pc.all = *v;
      out.push_back(pc);
    }
    return out;
  }
  auto v = parse_one(n, field);
  if (!v) {
    return fail(v.error());
  }
  PerClient<T> pc;
  pc.all = *v;
  out.push_back(pc);
  return out;
}

Result<ModeSpec> parse_mode(const Ctx& ctx, const YAML::Node& n, const std::string& field) {
  ModeSpec m;
  YAML::Node params;
  if (n.IsScalar()) {
    auto k = parse_mode_kind(n.as<std::string>());
    if (!k) {
      return fail(ctx.error(n, field, k.error().message));
    }
    m.kind = *k;
  } else if (n.IsMap() && n.size() == 1) {
    auto it = n.begin();
    auto name = it->first.as<std::string>();
    auto k = parse_mode_kind(name);
    if (!k) {
      return fail(ctx.error(it->first, field, k.error().message));
    }
    m.kind = *k;
    params = it->second;
  } else {
    return fail(ctx.error(n, field, "expected a mode name or {mode: {parameters}}"));
  }
  const std::string pfield = field + "." + to_string(m.kind);
  std::vector<PerClient<int>> tps{{}};
  std::vector<PerClient<std::uint64_t>> mems{{}};
  std::vector<PerClient<int>> smss{{}};
  std::vector<std::string> layout;
  bool green_over_mps = true;
  if (params.IsDefined() && !params.IsNull()) {
    switch (m.kind) {
      case ModeKind::solo:
      case ModeKind::timeslice:
        return fail(ctx.error(params, pfield, "this mode takes no parameters"));
      case ModeKind::mps: {
        COLO_TRY(ctx.check_keys(params, pfield, {"thread_percent", "mem_limit"}));
        auto int_pct = [&](const YAML::Node& v, const std::string& f) -> Result<int> {
          auto r = ctx.integer(v, f, 1, 100);
          if (!r) {
            return fail(r.error());
          }
          return static_cast<int>(*r);
        };
        auto bytes = [&](const YAML::Node& v, const std::string& f) -> Result<std::uint64_t> {
          auto s = ctx.scalar(v, f);
          if (!s) {
            return fail(s.error());
          }
          auto b = parse_bytes(*s);
          if (!b) {
            return fail(ctx.error(v, f, b.error().message));
          }
          if (*b < 1024ULL * 1024) {
            return fail(ctx.error(v, f, "memory limit below 1 MiB"));
          }
          return *b;
        };
        if (params["thread_percent"]) {
          auto r = per_client_param<int>(ctx, params["thread_percent"], pfield + ".thread_percent",
                                         int_pct);
          if (!r) {
            return fail(r.error());
          }
          tps = *r;
        }
        if (params["mem_limit"]) {
          auto r = per_client_param<std::uint64_t>(ctx, params["mem_limit"], pfield + ".mem_limit",
                                                   bytes);
          if (!r) {
            return fail(r.error());
          }
          mems = *r;
        }
        break;
      }
      case ModeKind::green: {
        COLO_TRY(ctx.check_keys(params, pfield, {"sms", "over"}));
        if (params["over"]) {
          auto over = ctx.scalar(params["over"], pfield + ".over");
          if (!over) {
            return fail(over.error());
          }
          if (*over != "mps" && *over != "timeslice") {
            return fail(ctx.error(params["over"], pfield + ".over",
                                  fmt::format("'{}' is not mps or timeslice", *over)));
          }
          green_over_mps = *over == "mps";
        }
        if (!params["sms"]) {
          return fail(ctx.error(params, pfield, "green needs 'sms' (SMs per client)"));
        }
        auto r =
            per_client_param<int>(ctx, params["sms"], pfield + ".sms",
                                  [&](const YAML::Node& v, const std::string& f) -> Result<int> {
                                    auto x = ctx.integer(v, f, 1, 4096);
                                    if (!x) {
                                      return fail(x.error());
                                    }
                                    return static_cast<int>(*x);
                                  });
        if (!r) {
          return fail(r.error());
        }
        smss = *r;
        break;
      }
      case ModeKind::mig:
      case ModeKind::mig_equivalent: {
        COLO_TRY(ctx.check_keys(params, pfield, {"layout"}));
        if (!params["layout"]) {
          return fail(ctx.error(params, pfield, "needs 'layout' (a list of MIG profiles)"));
        }
        auto l = ctx.string_list(params["layout"], pfield + ".layout");
        if (!l) {
          return fail(l.error());
        }
        static const std::regex k_profile(R"(^[1-7]g\.[0-9]+gb(\+me)?$)");
        for (const auto& p : *l) {
          if (!std::regex_match(p, k_profile)) {
            return fail(ctx.error(params["layout"], pfield + ".layout",
                                  fmt::format("'{}' is not a MIG profile name like 1g.10gb", p)));
          }
        }
        layout = *l;
        break;
      }
    }
  } else if (m.kind == ModeKind::green) {
    return fail(ctx.error(n, field, "green needs {green: {sms: N}}"));
  } else if (m.kind == ModeKind::mig || m.kind == ModeKind::mig_equivalent) {
    return fail(ctx.error(n, field, "needs {mode: {layout: [profiles]}}"));
  }
  for (const auto& tp : tps) {
    for (const auto& mem : mems) {
      for (const auto& s : smss) {
        ModeSettings ms;
        ms.kind = m.kind;
        ms.thread_percent = tp;
        ms.mem_limit = mem;
        ms.sms = s;
        ms.mig_layout = layout;
        ms.green_over_mps = green_over_mps;
        m.expansions.push_back(std::move(ms));
      }
    }
  }
  return m;
}

Result<WorkloadSpec> parse_workload(const Ctx& ctx, const YAML::Node& n, const std::string& field) {
  COLO_TRY(ctx.check_keys(n, field,
                          {"name", "cmd", "builtin", "args", "env", "cwd", "copies", "progress"}));
  WorkloadSpec w;
  w.line = n.Mark().line + 1;
  if (!n["name"]) {
    return fail(ctx.error(n, field, "missing 'name'"));
  }
  auto name = ctx.scalar(n["name"], field + ".name");
  if (!name) {
    return fail(name.error());
  }
  static const std::regex k_name(R"(^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$)");
  if (!std::regex_match(*name, k_name)) {
    return fail(ctx.error(n["name"], field + ".name",
                          fmt::format("'{}' is not a valid name (letters, digits, _ . -)", *name)));
  }
  w.name = *name;
  const std::string wf = fmt::format("workloads.{}", w.name);
  if (n["cmd"] && n["builtin"]) {
    return fail(ctx.error(n, wf, "give either 'cmd' or 'builtin', not both"));
  }
  if (n["cmd"]) {
    auto c = ctx.string_list(n["cmd"], wf + ".cmd");
    if (!c) {
      return fail(c.error());
    }
    if (c->empty() || c->front().empty()) {
      return fail(ctx.error(n["cmd"], wf + ".cmd", "empty command"));
    }
    w.cmd = *c;
  } else if (n["builtin"]) {
    auto b = ctx.scalar(n["builtin"], wf + ".builtin");
    if (!b) {
      return fail(b.error());
    }
    static const std::set<std::string> k_builtins{
        "cpu", "sim-gpu", "cuda-gemm", "cuda-triad", "cuda-tiny", "cuda-alloc", "cuda-fault"};
    if (!k_builtins.count(*b)) {
      return fail(ctx.error(n["builtin"], wf + ".builtin",
                            fmt::format("unknown workload '{}' (builtins: cpu, sim-gpu, "
                                        "cuda-gemm, cuda-triad, cuda-tiny, cuda-alloc, cuda-fault)",
                                        *b)));
    }
    w.builtin = *b;
  } else {
    return fail(ctx.error(n, wf, "needs 'cmd' (a command) or 'builtin' (cpu, sim-gpu, cuda-*)"));
  }
  auto string_map = [&](const char* key, std::map<std::string, std::string>& out) -> Status {
    const auto& m = n[key];
    if (!m) {
      return {};
    }
    if (!m.IsMap()) {
      return fail(ctx.error(m, wf + "." + key, "expected a mapping"));
    }
    for (auto it = m.begin(); it != m.end(); ++it) {
      auto v = ctx.scalar(it->second, wf + "." + key + "." + it->first.as<std::string>());
      if (!v) {
        return fail(v.error());
      }
      out[it->first.as<std::string>()] = *v;
    }
    return {};
  };
  COLO_TRY(string_map("args", w.args));
  COLO_TRY(string_map("env", w.env));
  if (!w.args.empty() && w.builtin.empty()) {
    return fail(ctx.error(n["args"], wf + ".args",
                          "'args' is for builtin workloads; put "
                          "arguments in 'cmd'"));
  }
  if (n["cwd"]) {
    auto c = ctx.scalar(n["cwd"], wf + ".cwd");
    if (!c) {
      return fail(c.error());
    }
    w.cwd = *c;
  }
  if (n["copies"]) {
    auto c = int_list(ctx, n["copies"], wf + ".copies", 1, 64);
    if (!c) {
      return fail(c.error());
    }
    w.copies = *c;
  }
  if (n["progress"]) {
    try {
      w.progress = n["progress"].as<bool>();
    } catch (const YAML::Exception&) {
      return fail(ctx.error(n["progress"], wf + ".progress", "expected true or false"));
    }
  }
  return w;
}

// limits: {pids: N, output: SIZE}; absent keys keep their defaults.
Status parse_limits(const Ctx& ctx, const YAML::Node& n, Limits& limits) {
  if (!n) {
    return {};
  }
  COLO_TRY(ctx.check_keys(n, "limits", {"pids", "output"}));
  if (n["pids"]) {
    auto v = ctx.integer(n["pids"], "limits.pids", 1, 4'194'304);
    if (!v) {
      return fail(v.error());
    }
    limits.pids = *v;
  }
  if (n["output"]) {
    auto s = ctx.scalar(n["output"], "limits.output");
    if (!s) {
      return fail(s.error());
    }
    auto b = parse_bytes(*s);
    if (!b || *b < 4096) {
      return fail(ctx.error(n["output"], "limits.output",
                            fmt::format("'{}': give a size of at least 4K, e.g. 64M", *s)));
    }
    limits.output = *b;
  }
  return {};
}

Status parse_top(const Ctx& ctx, const YAML::Node& root, ExperimentSpec& spec) {
  if (!root.IsMap()) {
    return fail(ctx.error(root, "(top level)", "expected a mapping with name, workloads, ..."));
  }
  COLO_TRY(ctx.check_keys(
      root, "",
      {"name", "gpu", "gpus", "repeat", "stop", "warmup", "grace", "init_timeout", "sample_period",
       "modes", "workloads", "groups", "sweep", "solo_baseline", "warmup_run", "limits"}));
  if (!root["name"]) {
    return fail(ctx.error_at(1, "name", "missing experiment name"));
  }
  auto name = ctx.scalar(root["name"], "name");
  if (!name) {
    return fail(name.error());
  }
  spec.name = *name;
  if (root["gpu"]) {
    auto g = ctx.scalar(root["gpu"], "gpu");
    if (!g) {
      return fail(g.error());
    }
    if (*g != "auto" && *g != "sim" && *g != "nvml") {
      return fail(ctx.error(root["gpu"], "gpu", fmt::format("'{}': use auto, sim or nvml", *g)));
    }
    spec.gpu_backend = *g;
  }
  if (root["gpus"]) {
    auto g = int_list(ctx, root["gpus"], "gpus", 0, 63);
    if (!g) {
      return fail(g.error());
    }
    spec.gpus = *g;
  }
  if (root["repeat"]) {
    auto r = ctx.integer(root["repeat"], "repeat", 1, 1000);
    if (!r) {
      return fail(r.error());
    }
    spec.repeat = static_cast<int>(*r);
  }
  if (root["solo_baseline"]) {
    spec.solo_baseline = root["solo_baseline"].as<bool>(true);
  }
  for (auto [key, target] : {std::pair<const char*, Seconds*>{"grace", &spec.grace},
                             {"init_timeout", &spec.init_timeout},
                             {"sample_period", &spec.sample_period},
                             {"warmup_run", &spec.warmup_run}}) {
    if (root[key]) {
      auto d = ctx.duration(root[key], key);
      if (!d) {
        return fail(d.error());
      }
      *target = *d;
    }
  }
  COLO_TRY(parse_limits(ctx, root["limits"], spec.limits));
  if (spec.sample_period.count() < 0.01) {
    return fail(ctx.error(root["sample_period"], "sample_period", "must be at least 10ms"));
  }
  if (const auto& s = root["stop"]) {
    COLO_TRY(ctx.check_keys(s, "stop", {"duration", "steps", "exit", "timeout"}));
    if (s["duration"]) {
      auto d = ctx.duration(s["duration"], "stop.duration");
      if (!d) {
        return fail(d.error());
      }
      if (d->count() <= 0) {
        return fail(ctx.error(s["duration"], "stop.duration", "must be positive"));
      }
      spec.stop.duration = *d;
    }
    if (s["steps"]) {
      auto v = ctx.integer(s["steps"], "stop.steps", 1, 1'000'000'000);
      if (!v) {
        return fail(v.error());
      }
      spec.stop.steps = *v;
    }
    if (s["exit"]) {
      spec.stop.on_exit = s["exit"].as<bool>(false);
    }
    if (s["timeout"]) {
      auto d = ctx.duration(s["timeout"], "stop.timeout");
      if (!d) {
        return fail(d.error());
      }
      spec.stop.timeout = *d;
    }
    if (!spec.stop.duration && !spec.stop.steps && !spec.stop.on_exit) {
      return fail(ctx.error(s, "stop", "give at least one of duration, steps, exit"));
    }
  } else {
    return fail(ctx.error_at(1, "stop", "missing stop rule (e.g. stop: {duration: 30s})"));
  }
  if (spec.stop.on_exit && !spec.stop.duration && !spec.stop.steps &&
      spec.stop.timeout.count() == 0) {
    spec.stop.timeout = Seconds(3600);
  }
  if (const auto& w = root["warmup"]) {
    if (w.IsMap()) {
      COLO_TRY(ctx.check_keys(w, "warmup", {"duration", "steps"}));
      if (w["duration"]) {
        auto d = ctx.duration(w["duration"], "warmup.duration");
        if (!d) {
          return fail(d.error());
        }
        spec.warmup.duration = *d;
      }
      if (w["steps"]) {
        auto v = ctx.integer(w["steps"], "warmup.steps", 0, 1'000'000'000);
        if (!v) {
          return fail(v.error());
        }
        spec.warmup.steps = *v;
      }
    } else {
      auto d = ctx.duration(w, "warmup");
      if (!d) {
        return fail(d.error());
      }
      spec.warmup.duration = *d;
    }
    if (spec.stop.duration && spec.warmup.duration >= *spec.stop.duration) {
      return fail(ctx.error(w, "warmup", "warm-up is not shorter than stop.duration"));
    }
  }
  if (const auto& sw = root["sweep"]) {
    if (!sw.IsMap()) {
      return fail(ctx.error(sw, "sweep", "expected a mapping parameter -> list of values"));
    }
    for (auto it = sw.begin(); it != sw.end(); ++it) {
      auto key = it->first.as<std::string>();
      auto vals = ctx.string_list(it->second, "sweep." + key);
      if (!vals) {
        return fail(vals.error());
      }
      if (vals->empty()) {
        return fail(ctx.error(it->second, "sweep." + key, "empty list"));
      }
      spec.sweep.emplace_back(key, *vals);
    }
  }
  // workloads
  const auto& ws = root["workloads"];
  if (!ws || !ws.IsSequence() || ws.size() == 0) {
    return fail(ctx.error(ws ? ws : root, "workloads", "needs a non-empty list of workloads"));
  }
  std::set<std::string> names;
  for (std::size_t i = 0; i < ws.size(); ++i) {
    auto w = parse_workload(ctx, ws[i], fmt::format("workloads[{}]", i));
    if (!w) {
      return fail(w.error());
    }
    if (!names.insert(w->name).second) {
      return fail(ctx.error(ws[i], fmt::format("workloads[{}].name", i),
                            fmt::format("duplicate workload name '{}'", w->name)));
    }
    spec.workloads.push_back(std::move(*w));
  }
  // modes
  if (const auto& ms = root["modes"]) {
    if (!ms.IsSequence() || ms.size() == 0) {
      return fail(ctx.error(ms, "modes", "expected a non-empty list"));
    }
    for (std::size_t i = 0; i < ms.size(); ++i) {
      auto m = parse_mode(ctx, ms[i], fmt::format("modes[{}]", i));
      if (!m) {
        return fail(m.error());
      }
      for (const auto& e : m->expansions) {
        auto check = [&](const auto& pc, const char* what) -> Status {
          for (const auto& [w, v] : pc.by_workload) {
            (void)v;
            if (!names.count(w)) {
              return fail(ctx.error(ms[i], fmt::format("modes[{}].{}", i, what),
                                    fmt::format("unknown workload '{}'", w)));
            }
          }
          return {};
        };
        COLO_TRY(check(e.thread_percent, "thread_percent"));
        COLO_TRY(check(e.mem_limit, "mem_limit"));
        COLO_TRY(check(e.sms, "sms"));
      }
      spec.modes.push_back(std::move(*m));
    }
  } else {
    ModeSpec ts;
    ts.kind = ModeKind::timeslice;
    ts.expansions.push_back(ModeSettings{ModeKind::timeslice, {}, {}, {}, {}});
    spec.modes.push_back(ts);
  }
  // groups
  if (const auto& gs = root["groups"]) {
    if (!gs.IsSequence()) {
      return fail(ctx.error(gs, "groups", "expected a list of groups (lists of workload names)"));
    }
    for (std::size_t i = 0; i < gs.size(); ++i) {
      auto g = ctx.string_list(gs[i], fmt::format("groups[{}]", i));
      if (!g) {
        return fail(g.error());
      }
      if (g->empty()) {
        return fail(ctx.error(gs[i], fmt::format("groups[{}]", i), "empty group"));
      }
      for (const auto& wn : *g) {
        if (!names.count(wn)) {
          return fail(ctx.error(gs[i], fmt::format("groups[{}]", i),
                                fmt::format("unknown workload '{}'", wn)));
        }
      }
      spec.groups.push_back(*g);
    }
  }
  return {};
}

}  // namespace

Result<ExperimentSpec> parse_spec(const std::string& text, const std::string& path) {
  Ctx ctx(path);
  ExperimentSpec spec;
  spec.source_path = path;
  std::error_code ec;
  auto abs = std::filesystem::absolute(path, ec);
  spec.source_dir = ec ? "." : abs.parent_path().string();
  spec.source_text = text;
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return fail(ctx.error_at(e.mark.line + 1, "(syntax)", e.msg));
  }
  try {
    COLO_TRY(parse_top(ctx, root, spec));
  } catch (const YAML::Exception& e) {
    return fail(ctx.error_at(e.mark.line + 1, "(value)", e.msg));
  }
  return spec;
}

Result<ExperimentSpec> load_spec(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return fail(ErrorCode::not_found, fmt::format("cannot read spec file '{}'", path),
                std::strerror(errno));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_spec(ss.str(), path);
}

}  // namespace colo
