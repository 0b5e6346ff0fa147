#include "report/summary.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "report/table.hpp"

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

namespace {

// argv[0]'s file name of a workload record ("" when unreadable).
std::string program_of(const WorkloadRecord& w) {
  try {
    const auto j = nlohmann::json::parse(w.argv_json.empty() ? "[]" : w.argv_json);
    if (!j.is_array() || j.empty() || !j[0].is_string()) {
      return "";
    }
    const auto a = j[0].get<std::string>();
    return a.substr(a.find_last_of('/') + 1);
  } catch (const std::exception&) {
    return "";
  }
}

using SoloKey = std::pair<std::string, std::string>;  // sweep, workload

// Solo baselines of every done solo run: per (sweep, workload) the rate of each repetition.
struct Solos {
  std::map<SoloKey, SoloRow> rows;
  std::vector<SoloKey> order;
  std::map<SoloKey, Acc> energy;
  std::map<std::tuple<std::string, std::string, int>, double> by_rep;  // + repetition

  [[nodiscard]] std::optional<double> mean(const SoloKey& k) const {
    auto it = rows.find(k);
    return it == rows.end() ? std::nullopt : std::optional<double>(it->second.rate);
  }
  // The solo rate of repetition `rep`, or none when that repetition has no solo run.
  [[nodiscard]] std::optional<double> of_rep(const SoloKey& k, int rep) const {
    auto it = by_rep.find({k.first, k.second, rep});
    return it == by_rep.end() ? std::nullopt : std::optional<double>(it->second);
  }
};

Solos solo_baselines(const std::vector<RunData>& runs) {
  Solos s;
  for (const auto& rd : runs) {
    if (rd.run.status != RunStatus::done || rd.run.mode_kind != "solo") {
      continue;
    }
    for (const auto& w : rd.workloads) {
      bool wall = false;
      auto r = rate_of(w, wall);
      if (!ok(w) || !r) {
        continue;
      }
      const SoloKey key{rd.run.sweep, w.name};
      auto [it, fresh] = s.rows.try_emplace(key);
      if (fresh) {
        s.order.push_back(key);
        it->second.sweep = key.first;
        it->second.workload = key.second;
      }
      auto& row = it->second;
      row.values.push_back(*r);
      row.repetitions.push_back(rd.run.repetition);
      row.by_wall_time = wall;
      row.peak_gpu_mem_bytes = std::max(row.peak_gpu_mem_bytes, w.peak_gpu_mem_bytes);
      s.by_rep[{key.first, key.second, rd.run.repetition}] = *r;
      if (rd.energy_j && w.samples > 0) {
        s.energy[key].add(*rd.energy_j / w.samples);
      }
    }
  }
  for (auto& [key, row] : s.rows) {
    row.stat = stat_of(row.values);
    row.rate = row.stat.mean;
    row.reps = row.stat.n;
    if (s.energy[key].n > 0) {
      row.j_per_sample = s.energy[key].mean();
    }
  }
  return s;
}

}  // namespace

