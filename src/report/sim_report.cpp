#include "report/sim_report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <string_view>
#include <vector>

#include "report/stats.hpp"
#include "sim/sim_json.hpp"
#include "sim/throughput.hpp"

namespace colo {
namespace {

using csim::InflateResult;
using csim::SimRun;
using nlohmann::json;
using Runs = std::vector<SimRun>;

constexpr double k_nan = std::numeric_limits<double>::quiet_NaN();
constexpr const char* k_simulated_note =
    "Simulated cluster scheduling on a trace (colo sim, docs/sim.md): not a measurement of real "
    "hardware.";

// Allocated % once `requested_pct` of capacity was requested: the last curve point at or below
// it; NaN when the run stopped before requesting that much.
double at(const InflateResult& run, int requested_pct) {
  double v = k_nan;
  double reached = 0;
  for (const auto& p : run.curve) {
    reached = std::max(reached, static_cast<double>(p.requested_pct));
    if (p.requested_pct <= requested_pct) {
      v = p.allocated_pct;
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

struct Table {
  std::vector<std::string> head;
  std::vector<std::vector<std::string>> rows;
};

// A run's row label: its policy, and the sharing mechanism when it is a what-if one.
std::string label(const SimRun& r) {
  const auto m = r.inflate ? r.inflate->mechanism : std::string();
  return m.empty() || m == "fractional" ? r.policy() : fmt::format("{} [{}]", r.policy(), m);
}

bool has_mechanisms(const Runs& runs) {
  return std::any_of(runs.begin(), runs.end(), [](const SimRun& r) {
    return r.inflate && !r.inflate->mechanism.empty() && r.inflate->mechanism != "fractional";
  });
}

// Whether the runs carry the headroom bound (sim/bound.hpp; stores before it do not).
bool has_bound(const Runs& runs) {
  return std::any_of(runs.begin(), runs.end(),
                     [](const SimRun& r) { return r.inflate && r.inflate->bound_pct; });
}

// Whether the runs carry the effective throughput (sim/throughput.hpp; older stores do not).
bool has_throughput(const Runs& runs) {
  return std::any_of(runs.begin(), runs.end(),
                     [](const SimRun& r) { return r.inflate && !r.inflate->job.empty(); });
}

// One row per policy (in order of first appearance), seeds averaged.
Table summary_table(const Runs& runs, bool inflate) {
  std::vector<std::string> order;
  std::map<std::string, std::vector<const SimRun*>> by;
  const bool mech = has_mechanisms(runs);
  const bool bound = has_bound(runs);
  const bool thr = has_throughput(runs);
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
    if (bound) {
      t.head.insert(t.head.begin() + 6, "% of bound");
      t.head.insert(t.head.begin() + 6, "bound");
    }
    if (thr) {
      t.head.insert(t.head.begin() + 6, "throughput, no interference (GPU-eq)");
      t.head.insert(t.head.begin() + 6, "throughput (GPU-eq)");
    }
  } else {
    t.head = {"policy",       "scheduled",   "completed",   "never sched.",
              "delay mean s", "delay p50 s", "delay p99 s", "JCT mean s",
              "JCT p99 s",    "makespan s",  "seeds",       "s/run"};
  }
  for (const auto& p : order) {
    const auto& rs = by[p];
    if (inflate) {
      auto col = [&](auto f) {
        std::vector<double> v;
        for (const auto* r : rs) {
          v.push_back(f(*r->inflate));
        }
        return v;
      };
      std::map<std::string, long> unsched;
      for (const auto* r : rs) {
        for (const auto& [k, n] : r->inflate->unscheduled) {
          unsched[k] += n;
        }
      }
      std::string u;
      for (const auto& [k, n] : unsched) {
        u += fmt::format("{}{}={}", u.empty() ? "" : " ", k, n);
      }
      std::vector<std::string> row{p};
      for (int lv : {100, 110, 120, 130}) {
        row.push_back(cell(col([lv](const InflateResult& r) { return at(r, lv); })));
      }
      row.push_back(cell(col([](const InflateResult& r) { return r.final_pct; })));
      if (thr) {
        row.push_back(cell(col([](const InflateResult& r) { return r.throughput; })));
        row.push_back(cell(col([](const InflateResult& r) { return r.throughput_ideal; })));
      }
      if (bound) {
        row.push_back(
            cell(col([](const InflateResult& r) { return r.bound_pct.value_or(k_nan); })));
        row.push_back(cell(col([](const InflateResult& r) {
          return 100 * r.allocated_pct / r.bound_pct.value_or(k_nan);
        })));
      }
      if (mech) {
        const auto& m = rs.front()->inflate->mechanism;
        row.push_back(m == "fractional" || m.empty()
                          ? "-"
                          : cell(col([](const InflateResult& r) { return r.blast_radius; })));
        // mig: shares served by a MIG profile of all placed shares (the rest took a whole GPU)
        const auto served = cell(col([](const InflateResult& r) {
          const int all = r.mig_served + r.mig_whole;
          return all > 0 ? 100.0 * r.mig_served / all : k_nan;
        }));
        row.push_back(m != "mig" || served == "-" ? "-" : served + " %");
      }
      row.push_back(std::to_string(rs.size()));
      row.push_back(fmt::format(
          "{:.2f}", stat_of(col([](const InflateResult& r) { return r.seconds; })).mean));
      row.push_back(u.empty() ? "-" : u);
      t.rows.push_back(std::move(row));
    } else {
      auto col = [&](auto f) {
        std::vector<double> v;
        for (const auto* r : rs) {
          v.push_back(f(*r->replay));
        }
        return v;
      };
      using R = csim::ReplayResult;
      std::vector<std::string> row{p};
      for (auto f : {+[](const R& r) { return static_cast<double>(r.scheduled); },
                     +[](const R& r) { return static_cast<double>(r.completed); },
                     +[](const R& r) { return static_cast<double>(r.never_scheduled); }}) {
        row.push_back(cell(col(f), true));
      }
      for (auto f :
           {+[](const R& r) { return r.delay_mean_s; }, +[](const R& r) { return r.delay_p50_s; },
            +[](const R& r) { return r.delay_p99_s; }, +[](const R& r) { return r.jct_mean_s; },
            +[](const R& r) { return r.jct_p99_s; }, +[](const R& r) { return r.makespan_s; }}) {
        row.push_back(cell(col(f)));
      }
      row.push_back(std::to_string(rs.size()));
      row.push_back(fmt::format("{:.2f}", stat_of(col([](const R& r) { return r.seconds; })).mean));
      t.rows.push_back(std::move(row));
    }
  }
  return t;
}

std::string context_line(const SimRun& first, bool inflate) {
  const auto& c = first.ctx;
  auto v = c.variant.empty() ? std::string() : fmt::format(", pods resampled ({})", c.variant);
  v += fmt::format("; {} semantics", c.semantics.empty() ? "exact" : c.semantics);
  if (inflate) {
    return fmt::format(
        "inflate to {:.0f}% of {:g} GPUs ({} nodes from {}, {} trace pods from {}{}); GPU "
        "allocated, % of capacity (mean ± sd over seeds{})",
        c.load * 100, c.gpus, c.nodes, c.nodes_file, c.trace_pods, c.pods_file, v,
        c.semantics == "artifact" ? "; at X% = mean over the events whose request rounds to X%, "
                                    "as the FGD artifact reports"
                                  : "");
  }
  return fmt::format("replay of {} trace pods from {} x{:g} on {} nodes from {}{}", c.trace_pods,
                     c.pods_file, c.load, c.nodes, c.nodes_file, v);
}

// The mechanisms' notes (e.g. GPU models without a MIG table) and the blast radius' meaning.
std::string mechanism_notes(const Runs& runs) {
  if (!has_mechanisms(runs)) {
    return "";
  }
  std::vector<std::string> notes;
  for (const auto& r : runs) {
    const auto& n = r.inflate->mechanism_note;
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
std::string bound_note(const Runs& runs) {
  if (!has_bound(runs)) {
    return "";
  }
  return "bound: an upper bound on the GPU any policy, online or offline, could hold with the "
         "same pods (the LP relaxation of packing them, docs/sim.md Headroom), % of capacity; "
         "% of bound: GPU allocated at the load as % of it.\n";
}

// Which job and table the throughput columns use, or "" without them.
std::string throughput_note(const Runs& runs) {
  const auto it = std::find_if(runs.begin(), runs.end(), [](const SimRun& r) {
    return r.inflate && !r.inflate->job.empty();
  });
  if (it == runs.end()) {
    return "";
  }
  const auto& job = it->inflate->job;
  return fmt::format(
      "throughput: effective throughput at the end, in GPU-equivalents of one {} ({}) training "
      "job's solo throughput, every pod taken to run that job (--job); a GPU with k pods "
      "delivers the aggregate speed-up measured for k copies on one H200 under the run's "
      "mechanism (fractional and no interference: k; timeslice, mps: linear between the "
      "measured 1, 2, 4, 7 copies, the 7-copy value beyond; mig: not measured, -), table {} "
      "from {} (docs/sim.md).\n",
      job, csim::job_description(job), csim::k_speedup_table_file, csim::k_speedup_source);
}

// What colo's calibration chose (docs/sim.md), then the bound's and the mechanisms' notes.
std::string calibration_note(const Runs& runs) {
  std::map<double, int> by_w;
  int n = 0;
  for (const auto& r : runs) {
    const auto& w = r.inflate ? r.inflate->colo_gpu_weight : r.replay->colo_gpu_weight;
    if (w) {
      ++by_w[*w];
      ++n;
    }
  }
  if (n == 0) {
    return bound_note(runs) + throughput_note(runs) + mechanism_notes(runs);
  }
  const bool artifact = runs.front().ctx.semantics == "artifact";
  const char* sym = artifact ? "a" : "w";
  std::string parts;
  for (const auto& [w, k] : by_w) {
    parts += fmt::format("{}{} = {:g} in {} of {} run(s)", parts.empty() ? "" : ", ", sym, w, k, n);
  }
  return fmt::format("colo's weight, calibrated on pilot runs of this trace ({}): {}\n",
                     artifact ? "look-ahead weight a; a = 0 is FGD" : "GPU weight w", parts) +
         bound_note(runs) + throughput_note(runs) + mechanism_notes(runs);
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

std::string csv(const Runs& runs, bool inflate) {
  // The throughput columns repeat each run's end values (docs/sim.md "Effective throughput").
  std::string out = inflate ? "policy,seed,requested_pct,allocated_pct,frag_pct,bound_pct,job,"
                              "throughput_gpu_eq,throughput_no_interference_gpu_eq,"
                              "throughput_table\n"
                            : "policy,seed,pods,scheduled,completed,never_scheduled,delay_mean_s,"
                              "delay_p50_s,delay_p99_s,jct_mean_s,jct_p99_s,makespan_s,seconds\n";
  for (const auto& r : runs) {
    const auto p = label(r);
    if (r.inflate) {
      const auto& x = *r.inflate;
      const auto b = x.bound_pct ? fmt::format("{:.4f}", *x.bound_pct) : std::string();
      auto num = [&x](double v) {
        return x.job.empty() || !std::isfinite(v) ? std::string() : fmt::format("{:.4f}", v);
      };
      const auto thr = fmt::format("{},{},{},{}", x.job, num(x.throughput), num(x.throughput_ideal),
                                   x.job.empty() ? "" : csim::k_speedup_table_file);
      for (const auto& c : x.curve) {
        out += fmt::format("{},{},{},{:.4f},{:.4f},{},{}\n", p, x.seed, c.requested_pct,
                           c.allocated_pct, c.frag_pct, b, thr);
      }
    } else {
      const auto& x = *r.replay;
      out += fmt::format("{},{},{},{},{},{},{:.1f},{:.1f},{:.1f},{:.1f},{:.1f},{:.1f},{:.3f}\n", p,
                         x.seed, x.pods, x.scheduled, x.completed, x.never_scheduled,
                         x.delay_mean_s, x.delay_p50_s, x.delay_p99_s, x.jct_mean_s, x.jct_p99_s,
                         x.makespan_s, x.seconds);
    }
  }
  return out;
}

// Allocation curves (inflate) or allocation over time (replay) of every policy, mean over
// seeds, with the table. The charts' data is the page's JSON (an output edge).
std::string html(const Runs& runs, bool inflate, const std::string& context, const Table& t) {
  json rows = json::array();
  for (const auto& r : runs) {
    if (r.inflate) {
      for (const auto& p : r.inflate->curve) {
        rows.push_back({{"policy", label(r)},
                        {"x", p.requested_pct},
                        {"y", p.allocated_pct},
                        {"frag", p.frag_pct}});
      }
    } else {
      for (const auto& [time, alloc] : r.replay->utilization) {
        rows.push_back({{"policy", label(r)}, {"x", time}, {"y", alloc}, {"frag", 0}});
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

std::string render_sim_report(const std::vector<csim::SimRun>& runs, ReportFormat format) {
  if (format == ReportFormat::json) {
    return json(runs).dump(1) + "\n";  // the edge: sim/sim_json.hpp
  }
  const bool inflate = !runs.empty() && runs[0].inflate.has_value();
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
