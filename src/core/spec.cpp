#include "core/spec.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <optional>
#include <regex>
#include <set>
#include <sstream>

#include "core/run_plan.hpp"
#include "core/units.hpp"
#include "core/utf8.hpp"

namespace colo {

const char* to_string(ProgressMode mode) {
  switch (mode) {
    case ProgressMode::automatic:
      return "auto";
    case ProgressMode::protocol:
      return "true";
    case ProgressMode::wall_time:
      return "false";
  }
  return "auto";
}

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

  // true/false (also yes/no, on/off, as YAML 1.1 reads them); anything else is an error.
  Result<bool> boolean(const YAML::Node& n, const std::string& field) const {
    auto s = scalar(n, field);
    if (!s) {
      return fail(s.error());
    }
    bool v = false;
    if (!YAML::convert<bool>::decode(n, v)) {
      return fail(error(n, field, fmt::format("'{}' is not a boolean: use true or false", *s)));
    }
    return v;
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

// Why `name` cannot name an experiment (it goes into paths, environments and terminal output),
// or nothing when it can.
std::optional<std::string> bad_experiment_name(const std::string& name) {
  if (name.empty() || name.size() > k_max_experiment_name) {
    return fmt::format("must be 1 to {} bytes long", k_max_experiment_name);
  }
  if (!is_valid_utf8(name)) {
    return std::string("is not valid UTF-8");
  }
  for (const char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F) {
      return fmt::format("contains a control character (0x{:02x}); use a name on one line", u);
    }
    if (c == '/' || c == '\\') {
      return fmt::format("'{}' contains '{}': a name is not a path", name, c);
    }
  }
  if (name == "." || name == "..") {
    return fmt::format("'{}' is not a name", name);
  }
  return std::nullopt;
}

// Checks what yaml-cpp accepts silently: a second document, and a key given twice in one
// mapping (yaml-cpp keeps one of them). Works on parser events, so aliases are not expanded
// and the work stays linear in the text.
class StructureCheck final : public YAML::EventHandler {
 public:
  explicit StructureCheck(const Ctx& ctx) : m_ctx(ctx) {}

  [[nodiscard]] const std::optional<Error>& error() const { return m_error; }

  void OnDocumentStart(const YAML::Mark& mark) override {
    if (++m_documents > 1) {
      set_error(mark, "(document)",
                "a second YAML document ('---'): a spec is one document; put each experiment "
                "in its own file");
    }
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t /*anchor*/) override { value(mark, nullptr); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t /*anchor*/) override { value(mark, nullptr); }
  void OnScalar(const YAML::Mark& mark, const std::string& /*tag*/, YAML::anchor_t /*anchor*/,
                const std::string& text) override {
    value(mark, &text);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string& /*tag*/,
                       YAML::anchor_t /*anchor*/, YAML::EmitterStyle::value /*style*/) override {
    value(mark, nullptr);
    m_stack.push_back(Frame{false, {}, true});
  }
  void OnSequenceEnd() override { pop(); }
  void OnMapStart(const YAML::Mark& mark, const std::string& /*tag*/, YAML::anchor_t /*anchor*/,
                  YAML::EmitterStyle::value /*style*/) override {
    value(mark, nullptr);
    m_stack.push_back(Frame{true, {}, true});
  }
  void OnMapEnd() override { pop(); }

 private:
  struct Frame {
    bool map = false;
    std::set<std::string> keys;
    bool expect_key = true;  // in a map: the next node is a key
  };

  // A node starts in the current container; `text` is its scalar text, if it is a scalar.
  void value(const YAML::Mark& mark, const std::string* text) {
    if (m_stack.empty() || !m_stack.back().map) {
      return;
    }
    auto& f = m_stack.back();
    if (f.expect_key && text && !f.keys.insert(*text).second) {
      set_error(mark, *text, fmt::format("duplicate key '{}' in one mapping", *text));
    }
    f.expect_key = !f.expect_key;
  }
  void pop() {
    if (!m_stack.empty()) {
      m_stack.pop_back();
    }
  }
  void set_error(const YAML::Mark& mark, const std::string& field, const std::string& msg) {
    if (!m_error) {
      m_error = m_ctx.error_at(mark.line + 1, field, msg);
    }
  }

