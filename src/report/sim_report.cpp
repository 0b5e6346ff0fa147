#include "report/sim_report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <string_view>
#include <vector>

#include "report/stats.hpp"

namespace colo {
namespace {

using nlohmann::json;

constexpr double k_nan = std::numeric_limits<double>::quiet_NaN();
constexpr const char* k_simulated_note =
    "Simulated cluster scheduling on a trace (colo sim, docs/sim.md): not a measurement of real "
    "hardware.";

// Allocated % once `requested_pct` of capacity was requested: the last curve point at or below
// it; NaN when the run stopped before requesting that much.
double at(const json& run, int requested_pct) {
  double v = k_nan;
  double reached = 0;
  for (const auto& p : run["curve"]) {
    const double req = p["requested_pct"].get<double>();
    reached = std::max(reached, req);
    if (req <= requested_pct) {
      v = p["allocated_pct"].get<double>();
    }
  }
  return reached + 0.5 >= requested_pct ? v : k_nan;
}

// mean ± sd over seeds; `counts`: without decimals for one seed, one decimal else.
std::string cell(const std::vector<double>& v, bool counts = false) {
  std::vector<double> ok;
  for (double x : v) {
    if (std::isfinite(x)) {
      ok.push_back(x);
    }
  }
  if (ok.empty()) {
    return "-";
  }
  const auto s = stat_of(ok);
  if (s.n == 1) {
    return counts ? fmt::format("{:.0f}", s.mean) : fmt::format("{:.2f}", s.mean);
  }
  return counts ? fmt::format("{:.1f} ± {:.1f}", s.mean, s.sd)
                : fmt::format("{:.2f} ± {:.2f}", s.mean, s.sd);
}

double num(const json& o, const char* key) {
  const auto it = o.find(key);
  return it != o.end() && it->is_number() ? it->get<double>() : k_nan;
}

std::string str(const json& o, const char* key) {
  const auto it = o.find(key);
  return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
}

struct Table {
  std::vector<std::string> head;
  std::vector<std::vector<std::string>> rows;
};

// One row per policy (in order of first appearance), seeds averaged.
// A run's row label: its policy, and the sharing mechanism when it is a what-if one.
std::string label(const json& r) {
  const auto m = str(r, "mechanism");
  return m.empty() || m == "fractional" ? str(r, "policy")
                                        : fmt::format("{} [{}]", str(r, "policy"), m);
}

bool has_mechanisms(const json& runs) {
  return std::any_of(runs.begin(), runs.end(), [](const json& r) {
    const auto m = str(r, "mechanism");
    return !m.empty() && m != "fractional";
  });
}

// Whether the runs carry the headroom bound (sim/bound.hpp; stores before it do not).
bool has_bound(const json& runs) {
  return std::any_of(runs.begin(), runs.end(),
                     [](const json& r) { return std::isfinite(num(r, "bound_pct")); });
}

Table summary_table(const json& runs, bool inflate) {
  std::vector<std::string> order;
  std::map<std::string, std::vector<const json*>> by;
  const bool mech = has_mechanisms(runs);
  for (const auto& r : runs) {
    const auto p = label(r);
    if (by[p].empty()) {
      order.push_back(p);
    }
    by[p].push_back(&r);
  }
  Table t;
  if (inflate) {
    t.head = {"policy",  "at 100%", "at 110%",
              "at 120%", "at 130%", "final",
              "seeds",   "s/run",   "unscheduled pods by type (all seeds)"};
    if (mech) {
      t.head.insert(t.head.begin() + 6, "MIG-served shares");
      t.head.insert(t.head.begin() + 6, "blast radius");
    }
    if (has_bound(runs)) {
      t.head.insert(t.head.begin() + 6, "% of bound");
      t.head.insert(t.head.begin() + 6, "bound");
    }
  } else {
    t.head = {"policy",       "scheduled",   "completed",   "never sched.",
              "delay mean s", "delay p50 s", "delay p99 s", "JCT mean s",
              "JCT p99 s",    "makespan s",  "seeds",       "s/run"};
  }
  for (const auto& p : order) {
    const auto& rs = by[p];
    auto col = [&](auto f) {
      std::vector<double> v;
      for (const auto* r : rs) {
        v.push_back(f(*r));
      }
      return v;
    };
    const auto secs = stat_of(col([](const json& r) { return num(r, "seconds"); })).mean;
    if (inflate) {
      std::map<std::string, long> unsched;
      for (const auto* r : rs) {
        const auto it = r->find("unscheduled");
        if (it == r->end() || !it->is_object()) {
          continue;
        }
        for (const auto& [k, n] : it->items()) {
          unsched[k] += n.get<long>();
        }
      }
      std::string u;
      for (const auto& [k, n] : unsched) {
        u += fmt::format("{}{}={}", u.empty() ? "" : " ", k, n);
      }
      std::vector<std::string> row{p};
      for (int lv : {100, 110, 120, 130}) {
        row.push_back(cell(col([lv](const json& r) { return at(r, lv); })));
      }
      row.push_back(cell(col([](const json& r) {
        const double f = num(r, "final_pct");
        return std::isfinite(f) ? f : num(r, "allocated_pct");
      })));
      if (has_bound(runs)) {
        row.push_back(cell(col([](const json& r) { return num(r, "bound_pct"); })));
        row.push_back(cell(col(
            [](const json& r) { return 100 * num(r, "allocated_pct") / num(r, "bound_pct"); })));
      }
      if (mech) {
        const auto m = str(*rs.front(), "mechanism");
        row.push_back(m == "fractional" || m.empty()
                          ? "-"
                          : cell(col([](const json& r) { return num(r, "blast_radius"); })));
        // mig: shares served by a MIG profile of all placed shares (the rest took a whole GPU)
        const auto served = cell(col([](const json& r) {
          const double n = num(r, "mig_served");
          const double all = n + num(r, "mig_whole");
          return all > 0 ? 100 * n / all : k_nan;
        }));
        row.push_back(m != "mig" || served == "-" ? "-" : served + " %");
      }
      row.push_back(std::to_string(rs.size()));
      row.push_back(fmt::format("{:.2f}", secs));
      row.push_back(u.empty() ? "-" : u);
      t.rows.push_back(std::move(row));
    } else {
      std::vector<std::string> row{p};
      for (const char* k :
           {"scheduled", "completed", "never_scheduled", "delay_mean_s", "delay_p50_s",
            "delay_p99_s", "jct_mean_s", "jct_p99_s", "makespan_s"}) {
        row.push_back(cell(col([k](const json& r) { return num(r, k); }),
                           !std::string_view(k).ends_with("_s")));
      }
      row.push_back(std::to_string(rs.size()));
      row.push_back(fmt::format("{:.2f}", secs));
      t.rows.push_back(std::move(row));
    }
  }
  return t;
}

std::string context_line(const json& first, bool inflate) {
  const auto variant = str(first, "variant");
  auto v = variant.empty() ? std::string() : fmt::format(", pods resampled ({})", variant);
  const auto sem = str(first, "semantics");
  v += fmt::format("; {} semantics", sem.empty() ? "exact" : sem);
  if (inflate) {
    return fmt::format(
        "inflate to {:.0f}% of {:g} GPUs ({:g} nodes from {}, {:g} trace pods from {}{}); GPU "
        "allocated, % of capacity (mean ± sd over seeds{})",
        num(first, "load") * 100, num(first, "gpus"), num(first, "nodes"), str(first, "nodes_file"),
        num(first, "trace_pods"), str(first, "pods_file"), v,
        sem == "artifact" ? "; at X% = mean over the events whose request rounds to X%, as the "
                            "FGD artifact reports"
                          : "");
  }
  return fmt::format("replay of {:g} trace pods from {} x{:g} on {:g} nodes from {}{}",
                     num(first, "trace_pods"), str(first, "pods_file"), num(first, "load"),
                     num(first, "nodes"), str(first, "nodes_file"), v);
}

// What colo's calibration chose (docs/sim.md), or "" when no run says.
std::string calibration_note(const json& runs);

// The mechanisms' notes (e.g. GPU models without a MIG table) and the blast radius' meaning.
std::string mechanism_notes(const json& runs) {
  if (!has_mechanisms(runs)) {
    return "";
  }
  std::vector<std::string> notes;
  for (const auto& r : runs) {
    const auto n = str(r, "mechanism_note");
    if (!n.empty() && std::find(notes.begin(), notes.end(), n) == notes.end()) {
      notes.push_back(n);
    }
  }
  std::string out =
      "What-if per sharing mechanism: [mig] shares rounded up to MIG profiles and placed by "
      "their legal slice starts, [mps] a client limit per GPU, [timeslice] shares time-share a "
      "GPU while their memory fits. Blast radius: pods in a pod's fault domain, mean over GPU "
      "pods (MPS: every pod on its GPU; MIG and time-slicing: 1). MIG-served shares: % of the "
      "placed GPU shares served by a MIG profile; the others were rounded up to a whole GPU.\n";
  for (const auto& n : notes) {
    out += n + "\n";
  }
  return out;
}

// What the bound columns mean, or "" without them.
std::string bound_note(const json& runs) {
  if (!has_bound(runs)) {
    return "";
  }
  return "bound: an upper bound on the GPU any policy, online or offline, could hold with the "
         "same pods (the LP relaxation of packing them, docs/sim.md Headroom), % of capacity; "
         "% of bound: GPU allocated at the load as % of it.\n";
}

std::string calibration_note(const json& runs) {
  std::map<double, int> by_w;
  int n = 0;
  for (const auto& r : runs) {
    const double w = num(r, "colo_gpu_weight");
    if (std::isfinite(w)) {
      ++by_w[w];
      ++n;
    }
  }
  if (n == 0) {
    return bound_note(runs) + mechanism_notes(runs);
  }
  const bool artifact = str(runs.front(), "semantics") == "artifact";
  const char* sym = artifact ? "a" : "w";
  std::string parts;
  for (const auto& [w, k] : by_w) {
    parts += fmt::format("{}{} = {:g} in {} of {} run(s)", parts.empty() ? "" : ", ", sym, w, k, n);
  }
  return fmt::format("colo's weight, calibrated on pilot runs of this trace ({}): {}\n",
                     artifact ? "look-ahead weight a; a = 0 is FGD" : "GPU weight w", parts) +
         bound_note(runs) + mechanism_notes(runs);
}

std::string text_table(const Table& t) {
  std::vector<std::size_t> w(t.head.size(), 0);
  auto width = [](const std::string& s) {  // UTF-8 code points ('±')
    std::size_t n = 0;
    for (unsigned char c : s) {
      n += (c & 0xC0U) != 0x80U ? 1 : 0;
    }
    return n;
  };
  for (std::size_t c = 0; c < w.size(); ++c) {
    w[c] = width(t.head[c]);
    for (const auto& r : t.rows) {
      w[c] = std::max(w[c], width(r[c]));
    }
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string s = " ";
    for (std::size_t c = 0; c < cells.size(); ++c) {
      const std::string pad(w[c] - width(cells[c]), ' ');
      const bool last = c + 1 == cells.size();
      s += " " + (c == 0 || last ? cells[c] + (last ? "" : pad) : pad + cells[c]);
    }
    return s + "\n";
  };
  std::string out = line(t.head);
  for (const auto& r : t.rows) {
    out += line(r);
  }
  return out;
}

std::string markdown_table(const Table& t) {
  auto line = [](const std::vector<std::string>& cells) {
    std::string s = "|";
    for (const auto& c : cells) {
      s += " " + c + " |";
    }
    return s + "\n";
  };
  std::string out = line(t.head) + "|";
  for (std::size_t c = 0; c < t.head.size(); ++c) {
    out += c == 0 || c + 1 == t.head.size() ? "---|" : "---:|";
  }
  out += "\n";
  for (const auto& r : t.rows) {
    out += line(r);
  }
  return out;
}

std::string csv(const json& runs, bool inflate) {
  std::string out = inflate ? "policy,seed,requested_pct,allocated_pct,frag_pct,bound_pct\n"
                            : "policy,seed,pods,scheduled,completed,never_scheduled,delay_mean_s,"
                              "delay_p50_s,delay_p99_s,jct_mean_s,jct_p99_s,makespan_s,seconds\n";
  for (const auto& r : runs) {
    const auto p = label(r);
    const auto seed = static_cast<long long>(num(r, "seed"));
    if (inflate) {
      for (const auto& c : r["curve"]) {
        const double b = num(r, "bound_pct");
        out +=
            fmt::format("{},{},{:g},{:.4f},{:.4f},{}\n", p, seed, c["requested_pct"].get<double>(),
                        c["allocated_pct"].get<double>(), c["frag_pct"].get<double>(),
                        std::isfinite(b) ? fmt::format("{:.4f}", b) : std::string());
      }
    } else {
      out += fmt::format(
          "{},{},{:g},{:g},{:g},{:g},{:.1f},{:.1f},{:.1f},{:.1f},{:.1f},{:.1f},{:.3f}\n", p, seed,
          num(r, "pods"), num(r, "scheduled"), num(r, "completed"), num(r, "never_scheduled"),
          num(r, "delay_mean_s"), num(r, "delay_p50_s"), num(r, "delay_p99_s"),
          num(r, "jct_mean_s"), num(r, "jct_p99_s"), num(r, "makespan_s"), num(r, "seconds"));
    }
  }
  return out;
}

// Allocation curves (inflate) or allocation over time (replay) of every policy, mean over
// seeds, with the table.
std::string html(const json& runs, bool inflate, const std::string& context, const Table& t) {
  json rows = json::array();
  for (const auto& r : runs) {
    if (inflate) {
      for (const auto& p : r["curve"]) {
        rows.push_back({{"policy", label(r)},
                        {"x", p["requested_pct"]},
                        {"y", p["allocated_pct"]},
                        {"frag", p["frag_pct"]}});
      }
    } else {
      for (const auto& u : r["utilization"]) {
        rows.push_back({{"policy", label(r)}, {"x", u[0]}, {"y", u[1]}, {"frag", 0}});
      }
    }
  }
  auto line = [&](const char* field, const std::string& title, const std::string& ytitle,
                  double min_x = -1) {
    json spec = json::parse(R"J({
      "$schema": "https://vega.github.io/schema/vega-lite/v6.json", "width": 640, "height": 300,
      "mark": {"type": "line"},
      "encoding": {"x": {"field": "x", "type": "quantitative"},
                   "y": {"aggregate": "mean", "type": "quantitative", "scale": {"zero": false}},
                   "color": {"field": "policy", "type": "nominal"}}})J");
    spec["title"] = title;
    spec["data"] = {{"values", rows}};
    spec["encoding"]["y"]["field"] = field;
    spec["encoding"]["y"]["title"] = ytitle;
    spec["encoding"]["x"]["title"] = inflate ? "GPU requested, % of capacity" : "time (s)";
    if (!inflate) {
      spec["mark"]["interpolate"] = "step-after";  // allocation holds between events
    }
    if (min_x >= 0) {
      spec["transform"] = json::array({{{"filter", fmt::format("datum.x >= {:g}", min_x)}}});
    }
    return spec;
  };
  json charts = json::array();
  charts.push_back(line("y",
                        inflate ? "GPU allocated vs requested (mean over seeds)"
                                : "GPU allocated over time (peak per time bin, mean over seeds)",
                        "GPU allocated, % of capacity"));
  if (inflate) {
    // Where the policies part ways: the paper's figures show this range.
    charts.push_back(line("y", "GPU allocated vs requested, from 80% requested (zoom)",
                          "GPU allocated, % of capacity", 80));
    charts.push_back(line("frag", "Cluster fragmentation (FGD's measure, mean over seeds)",
                          "fragmented GPU, % of capacity"));
  }
  std::string page = html_page_head("colo sim");
  page += "<h1>colo sim</h1><div class=\"banner sim\">" + html_escape(k_simulated_note) +
          "</div><p>" + html_escape(context) + "</p><pre>" +
          html_escape(text_table(t) + calibration_note(runs)) + "</pre>";
  for (std::size_t i = 0; i < charts.size(); ++i) {
    page += fmt::format("<div class=\"chart\" id=\"chart{}\"></div>", i);
  }
  return page + html_page_tail(charts);
}

}  // namespace

std::string render_sim_report(const json& runs, ReportFormat format) {
  if (format == ReportFormat::json) {
    return runs.dump(1) + "\n";
  }
  const bool inflate = !runs.empty() && runs[0].contains("curve");
  if (format == ReportFormat::csv) {
    return csv(runs, inflate);
  }
  const auto t = summary_table(runs, inflate);
  const auto context = runs.empty() ? std::string("no runs") : context_line(runs[0], inflate);
  switch (format) {
    case ReportFormat::markdown:
      return fmt::format("# colo sim\n\n> {}\n\n{}\n\n{}{}", k_simulated_note, context,
                         markdown_table(t),
                         calibration_note(runs).empty() ? "" : "\n" + calibration_note(runs));
    case ReportFormat::html:
      return html(runs, inflate, context, t);
    default:
      return fmt::format("{}\n{}\n{}{}", k_simulated_note, context, text_table(t),
                         calibration_note(runs));
  }
}

}  // namespace colo
