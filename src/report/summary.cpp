#include "report/summary.hpp"

#include <fmt/format.h>

#include <map>
#include <tuple>

namespace colo {
namespace {

struct Acc {
  double sum = 0;
  int n = 0;
  void add(double v) {
    sum += v;
    ++n;
  }
  [[nodiscard]] double mean() const { return n ? sum / n : 0; }
};

std::optional<double> rate_of(const WorkloadRecord& w, bool& by_wall_time) {
  if (w.throughput) {
    by_wall_time = false;
    return *w.throughput;
  }
  if (w.runtime_s > 0) {
    by_wall_time = true;
    return 1.0 / w.runtime_s;
  }
  return std::nullopt;
}

bool ok(const WorkloadRecord& w) {
  return w.exit_class == ExitClass::ok;
}

}  // namespace

Summary summarize(const ExperimentRecord& exp, const std::vector<RunData>& runs) {
  Summary s;
  s.experiment = exp.name;
  s.id = exp.id;
  s.simulated = exp.simulated;
  s.backend = exp.backend;
  s.wall_s = exp.wall_s;
  s.runs_total = static_cast<int>(runs.size());

  // Solo baselines: (sweep, workload) -> mean rate.
  std::map<std::pair<std::string, std::string>, Acc> solo;
  std::map<std::pair<std::string, std::string>, bool> solo_wall;
  std::vector<std::pair<std::string, std::string>> solo_order;
  for (const auto& rd : runs) {
    if (rd.run.status == RunStatus::done) {
      ++s.runs_done;
    }
    for (const auto& w : rd.workloads) {
      if (!ok(w)) {
        s.failures.push_back({rd.run.key, w.name + "#" + std::to_string(w.copy),
                              to_string(w.exit_class), w.message});
      }
    }
    if (rd.run.status != RunStatus::done || rd.run.mode_kind != "solo") {
      continue;
    }
    for (const auto& w : rd.workloads) {
      bool wall = false;
      auto r = rate_of(w, wall);
      if (!ok(w) || !r) {
        continue;
      }
      auto key = std::make_pair(rd.run.sweep, w.name);
      if (!solo.count(key)) {
        solo_order.push_back(key);
      }
      solo[key].add(*r);
      solo_wall[key] = wall;
    }
  }
  for (const auto& key : solo_order) {
    s.solo.push_back({key.first, key.second, solo[key].mean(), solo[key].n, solo_wall[key]});
  }

  // Collocated: (sweep, mode, group) -> per-rep aggregate; (.., workload#copy) -> rates.
  using GroupKey = std::tuple<std::string, std::string, std::string>;
  std::map<GroupKey, Acc> speedups;
  std::map<GroupKey, GroupRow> groups;
  std::vector<GroupKey> group_order;
  using WlKey = std::tuple<std::string, std::string, std::string, std::string>;
  std::map<WlKey, WorkloadRow> rows;
  std::map<WlKey, Acc> row_rates;
  std::vector<WlKey> row_order;
  for (const auto& rd : runs) {
    if (rd.run.status != RunStatus::done || rd.run.mode_kind == "solo") {
      continue;
    }
    GroupKey gk{rd.run.sweep, rd.run.mode, rd.run.group};
    if (!groups.count(gk)) {
      group_order.push_back(gk);
      groups[gk] = GroupRow{rd.run.sweep,
                            rd.run.mode,
                            rd.run.group,
                            static_cast<int>(rd.workloads.size()),
                            0,
                            std::nullopt,
                            0,
                            0};
    }
    auto& g = groups[gk];
    ++g.reps;
    double rel_sum = 0;
    bool complete = true;
    for (const auto& w : rd.workloads) {
      const std::string label = w.name + "#" + std::to_string(w.copy);
      WlKey wk{rd.run.sweep, rd.run.mode, rd.run.group, label};
      if (!rows.count(wk)) {
        row_order.push_back(wk);
        WorkloadRow row;
        row.sweep = rd.run.sweep;
        row.mode = rd.run.mode;
        row.group = rd.run.group;
        row.workload = label;
        row.base = w.name;
        if (auto it = solo.find({rd.run.sweep, w.name}); it != solo.end()) {
          row.solo = it->second.mean();
        }
        rows[wk] = row;
      }
      auto& row = rows[wk];
      bool wall = false;
      auto r = rate_of(w, wall);
      row.by_wall_time = wall;
      if (!ok(w) || !r) {
        ++row.failed;
        complete = false;
        continue;
      }
      row_rates[wk].add(*r);
      if (row.solo && *row.solo > 0) {
        rel_sum += *r / *row.solo;
      } else {
        complete = false;
      }
    }
    if (complete) {
      speedups[gk].add(rel_sum);
    } else {
      ++g.failed_reps;
    }
  }
  for (const auto& wk : row_order) {
    auto row = rows[wk];
    row.reps = row_rates[wk].n;
    row.rate = row_rates[wk].mean();
    if (row.solo && *row.solo > 0 && row.reps > 0) {
      row.relative = row.rate / *row.solo;
      row.slowdown_pct = (1.0 - *row.relative) * 100.0;
    }
    auto& g = groups[GroupKey{row.sweep, row.mode, row.group}];
    g.aggregate_rate += row.rate;
    s.workloads.push_back(row);
  }
  for (const auto& gk : group_order) {
    auto g = groups[gk];
    if (speedups[gk].n > 0) {
      g.speedup = speedups[gk].mean();
    }
    s.groups.push_back(g);
  }
  return s;
}

std::string render_text(const Summary& s) {
  std::string out;
  if (s.simulated) {
    out +=
        "*** SIMULATED GPU: the numbers below come from colo's contention model, not from a "
        "real GPU ***\n";
  }
  out += fmt::format("Experiment {} \"{}\" on {}{}: {}/{} runs done in {:.1f} s\n", s.id,
                     s.experiment, s.backend, s.simulated ? " (simulated)" : "", s.runs_done,
                     s.runs_total, s.wall_s);
  auto opt = [](const std::optional<double>& v, const char* f) {
    return v ? fmt::format(fmt::runtime(f), *v) : std::string("-");
  };
  if (!s.solo.empty()) {
    out += "\nSolo baselines (mean over repetitions)\n";
    out += fmt::format("  {:<24} {:<20} {:>14} {:>5}\n", "workload", "sweep", "rate", "reps");
    for (const auto& r : s.solo) {
      out += fmt::format(
          "  {:<24} {:<20} {:>14} {:>5}\n", r.workload, r.sweep.empty() ? "-" : r.sweep,
          fmt::format("{:.4g} {}", r.rate, r.by_wall_time ? "run/s" : "samp/s"), r.reps);
    }
  }
  if (!s.workloads.empty()) {
    out += "\nCollocated (rate vs solo; slowdown = share of solo speed lost)\n";
    out += fmt::format("  {:<22} {:<16} {:<14} {:>12} {:>12} {:>8} {:>9} {:>5}\n", "mode", "group",
                       "workload", "solo", "collocated", "rel", "slowdown", "reps");
    for (const auto& r : s.workloads) {
      out += fmt::format("  {:<22} {:<16} {:<14} {:>12} {:>12} {:>8} {:>9} {:>5}{}\n", r.mode,
                         r.group + (r.sweep.empty() ? "" : "[" + r.sweep + "]"), r.workload,
                         opt(r.solo, "{:.4g}"), fmt::format("{:.4g}", r.rate),
                         opt(r.relative, "{:.3f}"), opt(r.slowdown_pct, "{:.1f}%"), r.reps,
                         r.failed ? fmt::format("  ({} failed)", r.failed) : "");
    }
  }
  if (!s.groups.empty()) {
    out += "\nAggregate speed-up (sum of relative rates; N copies without interference = N)\n";
    out += fmt::format("  {:<22} {:<24} {:>8} {:>10} {:>5}\n", "mode", "group", "clients",
                       "speed-up", "reps");
    for (const auto& g : s.groups) {
      out += fmt::format("  {:<22} {:<24} {:>8} {:>10} {:>5}{}\n", g.mode,
                         g.group + (g.sweep.empty() ? "" : "[" + g.sweep + "]"), g.clients,
                         opt(g.speedup, "{:.2f}x"), g.reps,
                         g.failed_reps ? fmt::format("  ({} incomplete)", g.failed_reps) : "");
    }
  }
  if (!s.failures.empty()) {
    out += fmt::format("\n{} workload(s) did not end ok:\n", s.failures.size());
    for (const auto& f : s.failures) {
      out += fmt::format("  {} {}: {}: {}\n", f.run_key, f.workload, f.exit_class, f.message);
    }
  }
  if (s.simulated) {
    out += "(simulated GPU: contention model results, not measurements)\n";
  }
  return out;
}

}  // namespace colo
