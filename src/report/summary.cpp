#include "report/summary.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <tuple>

namespace colo {
namespace {

struct Acc {
  std::vector<double> values;
  int n = 0;
  void add(double v) {
    values.push_back(v);
    ++n;
  }
  [[nodiscard]] double mean() const { return stat_of(values).mean; }
  [[nodiscard]] Stat stat() const { return stat_of(values); }
};

double sum_samples(const RunData& rd) {
  double n = 0;
  for (const auto& w : rd.workloads) {
    n += w.samples;
  }
  return n;
}

std::optional<double> rate_of(const WorkloadRecord& w, bool& by_wall_time) {
  if (w.throughput) {
    by_wall_time = false;
    return w.throughput;
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
  std::map<std::pair<std::string, std::string>, double> solo_mem;
  std::map<std::pair<std::string, std::string>, Acc> solo_energy;
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
      solo_mem[key] = std::max(solo_mem[key], w.peak_gpu_mem_bytes);
      if (rd.energy_j && w.samples > 0) {
        solo_energy[key].add(*rd.energy_j / w.samples);
      }
    }
  }
  for (const auto& key : solo_order) {
    SoloRow row{key.first,      key.second,       solo[key].mean(), solo[key].n,
                solo_wall[key], solo[key].stat(), solo_mem[key],    std::nullopt};
    if (solo_energy[key].n > 0) {
      row.j_per_sample = solo_energy[key].mean();
    }
    s.solo.push_back(row);
  }

  // Collocated: (sweep, mode, group) -> per-rep aggregate; (.., workload#copy) -> rates.
  using GroupKey = std::tuple<std::string, std::string, std::string>;
  std::map<GroupKey, Acc> speedups;
  std::map<GroupKey, Acc> group_energy;
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
      GroupRow row;
      row.sweep = rd.run.sweep;
      row.mode = rd.run.mode;
      row.group = rd.run.group;
      row.clients = static_cast<int>(rd.workloads.size());
      groups[gk] = row;
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
      row.peak_gpu_mem_bytes = std::max(row.peak_gpu_mem_bytes, w.peak_gpu_mem_bytes);
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
    if (complete && rd.energy_j && sum_samples(rd) > 0) {
      group_energy[gk].add(*rd.energy_j / sum_samples(rd));
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
    row.stat = row_rates[wk].stat();
    if (row.solo && *row.solo > 0 && row.reps > 0) {
      row.relative = row.rate / *row.solo;
      row.slowdown_pct = (1.0 - *row.relative) * 100.0;
    }
    auto& g = groups[GroupKey{row.sweep, row.mode, row.group}];
    g.aggregate_rate += row.rate;
    if (row.relative && *row.relative > 0) {
      g.worst_slowdown_x = std::max(g.worst_slowdown_x.value_or(0.0), 1.0 / *row.relative);
    }
    s.workloads.push_back(row);
  }
  for (const auto& gk : group_order) {
    auto g = groups[gk];
    if (speedups[gk].n > 0) {
      g.speedup = speedups[gk].mean();
      g.stat = speedups[gk].stat();
    }
    if (group_energy[gk].n > 0) {
      g.j_per_sample = group_energy[gk].mean();
    }
    s.groups.push_back(g);
  }
  return s;
}

std::optional<double> energy_in_window(const std::vector<SampleRow>& samples, double from,
                                       double to) {
  std::map<int, std::pair<double, double>> first_last;  // gpu -> (first, last) mJ
  std::map<int, int> count;
  for (const auto& x : samples) {
    if (x.metric != "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION" || !x.gpu || x.t < from || x.t > to) {
      continue;
    }
    auto [it, fresh] = first_last.try_emplace(*x.gpu, x.value, x.value);
    if (!fresh) {
      it->second.second = x.value;
    }
    ++count[*x.gpu];
  }
  if (first_last.empty()) {
    return std::nullopt;
  }
  double j = 0;
  for (const auto& [gpu, fl] : first_last) {
    if (count[gpu] < 2) {
      return std::nullopt;
    }
    j += (fl.second - fl.first) / 1000.0;
  }
  return j;
}

std::vector<std::string> recommendations(const Summary& s, double max_slowdown_x) {
  std::map<std::pair<std::string, std::string>, const GroupRow*> best;
  std::vector<std::pair<std::string, std::string>> order;
  std::map<std::pair<std::string, std::string>, bool> seen;
  for (const auto& g : s.groups) {
    const auto key = std::make_pair(g.sweep, g.group);
    if (!seen[key]) {
      seen[key] = true;
      order.push_back(key);
    }
    if (!g.speedup || !g.worst_slowdown_x || *g.worst_slowdown_x > max_slowdown_x) {
      continue;
    }
    auto& b = best[key];
    if (!b || *g.speedup > *b->speedup) {
      b = &g;
    }
  }
  std::vector<std::string> out;
  for (const auto& key : order) {
    const std::string group = key.second + (key.first.empty() ? "" : "[" + key.first + "]");
    const auto* b = best[key];
    if (!b) {
      out.push_back(fmt::format("{}: no mode keeps every workload within {:g}x of its solo speed",
                                group, max_slowdown_x));
      continue;
    }
    out.push_back(
        fmt::format("{}: {} gives the best aggregate speed-up, {:.2f}x (worst "
                    "per-workload slowdown {:.2f}x, bound {:g}x)",
                    group, b->mode, *b->speedup, *b->worst_slowdown_x, max_slowdown_x));
  }
  return out;
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