  const Ctx& m_ctx;
  int m_documents = 0;
  std::vector<Frame> m_stack;
  std::optional<Error> m_error;
};

// The flags each builtin workload takes (workloads/*: colo-cpu-work, colo-sim-gpu,
// colo-cuda-work), so that a typo fails at parse time (and in --dry-run), not at run time.
enum class ArgKind { count, number, bytes };
struct BuiltinArg {
  const char* key;
  ArgKind kind;
  double lo;
  double hi;
};

const std::vector<BuiltinArg>& builtin_args(const std::string& builtin) {
  static const std::map<std::string, std::vector<BuiltinArg>> k_table = [] {
    const double big = 1e12;
    const std::vector<BuiltinArg> cuda_common{{"sms", ArgKind::count, 0, 4096},
                                              {"sm-offset", ArgKind::count, 0, 4096},
                                              {"steps", ArgKind::count, 0, big}};
    auto cuda = [&](std::vector<BuiltinArg> extra) {
      extra.insert(extra.begin(), cuda_common.begin(), cuda_common.end());
      return extra;
    };
    return std::map<std::string, std::vector<BuiltinArg>>{
        {"cpu",
         {{"work", ArgKind::count, 0, big},
          {"batch", ArgKind::count, 0, big},
          {"steps", ArgKind::count, 0, big},
          {"size", ArgKind::count, 0, 65536}}},
        {"sim-gpu",
         {{"duty", ArgKind::number, 0.001, 1},
          {"sm", ArgKind::number, 0.001, 1},
          {"bw", ArgKind::number, 0, 1},
          {"mem", ArgKind::bytes, 0, 0},
          {"step-ms", ArgKind::number, 0.1, 600000},
          {"batch", ArgKind::number, 0, 1e9},
          {"steps", ArgKind::number, 0, big}}},
        {"cuda-gemm",
         cuda({{"size", ArgKind::count, 1, 65536}, {"chain", ArgKind::count, 1, big}})},
        {"cuda-triad", cuda({{"mem", ArgKind::bytes, 0, 0}})},
        {"cuda-tiny", cuda({{"kernels", ArgKind::count, 1, big}})},
        {"cuda-alloc", cuda({{"mem", ArgKind::bytes, 0, 0}})},
        {"cuda-fault", cuda({{"after", ArgKind::count, 0, big}})},
    };
  }();
  static const std::vector<BuiltinArg> k_none;
  auto it = k_table.find(builtin);
  return it == k_table.end() ? k_none : it->second;
}

// Why `value` is not a valid value of `arg`, or nothing.
std::optional<std::string> bad_builtin_value(const BuiltinArg& arg, const std::string& value) {
  if (arg.kind == ArgKind::bytes) {
    auto b = parse_bytes(value);
    return b ? std::nullopt : std::optional<std::string>(b.error().message);
  }
  double v = 0;
  const char* begin = value.data();
  const char* end = value.data() + value.size();
  auto [ptr, ec] = std::from_chars(begin, end, v);
  const bool whole = ec == std::errc() && ptr == end && std::isfinite(v);
  const bool integral = whole && std::floor(v) == v;
  if (!whole || (arg.kind == ArgKind::count && !integral) || v < arg.lo || v > arg.hi) {
    return fmt::format("'{}' is not {} in [{}, {}]", value,
                       arg.kind == ArgKind::count ? "an integer" : "a number", arg.lo, arg.hi);
  }
  return std::nullopt;
}

// Checks a builtin's `args` (keys and values) for every sweep value they refer to.
Status check_builtin_args(const Ctx& ctx, const YAML::Node& args, const std::string& field,
                          const std::string& builtin, const ExperimentSpec& spec) {
  const auto& known = builtin_args(builtin);
  for (auto it = args.begin(); it != args.end(); ++it) {
    const auto key = it->first.as<std::string>();
    const auto f = field + "." + key;
    auto a =
        std::find_if(known.begin(), known.end(), [&](const BuiltinArg& b) { return key == b.key; });
    if (a == known.end()) {
      std::string names;
      for (const auto& b : known) {
        names += (names.empty() ? "" : ", ") + std::string(b.key);
      }
      return fail(ctx.error(
          it->first, f,
          fmt::format("builtin '{}' has no argument '{}' (known: {})", builtin, key, names)));
    }
    const auto text = it->second.as<std::string>();
    // The values this argument takes: one per combination of the sweep parameters it names.
    std::vector<std::vector<std::pair<std::string, std::string>>> points{{}};
    for (const auto& [param, values] : spec.sweep) {
      if (text.find("{" + param + "}") == std::string::npos) {
        continue;
      }
      std::vector<std::vector<std::pair<std::string, std::string>>> next;
      for (const auto& p : points) {
        for (const auto& v : values) {
          auto q = p;
          q.emplace_back(param, v);
          next.push_back(std::move(q));
        }
      }
      points = std::move(next);
    }
    for (const auto& p : points) {
      const auto value = substitute(text, p);
      if (auto why = bad_builtin_value(*a, value)) {
        std::string at;
        for (const auto& [k, v] : p) {
          at += fmt::format("{}{}={}", at.empty() ? " (sweep " : ", ", k, v);
        }
        return fail(ctx.error(it->second, f, *why + (at.empty() ? "" : at + ")")));
      }
    }
  }
  return {};
}

// An upper bound of the runs the spec plans (expand_runs() may skip some), saturated.
double planned_runs_bound(const ExperimentSpec& spec) {
  double points = 1;
  for (const auto& [key, values] : spec.sweep) {
    points *= static_cast<double>(values.size());
  }
  double groups = static_cast<double>(spec.groups.size());
  for (const auto& w : spec.workloads) {
    groups += static_cast<double>(w.copies.size());
  }
  if (groups == 0 && spec.workloads.size() > 1) {
    groups = 1;  // every workload together (groups_of() in run_plan.cpp)
  }
  double modes = 0;
  for (const auto& m : spec.modes) {
    modes += static_cast<double>(m.expansions.size());
  }
  const double solos = spec.solo_baseline ? static_cast<double>(spec.workloads.size()) : 0;
  return points * spec.repeat * (solos + groups * modes);
}

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

// A `gpus:` list (0..63, no repeats). With `within` (a workload's or group's list), every index
// must be one of the experiment's GPUs, so that the top-level list names every device used.
Result<std::vector<int>> gpu_list(const Ctx& ctx, const YAML::Node& n, const std::string& field,
                                  const std::vector<int>* within) {
  auto g = int_list(ctx, n, field, 0, 63);
  if (!g) {
    return fail(g.error());
  }
  for (std::size_t i = 0; i < g->size(); ++i) {
    const int d = (*g)[i];
    if (std::find(g->begin(), g->begin() + static_cast<std::ptrdiff_t>(i), d) !=
        g->begin() + static_cast<std::ptrdiff_t>(i)) {
      return fail(ctx.error(n, field, fmt::format("GPU {} is listed twice", d)));
    }
    if (within && std::find(within->begin(), within->end(), d) == within->end()) {
      return fail(ctx.error(n, field,
                            fmt::format("GPU {} is not one of the experiment's gpus [{}]; add it "
                                        "to the top-level gpus",
                                        d, fmt::join(*within, ", "))));
    }
  }
  return g;
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
  const double expansions = static_cast<double>(tps.size()) * static_cast<double>(mems.size()) *
                            static_cast<double>(smss.size());
  if (expansions > static_cast<double>(k_max_mode_expansions)) {
    return fail(ctx.error(n, field,
                          fmt::format("the mode sweeps {:.0f} settings, more than the cap of {}",
                                      expansions, k_max_mode_expansions)));
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

// A YAML subtree as JSON, every scalar as a string (the pipeline module parses the values).
nlohmann::json yaml_to_json(const YAML::Node& n) {
  if (n.IsMap()) {
    auto out = nlohmann::json::object();
    for (auto it = n.begin(); it != n.end(); ++it) {
      out[it->first.as<std::string>()] = yaml_to_json(it->second);
    }
    return out;
  }
  if (n.IsSequence()) {
    auto out = nlohmann::json::array();
    for (const auto& e : n) {
      out.push_back(yaml_to_json(e));
    }
    return out;
  }
  if (n.IsScalar()) {
    return n.Scalar();
  }
  return nullptr;
}

Result<WorkloadSpec> parse_workload(const Ctx& ctx, const YAML::Node& n, const std::string& field,
                                    const ExperimentSpec& spec) {
  COLO_TRY(ctx.check_keys(
      n, field,
      {"name", "cmd", "builtin", "pipeline", "args", "env", "cwd", "copies", "progress", "gpus"}));
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
  if ((n["cmd"] ? 1 : 0) + (n["builtin"] ? 1 : 0) + (n["pipeline"] ? 1 : 0) > 1) {
    return fail(ctx.error(n, wf, "give one of 'cmd', 'builtin' or 'pipeline'"));
  }
  if (n["pipeline"]) {
    // Checked by the pipeline module when the experiment is planned (docs/pipeline.md).
    if (!n["pipeline"].IsMap()) {
      return fail(ctx.error(n["pipeline"], wf + ".pipeline",
                            "expected a mapping (stages, load, ...; docs/pipeline.md)"));
    }
    if (n["args"]) {
      return fail(ctx.error(n["args"], wf + ".args",
                            "a pipeline takes no 'args'; its settings are under 'pipeline'"));
    }
    w.builtin = "pipeline";
    w.pipeline_line = n["pipeline"].Mark().line + 1;
  } else if (n["cmd"]) {
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
    return fail(ctx.error(n, wf,
                          "needs 'cmd' (a command), 'builtin' (cpu, sim-gpu, cuda-*) or "
                          "'pipeline' (stages and load, docs/pipeline.md)"));
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
  if (!w.args.empty()) {
    COLO_TRY(check_builtin_args(ctx, n["args"], wf + ".args", w.builtin, spec));
  }
  if (n["pipeline"]) {
    w.args["config"] = yaml_to_json(n["pipeline"]).dump();
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
  if (n["gpus"]) {
    auto g = gpu_list(ctx, n["gpus"], wf + ".gpus", &spec.gpus);
    if (!g) {
      return fail(g.error());
    }
    w.gpus = *g;
    w.gpus_line = n["gpus"].Mark().line + 1;
  }
  if (n["progress"]) {
    auto p = ctx.scalar(n["progress"], wf + ".progress");
    if (!p) {
      return fail(p.error());
    }
    if (*p == "auto") {
      w.progress = ProgressMode::automatic;
    } else if (*p == "true") {
      w.progress = ProgressMode::protocol;
    } else if (*p == "false") {
      w.progress = ProgressMode::wall_time;
    } else {
      return fail(ctx.error(n["progress"], wf + ".progress",
                            fmt::format("'{}': expected auto, true or false", *p)));
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

// `repeat: N` (fixed) or `repeat: {min: N, max: M, ci: 5%}` (adaptive, docs/spec.md).
Status parse_repeat(const Ctx& ctx, const YAML::Node& n, ExperimentSpec& spec) {
  if (!n.IsMap()) {
    auto r = ctx.integer(n, "repeat", 1, 1000);
    if (!r) {
      return fail(r.error());
    }
    spec.repeat = spec.repeat_max = static_cast<int>(*r);
    return {};
  }
  COLO_TRY(ctx.check_keys(n, "repeat", {"min", "max", "ci"}));
  for (const char* key : {"min", "max", "ci"}) {
    if (!n[key]) {
      return fail(ctx.error(n, "repeat",
                            fmt::format("adaptive repetitions need '{}' (e.g. "
                                        "repeat: {{min: 3, max: 10, ci: 5%}})",
                                        key)));
    }
  }
  auto lo = ctx.integer(n["min"], "repeat.min", 2, 1000);
  if (!lo) {
    return fail(lo.error());
  }
  auto hi = ctx.integer(n["max"], "repeat.max", *lo, 1000);
  if (!hi) {
    return fail(hi.error());
  }
  auto ci = ctx.scalar(n["ci"], "repeat.ci");
  if (!ci) {
    return fail(ci.error());
  }
  std::string text = *ci;
  double pct = 0;
  try {
    std::size_t used = 0;
    const bool has_pct = !text.empty() && text.back() == '%';
    pct = std::stod(has_pct ? text.substr(0, text.size() - 1) : text, &used);
    if (!has_pct || used != text.size() - 1) {
      throw std::invalid_argument("format");
    }
  } catch (const std::exception&) {
    return fail(ctx.error(n["ci"], "repeat.ci",
                          fmt::format("'{}': expected a percentage such as 5%", text)));
  }
  if (!(pct > 0 && pct <= 100)) {
    return fail(ctx.error(n["ci"], "repeat.ci", fmt::format("{}% is out of range (0, 100]", pct)));
  }
  spec.repeat = static_cast<int>(*lo);
  spec.repeat_max = static_cast<int>(*hi);
  spec.repeat_ci = pct / 100.0;
  return {};
}

// `order: sequential | random` and `seed: N` (docs/spec.md).
Status parse_order(const Ctx& ctx, const YAML::Node& root, ExperimentSpec& spec) {
  if (root["order"]) {
    auto o = ctx.scalar(root["order"], "order");
    if (!o) {
      return fail(o.error());
    }
    if (*o != "sequential" && *o != "random") {
      return fail(
          ctx.error(root["order"], "order", fmt::format("'{}': use sequential or random", *o)));
    }
    spec.order_random = *o == "random";
  }
  if (root["seed"]) {
    if (!spec.order_random) {
      return fail(ctx.error(root["seed"], "seed", "a seed needs order: random"));
    }
    auto s = ctx.integer(root["seed"], "seed", 0, std::numeric_limits<std::int64_t>::max());
    if (!s) {
      return fail(s.error());
    }
    spec.order_seed = static_cast<std::uint64_t>(*s);
  }
  return {};
}

Status parse_top(const Ctx& ctx, const YAML::Node& root, ExperimentSpec& spec) {
  if (!root.IsMap()) {
    return fail(ctx.error(root, "(top level)", "expected a mapping with name, workloads, ..."));
  }
  COLO_TRY(ctx.check_keys(root, "",
                          {"name",      "gpu",    "gpus",         "repeat",        "stop",
                           "warmup",    "grace",  "init_timeout", "sample_period", "modes",
                           "workloads", "groups", "sweep",        "solo_baseline", "warmup_run",
                           "limits",    "order",  "seed",         "hello_timeout", "parallel"}));
  if (!root["name"]) {
    return fail(ctx.error_at(1, "name", "missing experiment name"));
  }
  auto name = ctx.scalar(root["name"], "name");
  if (!name) {
    return fail(name.error());
  }
  if (auto why = bad_experiment_name(*name)) {
    return fail(ctx.error(root["name"], "name", *why));
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
    auto g = gpu_list(ctx, root["gpus"], "gpus", nullptr);
    if (!g) {
      return fail(g.error());
    }
    spec.gpus = *g;
    spec.gpus_line = root["gpus"].Mark().line + 1;
  }
  if (root["parallel"]) {
    auto b = ctx.boolean(root["parallel"], "parallel");
    if (!b) {
      return fail(b.error());
    }
    spec.parallel = *b;
  }
  if (root["repeat"]) {
    COLO_TRY(parse_repeat(ctx, root["repeat"], spec));
  }
  COLO_TRY(parse_order(ctx, root, spec));
  if (root["solo_baseline"]) {
    auto b = ctx.boolean(root["solo_baseline"], "solo_baseline");
    if (!b) {
      return fail(b.error());
    }
    spec.solo_baseline = *b;
  }
  for (auto [key, target] : {std::pair<const char*, Seconds*>{"grace", &spec.grace},
                             {"init_timeout", &spec.init_timeout},
                             {"hello_timeout", &spec.hello_timeout},
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
      auto b = ctx.boolean(s["exit"], "stop.exit");
      if (!b) {
        return fail(b.error());
      }
      spec.stop.on_exit = *b;
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
    double points = 1;
    std::string factors;
    for (const auto& [key, values] : spec.sweep) {
      points *= static_cast<double>(values.size());
      factors += fmt::format("{}{} {}", factors.empty() ? "" : " x ", values.size(), key);
    }
    if (points > static_cast<double>(k_max_sweep_points)) {
      return fail(ctx.error(sw, "sweep",
                            fmt::format("the grid has {:.0f} points ({}), more than the cap of "
                                        "{}; sweep fewer values or split the experiment",
                                        points, factors, k_max_sweep_points)));
    }
  }
  // workloads
  const auto& ws = root["workloads"];
  if (!ws || !ws.IsSequence() || ws.size() == 0) {
    return fail(ctx.error(ws ? ws : root, "workloads", "needs a non-empty list of workloads"));
  }
  std::set<std::string> names;
  for (std::size_t i = 0; i < ws.size(); ++i) {
    auto w = parse_workload(ctx, ws[i], fmt::format("workloads[{}]", i), spec);
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
      return fail(
          ctx.error(gs, "groups",
                    "expected a list of groups (lists of workload names, or {workloads, gpus})"));
    }
    for (std::size_t i = 0; i < gs.size(); ++i) {
      const std::string gf = fmt::format("groups[{}]", i);
      GroupSpec group;
      group.line = gs[i].Mark().line + 1;
      if (gs[i].IsMap()) {
        COLO_TRY(ctx.check_keys(gs[i], gf, {"workloads", "gpus"}));
        if (!gs[i]["workloads"]) {
          return fail(ctx.error(gs[i], gf, "missing 'workloads' (a list of workload names)"));
        }
        if (gs[i]["gpus"]) {
          auto d = gpu_list(ctx, gs[i]["gpus"], gf + ".gpus", &spec.gpus);
          if (!d) {
            return fail(d.error());
          }
          group.gpus = *d;
          group.gpus_line = gs[i]["gpus"].Mark().line + 1;
        }
      }
      // (yaml-cpp: assigning to a Node writes into the node it refers to; never reassign one.)
      const YAML::Node members = gs[i].IsMap() ? gs[i]["workloads"] : gs[i];
      auto g = ctx.string_list(members, gs[i].IsMap() ? gf + ".workloads" : gf);
      if (!g) {
        return fail(g.error());
      }
      if (g->empty()) {
        return fail(ctx.error(gs[i], gf, "empty group"));
      }
      for (const auto& wn : *g) {
        if (!names.count(wn)) {
          return fail(ctx.error(gs[i], gf, fmt::format("unknown workload '{}'", wn)));
        }
      }
      group.workloads = *g;
      spec.groups.push_back(std::move(group));
    }
  }
  if (const double runs = planned_runs_bound(spec); runs > static_cast<double>(k_max_runs)) {
    return fail(ctx.error_at(1, "(plan)",
                             fmt::format("the spec plans up to {:.0f} runs, more than the cap of "
                                         "{}; sweep fewer values, modes or repetitions",
                                         runs, k_max_runs)));
  }
  return {};
}

}  // namespace

Result<ExperimentSpec> parse_spec(const std::string& text, const std::string& path) {
  Ctx ctx(path);
  if (text.size() > k_max_spec_bytes) {
    return fail(ctx.error_at(0, "(file)",
                             fmt::format("{} bytes, more than the cap of {} bytes for a spec",
                                         text.size(), k_max_spec_bytes)));
  }
  ExperimentSpec spec;
  spec.source_path = path;
  std::error_code ec;
  auto abs = std::filesystem::absolute(path, ec);
  spec.source_dir = ec ? "." : abs.parent_path().string();
  spec.source_text = text;
  YAML::Node root;
  try {
    std::istringstream in(text);
    YAML::Parser parser(in);
    StructureCheck check(ctx);
    while (parser.HandleNextDocument(check) && !check.error()) {
    }
    if (check.error()) {
      return fail(*check.error());
    }
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
  // stat() before open(): opening a FIFO would block, and a device (/dev/zero) never ends.
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) {
    const int err = errno;
    return fail(err == ENOENT ? ErrorCode::not_found : ErrorCode::invalid_argument,
                fmt::format("cannot read spec file '{}'", path), std::strerror(err));
  }
  if (!S_ISREG(st.st_mode)) {
    return fail(ErrorCode::invalid_argument,
                fmt::format("spec file '{}' is not a regular file ({})", path,
                            S_ISDIR(st.st_mode) ? "a directory" : "a device, pipe or socket"));
  }
  if (static_cast<std::uintmax_t>(st.st_size) > k_max_spec_bytes) {
    return fail(ErrorCode::invalid_argument,
                fmt::format("spec file '{}' is {} bytes, more than the cap of {} bytes", path,
                            st.st_size, k_max_spec_bytes));
  }
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    const int err = errno;
    return fail(ErrorCode::invalid_argument, fmt::format("cannot read spec file '{}'", path),
                std::strerror(err));
  }
  // At most one byte past the cap, whatever the file does meanwhile (/proc files report 0).
  std::string text;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return fail(ErrorCode::invalid_argument, fmt::format("cannot read spec file '{}'", path),
                  std::strerror(err));
    }
    if (n == 0) {
      break;
    }
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() > k_max_spec_bytes) {
      break;  // parse_spec() refuses it
    }
  }
  ::close(fd);
  return parse_spec(text, path);
}

}  // namespace colo