Summary summarize(const ExperimentRecord& exp, const std::vector<RunData>& runs) {
  Summary s;
  s.experiment = exp.name;
  s.id = exp.id;
  s.backend = exp.backend;
  s.wall_s = exp.wall_s;
  s.runs_total = static_cast<int>(runs.size());

  bool all_cpu = true;
  bool any_workload = false;
  for (const auto& rd : runs) {
    bool run_failed = false;
    for (const auto& w : rd.workloads) {
      any_workload = true;
      const auto prog = program_of(w);
      all_cpu = all_cpu && prog == "colo-cpu-work";
      if (!ok(w)) {
        run_failed = true;
        s.failures.push_back({rd.run.key, w.name + "#" + std::to_string(w.copy),
                              to_string(w.exit_class), w.message});
      }
    }
    if (rd.run.status == RunStatus::done) {
      ++s.runs_done;
      s.runs_failed += run_failed ? 1 : 0;
    }
  }
  s.cpu_only = any_workload && all_cpu;
  s.simulated = exp.simulated && !s.cpu_only;
  const bool gpu_energy = !s.cpu_only && (s.simulated || !exp.simulated);

  const Solos solo = solo_baselines(runs);
  for (const auto& key : solo.order) {
    auto row = solo.rows.at(key);
    if (!gpu_energy) {
      row.j_per_sample.reset();
    }
    s.solo.push_back(row);
  }

  // Collocated: (sweep, mode, group) -> per-rep aggregate; (.., workload#copy) -> rates.
  using GroupKey = std::tuple<std::string, std::string, std::string>;
  std::map<GroupKey, Acc> group_energy;
  std::map<GroupKey, GroupRow> groups;
  std::vector<GroupKey> group_order;
  using WlKey = std::tuple<std::string, std::string, std::string, std::string>;
  std::map<WlKey, WorkloadRow> rows;
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
    for (const auto& w : rd.workloads) {
      if (std::find(g.gpus.begin(), g.gpus.end(), w.gpu) == g.gpus.end()) {
        g.gpus.insert(std::upper_bound(g.gpus.begin(), g.gpus.end(), w.gpu), w.gpu);
      }
    }
    double rel_sum = 0;
    bool complete = true;
    bool paired = true;
    for (const auto& w : rd.workloads) {
      const std::string label = w.name + "#" + std::to_string(w.copy);
      WlKey wk{rd.run.sweep, rd.run.mode, rd.run.group, label};
      const SoloKey sk{rd.run.sweep, w.name};
      if (!rows.count(wk)) {
        row_order.push_back(wk);
        WorkloadRow row;
        row.sweep = rd.run.sweep;
        row.mode = rd.run.mode;
        row.group = rd.run.group;
        row.workload = label;
        row.base = w.name;
        row.solo = solo.mean(sk);
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
      row.values.push_back(*r);
      row.repetitions.push_back(rd.run.repetition);
      auto base = solo.of_rep(sk, rd.run.repetition);
      if (!base) {
        paired = false;
        base = row.solo;
        row.unpaired_reps += base ? 1 : 0;
      }
      if (base && *base > 0) {
        rel_sum += *r / *base;
        row.ratios.push_back(*r / *base);
      } else {
        complete = false;
      }
    }
    if (complete && gpu_energy && rd.energy_j && sum_samples(rd) > 0) {
      group_energy[gk].add(*rd.energy_j / sum_samples(rd));
    }
    if (complete) {
      g.values.push_back(rel_sum);
      g.repetitions.push_back(rd.run.repetition);
      g.unpaired_reps += paired ? 0 : 1;
    } else {
      ++g.failed_reps;
    }
  }
  for (const auto& wk : row_order) {
    auto row = rows[wk];
    row.stat = stat_of(row.values);
    row.reps = row.stat.n;
    row.rate = row.stat.mean;
    if (!row.ratios.empty()) {
      row.relative_stat = stat_of(row.ratios);
      row.relative = row.relative_stat.mean;
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
    if (!g.values.empty()) {
      g.stat = stat_of(g.values);
      g.speedup = g.stat.mean;
    }
    if (group_energy[gk].n > 0) {
      g.j_per_sample = group_energy[gk].mean();
    }
    s.groups.push_back(g);
  }
  s.completion = completion_times(runs);
  std::set<int> used;
  for (const auto& rd : runs) {
    for (const auto& w : rd.workloads) {
      used.insert(w.gpu);
    }
  }
  s.multi_gpu = used.size() > 1;
  return s;
}

const char* const k_multi_gpu_speedup_note =
    "On several GPUs: the speed-up is the sum over a run's clients of its rate / the same "
    "workload's rate alone on one GPU, so a group on one GPU shows what sharing that GPU bought "
    "(1x: one job's worth), and a group spread over k GPUs holds k GPUs: its speed-up per GPU is "
    "the speed-up / k. Groups pinned to different GPUs add up: the host's aggregate is their sum.";

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

TTest compare_groups(const GroupRow& a, const GroupRow& b) {
  if (a.repetitions == b.repetitions && a.values.size() >= 2) {
    return paired_test(a.values, b.values);
  }
  return welch_test(a.stat, b.stat);
}

std::vector<std::string> recommendations(const Summary& s, double max_slowdown_x) {
  std::map<std::pair<std::string, std::string>, std::vector<const GroupRow*>> eligible;
  std::vector<std::pair<std::string, std::string>> order;
  for (const auto& g : s.groups) {
    const auto key = std::make_pair(g.sweep, g.group);
    if (!eligible.count(key)) {
      order.push_back(key);
    }
    auto& list = eligible[key];
    if (g.speedup && g.worst_slowdown_x && *g.worst_slowdown_x <= max_slowdown_x) {
      list.push_back(&g);
    }
  }
  std::vector<std::string> out;
  for (const auto& key : order) {
    const std::string group = key.second + (key.first.empty() ? "" : "[" + key.first + "]");
    auto list = eligible[key];
    if (list.empty()) {
      out.push_back(
          fmt::format("{}: no mode keeps every workload within {:g}x of its solo speed "
                      "(a slowdown of at most {:.0f}%)",
                      group, max_slowdown_x, (1 - 1 / max_slowdown_x) * 100));
      continue;
    }
    // Highest speed-up first; ties in table order (the pointers point into s.groups).
    std::sort(list.begin(), list.end(), [](const GroupRow* a, const GroupRow* b) {
      return *a->speedup != *b->speedup ? *a->speedup > *b->speedup : a < b;
    });
    const auto* b = list[0];
    const auto head = fmt::format(
        "{} {:.2f}x (worst per-workload slowdown {:.1f}%, bound {:.0f}% = --max-slowdown {:g}x)",
        b->mode, *b->speedup, (1 - 1 / *b->worst_slowdown_x) * 100, (1 - 1 / max_slowdown_x) * 100,
        max_slowdown_x);
    if (list.size() == 1) {
      out.push_back(
          fmt::format("{}: {} is the only mode within the bound: {}", group, b->mode, head));
      continue;
    }
    const auto* r = list[1];
    const auto t = compare_groups(*r, *b);
    if (t.kind == TestKind::none) {
      out.push_back(fmt::format(
          "{}: no winner named: {} leads with {}, ahead of {} {:.2f}x, but with fewer than 2 "
          "repetitions the noise is unknown (repeat: 3 or more)",
          group, b->mode, head, r->mode, *r->speedup));
    } else if (!t.beyond_noise) {
      out.push_back(fmt::format(
          "{}: no winner beyond noise: {} and {} {:.2f}x are within noise of each other ({}, "
          "p={:.2f}); either keeps every workload within the bound",
          group, head, r->mode, *r->speedup, to_string(t.kind), t.p));
    } else {
      out.push_back(
          fmt::format("{}: {} gives the best aggregate speed-up, {}; beyond noise of "
                      "the next best, {} {:.2f}x ({}, p={:.3f})",
                      group, b->mode, head, r->mode, *r->speedup, to_string(t.kind), t.p));
    }
  }
  return out;
}

namespace {

std::string opt_text(const std::optional<double>& v, const char* f) {
  return v ? fmt::format(fmt::runtime(f), *v) : std::string("-");
}

std::string rate_unit(bool by_wall_time) {
  return by_wall_time ? "runs/s" : "samples/s";
}

std::string notes_of(const Stat& st, std::vector<std::string> extra) {
  for (auto& w : noise_warnings(st)) {
    extra.push_back(std::move(w));
  }
  std::string o;
  for (const auto& e : extra) {
    o += (o.empty() ? "" : "; ") + e;
  }
  return o;
}

// The slowdown in % with the 95% CI of the paired ratios (also in %), e.g. "7.1 ± 2.0".
std::string slowdown_text(const WorkloadRow& r) {
  if (!r.slowdown_pct) {
    return "-";
  }
  return r.relative_stat.n > 1
             ? fmt::format("{:.1f} ± {:.1f}", *r.slowdown_pct, r.relative_stat.ci95_half * 100.0)
             : fmt::format("{:.1f}", *r.slowdown_pct);
}

std::string unpaired_note(int unpaired) {
  return fmt::format("{} unpaired (no solo run of their own: mean solo used)", unpaired);
}

std::vector<std::string> workload_notes(const WorkloadRow& r) {
  std::vector<std::string> extra;
  if (r.failed > 0) {
    extra.push_back(fmt::format("{} failed", r.failed));
  }
  if (r.unpaired_reps > 0) {
    extra.push_back(unpaired_note(r.unpaired_reps));
  }
  return extra;
}

}  // namespace

std::string number_text(double v, int decimals) {
  return decimals < 0 ? fixed4(v) : fmt::format("{:.{}f}", v, decimals);
}

std::string mean_ci_text(const Stat& st, const std::string& suffix, int decimals) {
  if (st.n == 0) {
    return "-";
  }
  const auto m = number_text(st.mean, decimals) + suffix;
  return st.n > 1 ? fmt::format("{} ± {}{}", m, number_text(st.ci95_half, decimals), suffix) : m;
}

std::string spread_text(const Stat& st, const std::string& suffix, int decimals) {
  if (st.n < 2) {
    return "-";
  }
  return fmt::format("σ {}{}, {}–{}{}", number_text(st.sd, decimals), suffix,
                     number_text(st.min, decimals), number_text(st.max, decimals), suffix);
}

std::string runs_line(const Summary& s) {
  std::string o = fmt::format("{}/{} runs done", s.runs_done, s.runs_total);
  if (s.runs_failed > 0 || !s.failures.empty()) {
    o += fmt::format(
        ", {} with failed workloads ({} workload(s) did not end ok: see \"What "
        "failed\")",
        s.runs_failed, s.failures.size());
  }
  return o;
}

std::vector<SummaryTable> summary_tables(const Summary& s) {
  std::vector<SummaryTable> out;
  bool sweeps = false;
  for (const auto& r : s.solo) {
    sweeps = sweeps || !r.sweep.empty();
  }
  for (const auto& g : s.groups) {
    sweeps = sweeps || !g.sweep.empty();
  }
  auto sw = [](const std::string& v) { return v.empty() ? std::string("-") : v; };
  if (!s.solo.empty()) {
    SummaryTable t{"Alone (solo baselines; mean ± 95% CI over repetitions)", {}};
    t.table.head = {"workload",
                    "sweep",
                    "rate",
                    "unit",
                    "spread (σ, min–max)",
                    "reps",
                    "GPU J/sample (J)",
                    "peak GPU memory (MiB)",
                    "notes"};
    t.table.right = {false, false, true, false, false, true, true, true, false};
    for (const auto& r : s.solo) {
      t.table.rows.push_back(
          {r.workload, sw(r.sweep), mean_ci_text(r.stat, ""), rate_unit(r.by_wall_time),
           spread_text(r.stat, ""), std::to_string(r.reps), opt_text(r.j_per_sample, "{:.4f}"),
           r.peak_gpu_mem_bytes > 0 ? fmt::format("{:.0f}", r.peak_gpu_mem_bytes / 1048576.0) : "-",
           notes_of(r.stat, {})});
    }
    out.push_back(std::move(t));
  }
  if (!s.workloads.empty()) {
    SummaryTable t{
        "Collocated (slowdown = share of the solo rate lost, %: each repetition's rate / the solo "
        "rate of the same repetition, mean ± 95% CI over those ratios)",
        {}};
    t.table.head = {"mode",         "group", "sweep",      "workload",
                    "unit",         "solo",  "collocated", "spread (σ, min–max)",
                    "slowdown (%)", "reps",  "notes"};
    t.table.right = {false, false, false, false, false, true, true, false, true, true, false};
    for (const auto& r : s.workloads) {
      t.table.rows.push_back({r.mode, r.group, sw(r.sweep), r.workload, rate_unit(r.by_wall_time),
                              r.solo ? fixed4(*r.solo) : "-", mean_ci_text(r.stat, ""),
                              spread_text(r.stat, ""), slowdown_text(r), std::to_string(r.reps),
                              notes_of(r.stat, workload_notes(r))});
    }
    out.push_back(std::move(t));
  }
  if (!s.groups.empty()) {
    SummaryTable t{
        "Aggregate speed-up (sum of each workload's rate / its solo rate of the same repetition; "
        "N copies without interference = N)",
        {}};
    t.table.head = {"mode",
                    "group",
                    "sweep",
                    "clients",
                    "speed-up (x)",
                    "spread (σ, min–max)",
                    "worst slowdown (%)",
                    "GPU J/sample (J)",
                    "reps",
                    "notes"};
    t.table.right = {false, false, false, true, true, false, true, true, true, false};
    for (const auto& g : s.groups) {
      std::vector<std::string> extra;
      if (g.failed_reps > 0) {
        extra.push_back(fmt::format("{} incomplete", g.failed_reps));
      }
      if (g.unpaired_reps > 0) {
        extra.push_back(unpaired_note(g.unpaired_reps));
      }
      std::optional<double> worst;
      if (g.worst_slowdown_x) {
        worst = (1.0 - 1.0 / *g.worst_slowdown_x) * 100.0;
      }
      t.table.rows.push_back({g.mode, g.group, sw(g.sweep), std::to_string(g.clients),
                              mean_ci_text(g.stat, "", 2), spread_text(g.stat, "", 2),
                              opt_text(worst, "{:.1f}"), opt_text(g.j_per_sample, "{:.4f}"),
                              std::to_string(g.stat.n), notes_of(g.stat, extra)});
      if (s.multi_gpu) {
        auto& row = t.table.rows.back();
        row.insert(row.begin() + 5, opt_text(g.speedup_per_gpu(), "{:.2f}"));
        row.insert(row.begin() + 3, fmt::format("{}", fmt::join(g.gpus, ",")));
      }
    }
    if (s.multi_gpu) {
      t.title += std::string(". ") + k_multi_gpu_speedup_note;
      t.table.head.insert(t.table.head.begin() + 5, "per GPU (x)");
      t.table.right.insert(t.table.right.begin() + 5, true);
      t.table.head.insert(t.table.head.begin() + 3, "GPUs");
      t.table.right.insert(t.table.right.begin() + 3, false);
    }
    out.push_back(std::move(t));
  }
  if (!sweeps) {  // no sweep: drop the column
    for (auto& t : out) {
      for (std::size_t i = 0; i < t.table.head.size(); ++i) {
        if (t.table.head[i] == "sweep") {
          t.table.head.erase(t.table.head.begin() + static_cast<std::ptrdiff_t>(i));
          t.table.right.erase(t.table.right.begin() + static_cast<std::ptrdiff_t>(i));
          for (auto& r : t.table.rows) {
            r.erase(r.begin() + static_cast<std::ptrdiff_t>(i));
          }
          break;
        }
      }
    }
  }
  if (!s.completion.empty()) {
    out.push_back(
        {"Completion time (stop: steps; start barrier to the last step, s; increase vs "
         "alone, %)",
         completion_table(s.completion)});
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
  out +=
      fmt::format("Experiment {} \"{}\" on {}{}: {} in {:.1f} s\n", s.id, s.experiment, s.backend,
                  s.simulated  ? " (simulated)"
                  : s.cpu_only ? " (CPU-only workloads)"
                               : "",
                  runs_line(s), s.wall_s);
  if (!s.failures.empty()) {
    out += fmt::format("\nWhat failed: {} workload(s) did not end ok\n", s.failures.size());
    for (const auto& f : s.failures) {
      out += fmt::format("  {} {}: {}: {}\n", f.run_key, f.workload, f.exit_class, f.message);
    }
  }
  for (const auto& t : summary_tables(s)) {
    out += "\n" + t.title + "\n" + t.table.render();
  }
  if (s.simulated) {
    out += "(simulated GPU: contention model results, not measurements)\n";
  }
  return out;
}

}  // namespace colo
