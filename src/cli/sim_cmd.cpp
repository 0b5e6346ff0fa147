#include "cli/sim_cmd.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <ostream>
#include <thread>

#include "cli/cli_common.hpp"
#include "report/report.hpp"
#include "report/stats.hpp"
#include "sim/experiment.hpp"

namespace colo {
namespace {

using nlohmann::json;

json to_json(const csim::InflateResult& r) {
  json curve = json::array();
  for (const auto& p : r.curve) {
    curve.push_back({{"requested_pct", p.requested_pct},
                     {"allocated_pct", p.allocated_pct},
                     {"frag_pct", p.frag_pct}});
  }
  return {{"policy", r.policy},       {"seed", r.seed},
          {"load", r.load},           {"allocated_pct", r.allocated_pct},
          {"submitted", r.submitted}, {"unscheduled", r.unscheduled},
          {"seconds", r.seconds},     {"curve", curve}};
}

json to_json(const csim::ReplayResult& r) {
  json util = json::array();
  for (const auto& [t, u] : r.utilization) {
    util.push_back({t, u});
  }
  return {{"policy", r.policy},
          {"seed", r.seed},
          {"pods", r.pods},
          {"scheduled", r.scheduled},
          {"completed", r.completed},
          {"never_scheduled", r.never_scheduled},
          {"skipped", r.skipped},
          {"delay_mean_s", r.delay_mean_s},
          {"delay_p50_s", r.delay_p50_s},
          {"delay_p99_s", r.delay_p99_s},
          {"seconds", r.seconds},
          {"utilization", util}};
}

// Allocated % at `requested_pct`, or the last point below it.
double at(const csim::InflateResult& r, int requested_pct) {
  double v = 0;
  for (const auto& p : r.curve) {
    if (p.requested_pct <= requested_pct) {
      v = p.allocated_pct;
    }
  }
  return v;
}

std::string cell(const std::vector<double>& v) {
  const auto s = stat_of(v);
  return s.n > 1 ? fmt::format("{:.2f} ± {:.2f}", s.mean, s.sd) : fmt::format("{:.2f}", s.mean);
}

// Allocation curves (inflate) or utilization over time (replay) of every policy, mean over
// seeds, in one self-contained page with the text table.
std::string html(const SimOptions& o, const json& results, const std::string& table) {
  json rows = json::array();
  for (const auto& r : results) {
    if (r.contains("curve")) {
      for (const auto& p : r["curve"]) {
        rows.push_back({{"policy", r["policy"]},
                        {"x", p["requested_pct"]},
                        {"y", p["allocated_pct"]},
                        {"frag", p["frag_pct"]}});
      }
    } else {
      for (const auto& u : r["utilization"]) {
        rows.push_back({{"policy", r["policy"]}, {"x", u[0]}, {"y", u[1]}, {"frag", 0}});
      }
    }
  }
  const bool inf = o.mode == "inflate";
  auto line = [&](const char* field, const std::string& title, const std::string& ytitle) {
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
    spec["encoding"]["x"]["title"] = inf ? "GPU requested, % of capacity" : "time (s)";
    return spec;
  };
  json charts = json::array();
  charts.push_back(line("y",
                        inf ? "GPU allocated vs requested (mean over seeds)"
                            : "GPU allocated over time (mean over seeds)",
                        "GPU allocated, % of capacity"));
  if (inf) {
    charts.push_back(line("frag", "Cluster fragmentation (FGD's measure, mean over seeds)",
                          "fragmented GPU, % of capacity"));
  }
  std::string page = html_page_head("colo sim");
  page +=
      "<h1>colo sim</h1><p>Simulated cluster scheduling on a trace (not a measurement of "
      "real hardware).</p><pre>" +
      html_escape(table) + "</pre>";
  for (std::size_t i = 0; i < charts.size(); ++i) {
    page += fmt::format("<div class=\"chart\" id=\"chart{}\"></div>", i);
  }
  return page + html_page_tail(charts);
}

}  // namespace

int cmd_sim(const SimOptions& o, std::ostream& out, std::ostream& err) {
  auto nodes = csim::load_nodes(o.nodes);
  if (!nodes) {
    return report_error(err, nodes.error());
  }
  auto pods = csim::load_pods(o.pods);
  if (!pods) {
    return report_error(err, pods.error());
  }
  if (o.share_frac >= 0 || o.multi_frac >= 0) {
    auto v = csim::resample(*pods, o.share_frac, o.multi_frac, o.seed);
    if (!v) {
      return report_error(err, v.error());
    }
    *pods = std::move(*v);
  }
  auto policies = o.policies;
  if (policies.empty() || (policies.size() == 1 && policies[0] == "all")) {
    policies = csim::policy_names();
  }
  if (o.mode != "inflate" && o.mode != "replay") {
    return report_error(err, Error{ErrorCode::invalid_argument,
                                   fmt::format("unknown mode '{}' (inflate or replay)", o.mode),
                                   {}});
  }
  const double load = o.load > 0 ? o.load : (o.mode == "inflate" ? 1.3 : 1.0);
  json all = json::array();
  std::string text;
  std::string csv = o.mode == "inflate"
                        ? "policy,seed,requested_pct,allocated_pct,frag_pct\n"
                        : "policy,seed,pods,scheduled,completed,never_scheduled,delay_mean_s,"
                          "delay_p50_s,delay_p99_s,seconds\n";
  if (o.mode == "inflate") {
    text += fmt::format(
        "inflate to {:.0f}% of {} GPUs ({} nodes, {} trace pods), {} seed(s) "
        "from {}; GPU allocated, % of capacity (mean ± sd)\n",
        load * 100, csim::Cluster(*nodes).gpu_capacity / csim::k_milli, nodes->size(), pods->size(),
        o.repeat, o.seed);
    text += fmt::format("  {:<10} {:>15} {:>15} {:>15} {:>15} {:>15}  {:>8}  {}\n", "policy",
                        "at 100%", "at 110%", "at 120%", "at 130%", "final", "s/run",
                        "unscheduled pods by type (all seeds)");
  } else {
    text += fmt::format("replay of {} trace pods x{:g} on {} nodes, {} seed(s) from {}\n",
                        pods->size(), load, nodes->size(), o.repeat, o.seed);
    text += fmt::format("  {:<10} {:>10} {:>10} {:>12} {:>14} {:>14} {:>14} {:>8}\n", "policy",
                        "scheduled", "completed", "never sched.", "delay mean s", "delay p50 s",
                        "delay p99 s", "s/run");
  }
  // Every (policy, seed) run is independent: run them on all cores, report in order.
  struct Job {
    std::string policy;
    std::uint64_t seed;
    Result<csim::InflateResult> inf = fail(ErrorCode::internal, "not run");
    Result<csim::ReplayResult> rep = fail(ErrorCode::internal, "not run");
  };
  std::vector<Job> jobs;
  for (const auto& name : policies) {
    for (int k = 0; k < o.repeat; ++k) {
      jobs.push_back({name, o.seed + static_cast<std::uint64_t>(k)});
    }
  }
  std::atomic<std::size_t> next{0};
  auto worker = [&] {
    for (std::size_t j = next++; j < jobs.size(); j = next++) {
      auto& job = jobs[j];
      if (o.mode == "inflate") {
        job.inf = csim::inflate(*nodes, *pods, job.policy, load, job.seed);
      } else {
        job.rep = csim::replay(*nodes, *pods, job.policy, job.seed, load);
      }
    }
  };
  std::vector<std::thread> threads;
  const unsigned n_threads = std::max(1U, std::min<unsigned>(std::thread::hardware_concurrency(),
                                                             static_cast<unsigned>(jobs.size())));
  for (unsigned t = 0; t < n_threads; ++t) {
    threads.emplace_back(worker);
  }
  for (auto& t : threads) {
    t.join();
  }
  std::size_t j = 0;
  for (const auto& name : policies) {
    std::vector<double> a100, a110, a120, a130, fin, secs;
    std::map<std::string, int> unsched;
    std::vector<double> sched, comp, never, dmean, d50, d99;
    for (int k = 0; k < o.repeat; ++k, ++j) {
      const auto& job = jobs[j];
      const std::uint64_t seed = job.seed;
      if (o.mode == "inflate") {
        const auto& r = job.inf;
        if (!r) {
          return report_error(err, r.error());
        }
        a100.push_back(at(*r, 100));
        a110.push_back(at(*r, 110));
        a120.push_back(at(*r, 120));
        a130.push_back(at(*r, 130));
        fin.push_back(r->allocated_pct);
        secs.push_back(r->seconds);
        for (const auto& [t, n] : r->unscheduled) {
          unsched[t] += n;
        }
        for (const auto& p : r->curve) {
          csv += fmt::format("{},{},{},{:.4f},{:.4f}\n", name, seed, p.requested_pct,
                             p.allocated_pct, p.frag_pct);
        }
        all.push_back(to_json(*r));
      } else {
        const auto& r = job.rep;
        if (!r) {
          return report_error(err, r.error());
        }
        sched.push_back(r->scheduled);
        comp.push_back(r->completed);
        never.push_back(r->never_scheduled);
        dmean.push_back(r->delay_mean_s);
        d50.push_back(r->delay_p50_s);
        d99.push_back(r->delay_p99_s);
        secs.push_back(r->seconds);
        csv += fmt::format("{},{},{},{},{},{},{:.1f},{:.1f},{:.1f},{:.3f}\n", name, seed, r->pods,
                           r->scheduled, r->completed, r->never_scheduled, r->delay_mean_s,
                           r->delay_p50_s, r->delay_p99_s, r->seconds);
        all.push_back(to_json(*r));
      }
    }
    if (o.mode == "inflate") {
      std::string u;
      for (const auto& [t, n] : unsched) {
        u += fmt::format("{}{}={}", u.empty() ? "" : " ", t, n);
      }
      text += fmt::format("  {:<10} {:>15} {:>15} {:>15} {:>15} {:>15}  {:>8.2f}  {}\n", name,
                          cell(a100), cell(a110), cell(a120), cell(a130), cell(fin),
                          stat_of(secs).mean, u.empty() ? "-" : u);
    } else {
      text += fmt::format("  {:<10} {:>10} {:>10} {:>12} {:>14} {:>14} {:>14} {:>8.2f}\n", name,
                          cell(sched), cell(comp), cell(never), cell(dmean), cell(d50), cell(d99),
                          stat_of(secs).mean);
    }
  }
  std::string body = o.format == "json" ? all.dump(1) + "\n" : o.format == "csv" ? csv : text;
  if (o.format == "html") {
    body = html(o, all, text);
  }
  if (o.output.empty() || o.output == "-") {
    out << body;
    return 0;
  }
  std::ofstream f(o.output, std::ios::trunc);
  f << body;
  if (!f.flush()) {
    return report_error(err, Error{ErrorCode::io, fmt::format("cannot write '{}'", o.output), {}});
  }
  return 0;
}

}  // namespace colo
