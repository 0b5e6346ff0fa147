#include "report/compare.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>
#include <tuple>

#include "report/export.hpp"
#include "report/report.hpp"
#include "report/table.hpp"

namespace colo {
namespace {

using nlohmann::json;

// One side of a row: values per repetition (copies pooled by their mean).
struct Series {
  std::string unit;
  int copies = 1;
  std::map<int, std::vector<double>> by_rep;
  int unpaired_reps = 0;

  [[nodiscard]] std::vector<int> reps() const {
    std::vector<int> r;
    for (const auto& [k, v] : by_rep) {
      r.push_back(k);
    }
    return r;
  }
  [[nodiscard]] std::vector<double> values() const {
    std::vector<double> out;
    for (const auto& [k, v] : by_rep) {
      double sum = 0;
      for (double x : v) {
        sum += x;
      }
      out.push_back(sum / static_cast<double>(v.size()));
    }
    return out;
  }
};

using RowKey = std::tuple<std::string, std::string, std::string, std::string, std::string>;

// kind, mode, group, sweep, workload -> series, in first-seen order.
struct Rows {
  std::map<RowKey, Series> series;
  std::vector<RowKey> order;
  Series& at(const RowKey& k) {
    auto [it, fresh] = series.try_emplace(k);
    if (fresh) {
      order.push_back(k);
    }
    return it->second;
  }
};

void add(Series& s, const std::vector<double>& values, const std::vector<int>& reps) {
  for (std::size_t i = 0; i < values.size() && i < reps.size(); ++i) {
    s.by_rep[reps[i]].push_back(values[i]);
  }
}

Rows rows_of(const Summary& s) {
  Rows r;
  for (const auto& x : s.solo) {
    auto& se = r.at({"solo", "solo", "-", x.sweep, x.workload});
    se.unit = x.by_wall_time ? "runs/s" : "samples/s";
    add(se, x.values, x.repetitions);
  }
  std::map<RowKey, int> copies;
  for (const auto& x : s.workloads) {
    const RowKey k{"collocated", x.mode, x.group, x.sweep, x.base};
    auto& se = r.at(k);
    se.unit = x.by_wall_time ? "runs/s" : "samples/s";
    se.copies = ++copies[k];
    add(se, x.values, x.repetitions);
  }
  for (const auto& g : s.groups) {
    auto& se = r.at({"speed-up", g.mode, g.group, g.sweep, ""});
    se.unit = "x";
    se.unpaired_reps = g.unpaired_reps;
    add(se, g.values, g.repetitions);
  }
  return r;
}

std::string gpu_names(const ExperimentRecord& e) {
  return gpu_line(e);
}

// Top-level keys of two JSON objects that differ, as "settings.KEY: A -> B".
void settings_diff(const std::string& a, const std::string& b, std::vector<std::string>& out) {
  json ja;
  json jb;
  try {
    ja = json::parse(a.empty() ? "{}" : a);
    jb = json::parse(b.empty() ? "{}" : b);
  } catch (const std::exception&) {
    return;
  }
  if (!ja.is_object() || !jb.is_object()) {
    return;
  }
  std::vector<std::string> keys;
  for (const auto& [k, v] : ja.items()) {
    keys.push_back(k);
  }
  for (const auto& [k, v] : jb.items()) {
    if (!ja.contains(k)) {
      keys.push_back(k);
    }
  }
  for (const auto& k : keys) {
    const auto va = ja.contains(k) ? ja[k].dump() : std::string("(none)");
    const auto vb = jb.contains(k) ? jb[k].dump() : std::string("(none)");
    if (va != vb) {
      out.push_back(fmt::format("run settings {}: {} -> {}", k, va, vb));
    }
  }
}

std::vector<std::string> differences(const CompareSide& a, const CompareSide& b) {
  std::vector<std::string> d;
  auto field = [&](const char* what, const std::string& x, const std::string& y) {
    if (x != y) {
      d.push_back(fmt::format("{}: {} -> {}", what, x.empty() ? "-" : x, y.empty() ? "-" : y));
    }
  };
  field("backend", a.exp.backend + (a.summary.simulated ? " (simulated)" : ""),
        b.exp.backend + (b.summary.simulated ? " (simulated)" : ""));
  field("GPU", gpu_names(a.exp), gpu_names(b.exp));
  field("host", a.exp.host, b.exp.host);
  field("colo", a.exp.colo_version, b.exp.colo_version);
  settings_diff(a.settings_json, b.settings_json, d);
  for (const auto& l : line_diff(a.exp.spec_yaml, b.exp.spec_yaml)) {
    d.push_back("spec: " + l);
  }
  return d;
}

std::string mean_ci(const Stat& s, const std::string& unit) {
  const bool x = unit == "x";
  return s.n == 0 ? "-" : fmt::format("{} (n={})", mean_ci_text(s, x ? "x" : "", x ? 2 : -1), s.n);
}

std::string p_text(const TTest& t) {
  return t.kind == TestKind::none ? "-" : fmt::format("{:.3f}", t.p);
}

std::string change_text(const CompareRow& r) {
  return r.change_pct ? fmt::format("{:+.1f}%", *r.change_pct) : "-";
}

TextTable table_of(const Comparison& c) {
  TextTable t;
  t.head = {"kind",
            "mode",
            "group",
            "sweep",
            "workload",
            "unit",
            "A (mean ± 95% CI)",
            "B (mean ± 95% CI)",
            "B vs A",
            "test",
            "p",
            "verdict"};
  t.right = {false, false, false, false, false, false, true, true, true, false, true, false};
  for (const auto& r : c.rows) {
    t.rows.push_back({r.kind, r.mode, r.group, r.sweep.empty() ? "-" : r.sweep,
                      r.workload.empty() ? "-"
                      : r.copies > 1     ? fmt::format("{} (x{} pooled)", r.workload, r.copies)
                                         : r.workload,
                      r.unit, mean_ci(r.a, r.unit), mean_ci(r.b, r.unit), change_text(r),
                      to_string(r.test.kind), p_text(r.test),
                      verdict(r) + (r.note.empty() ? "" : "; " + r.note)});
  }
  return t;
}

std::string side_line(const char* name, const CompareSide& s) {
  return fmt::format("{} = experiment {} \"{}\" ({}{}, {}/{} runs done)", name, s.exp.id,
                     s.exp.name, s.exp.backend, s.summary.simulated ? ", simulated" : "",
                     s.summary.runs_done, s.summary.runs_total);
}

std::string sim_note(const Comparison& c) {
  const bool a = c.a.summary.simulated;
  const bool b = c.b.summary.simulated;
  if (!a && !b) {
    return "";
  }
  return fmt::format("note: {} simulated (contention model, not measurements)",
                     a && b ? "both experiments are"
                     : a    ? "experiment A is"
                            : "experiment B is");
}

std::string text(const Comparison& c) {
  std::string o;
  if (const auto n = sim_note(c); !n.empty()) {
    o += n + "\n";
  }
  o += side_line("A", c.a) + "\n" + side_line("B", c.b) + "\n";
  o += "Test: two-sided t-test of B - A at p < 0.05 (Welch's unless paired by repetition).\n\n";
  o += table_of(c).render();
  o += c.differences.empty() ? "\nNo differences in spec, backend, GPU, host, colo version or run "
                               "settings.\n"
                             : "\nHow A and B differ:\n";
  for (const auto& d : c.differences) {
    o += "  " + d + "\n";
  }
  return o;
}

std::string markdown(const Comparison& c) {
  std::string o = fmt::format("# colo compare: {} vs {}\n\n", c.a.exp.id, c.b.exp.id);
  if (const auto n = sim_note(c); !n.empty()) {
    o += "> **" + n + "**\n\n";
  }
  o += "- " + side_line("A", c.a) + "\n- " + side_line("B", c.b) + "\n\n";
  o += table_of(c).markdown();
  o += "\n## How A and B differ\n\n";
  if (c.differences.empty()) {
    o += "Nothing in spec, backend, GPU, host, colo version or run settings.\n";
  }
  for (const auto& d : c.differences) {
    o += "- `" + d + "`\n";
  }
  return o;
}

json compare_stat_json(const Stat& s) {
  return {{"mean", s.mean}, {"ci95_half", s.ci95_half}, {"sd", s.sd}, {"n", s.n}, {"min", s.min},
          {"max", s.max},   {"outliers", s.outliers}};
}

json side_json(const CompareSide& s) {
  return {{"id", s.exp.id},
          {"name", s.exp.name},
          {"backend", s.exp.backend},
          {"simulated", s.summary.simulated},
          {"runs_done", s.summary.runs_done},
          {"runs_total", s.summary.runs_total}};
}

std::string json_text(const Comparison& c) {
  json j = {{"a", side_json(c.a)},
            {"b", side_json(c.b)},
            {"rows", json::array()},
            {"differences", c.differences}};
  for (const auto& r : c.rows) {
    j["rows"].push_back(
        {{"kind", r.kind},
         {"mode", r.mode},
         {"group", r.group},
         {"sweep", r.sweep},
         {"workload", r.workload},
         {"copies", r.copies},
         {"unit", r.unit},
         {"a", compare_stat_json(r.a)},
         {"b", compare_stat_json(r.b)},
         {"change_pct", r.change_pct ? json(*r.change_pct) : json(nullptr)},
         {"test", to_string(r.test.kind)},
         {"t",
          r.test.kind == TestKind::none || std::isinf(r.test.t) ? json(nullptr) : json(r.test.t)},
         {"dof", r.test.dof},
         {"p", r.test.p},
         {"beyond_noise", r.test.beyond_noise},
         {"verdict", verdict(r)},
         {"note", r.note}});
  }
  return j.dump(2) + "\n";
}

std::string csv(const Comparison& c) {
  std::string o =
      "kind,mode,group,sweep,workload,copies,unit,a_mean,a_ci95_half,a_n,b_mean,b_ci95_half,b_n,"
      "change_pct,test,p,beyond_noise,a_simulated,b_simulated\n";
  for (const auto& r : c.rows) {
    o += fmt::format(
        "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n", r.kind, csv_field(r.mode),
        csv_field(r.group), csv_field(r.sweep), csv_field(r.workload), r.copies, r.unit, r.a.mean,
        r.a.ci95_half, r.a.n, r.b.mean, r.b.ci95_half, r.b.n,
        r.change_pct ? fmt::format("{}", *r.change_pct) : "", to_string(r.test.kind), r.test.p,
        r.test.beyond_noise ? 1 : 0, c.a.summary.simulated ? 1 : 0, c.b.summary.simulated ? 1 : 0);
  }
  return o;
}

}  // namespace

Result<CompareFormat> compare_format_from(const std::string& name) {
  if (name == "text") {
    return CompareFormat::text;
  }
  if (name == "md" || name == "markdown") {
    return CompareFormat::markdown;
  }
  if (name == "json") {
    return CompareFormat::json;
  }
  if (name == "csv") {
    return CompareFormat::csv;
  }
  return fail(ErrorCode::invalid_argument,
              fmt::format("unknown compare format '{}' (text, md, json, csv)", name));
}

std::vector<std::string> line_diff(const std::string& a, const std::string& b) {
  auto lines = [](const std::string& t) {
    std::vector<std::string> v;
    std::istringstream in(t);
    std::string l;
    while (std::getline(in, l)) {
      v.push_back(l);
    }
    return v;
  };
  const auto x = lines(a);
  const auto y = lines(b);
  // lcs[i][j]: longest common subsequence of x[i..] and y[j..].
  std::vector<std::vector<int>> lcs(x.size() + 1, std::vector<int>(y.size() + 1, 0));
  for (std::size_t i = x.size(); i-- > 0;) {
    for (std::size_t j = y.size(); j-- > 0;) {
      lcs[i][j] = x[i] == y[j] ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  std::vector<std::string> out;
  std::size_t i = 0;
  std::size_t j = 0;
  while (i < x.size() || j < y.size()) {
    if (i < x.size() && j < y.size() && x[i] == y[j]) {
      ++i;
      ++j;
    } else if (j < y.size() && (i == x.size() || lcs[i][j + 1] >= lcs[i + 1][j])) {
      out.push_back("+ " + y[j++]);
    } else {
      out.push_back("- " + x[i++]);
    }
  }
  return out;
}

Result<Comparison> compare(const CompareSide& a, const CompareSide& b,
                           const CompareOptions& options) {
  Comparison c{a, b, {}, differences(a, b)};
  const Rows ra = rows_of(a.summary);
  const Rows rb = rows_of(b.summary);
  for (const auto& k : ra.order) {
    auto it = rb.series.find(k);
    if (it == rb.series.end()) {
      continue;
    }
    const auto& sa = ra.series.at(k);
    const auto& sb = it->second;
    CompareRow r;
    std::tie(r.kind, r.mode, r.group, r.sweep, r.workload) = k;
    r.copies = std::max(sa.copies, sb.copies);
    r.unit = sa.unit == sb.unit ? sa.unit : sa.unit + "|" + sb.unit;
    const auto va = sa.values();
    const auto vb = sb.values();
    r.a = stat_of(va);
    r.b = stat_of(vb);
    if (r.a.n > 0 && r.b.n > 0 && r.a.mean != 0) {
      r.change_pct = (r.b.mean / r.a.mean - 1) * 100;
    }
    if (sa.unit != sb.unit) {
      r.note = "units differ: not compared";
    } else if (options.paired && sa.reps() == sb.reps() && va.size() >= 2) {
      r.test = paired_test(va, vb);
    } else {
      r.test = welch_test(r.a, r.b);
      if (options.paired) {
        r.note = "unpaired: repetitions differ";
      }
    }
    if (sa.unpaired_reps + sb.unpaired_reps > 0) {
      r.note += std::string(r.note.empty() ? "" : "; ") +
                fmt::format("{} repetition(s) without their own solo run",
                            sa.unpaired_reps + sb.unpaired_reps);
    }
    c.rows.push_back(r);
  }
  if (c.rows.empty()) {
    return fail(ErrorCode::invalid_argument,
                fmt::format("experiments {} and {} share no workload, mode and group to compare",
                            a.exp.id, b.exp.id));
  }
  return c;
}

std::string verdict(const CompareRow& r) {
  if (r.test.kind == TestKind::none) {
    return r.note.rfind("units differ", 0) == 0 ? "not compared"
                                                : "noise unknown (needs 2+ repetitions each)";
  }
  if (r.test.beyond_noise) {
    return "beyond noise";
  }
  return r.a.sd == 0 && r.b.sd == 0 && r.a.mean == r.b.mean ? "within noise (identical)"
                                                            : "within noise";
}

std::vector<const CompareRow*> regressions(const Comparison& c, double pct) {
  std::vector<const CompareRow*> out;
  for (const auto& r : c.rows) {
    const bool noise_ok = r.test.kind == TestKind::none || r.test.beyond_noise;
    if (r.change_pct && *r.change_pct < -pct && noise_ok && r.note.rfind("units", 0) != 0) {
      out.push_back(&r);
    }
  }
  return out;
}

std::string render_comparison(const Comparison& c, CompareFormat format) {
  switch (format) {
    case CompareFormat::markdown:
      return markdown(c);
    case CompareFormat::json:
      return json_text(c);
    case CompareFormat::csv:
      return csv(c);
    case CompareFormat::text:
      break;
  }
  return text(c);
}

}  // namespace colo
