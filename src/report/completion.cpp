#include "report/completion.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <map>
#include <tuple>

#include "report/summary.hpp"

namespace colo {

namespace {

// The run's step-count stop rule (0: none or unreadable settings).
std::int64_t stop_steps(const RunRecord& r) {
  try {
    return nlohmann::json::parse(r.settings_json).at("stop").value("steps", std::int64_t{0});
  } catch (const std::exception&) {
    return 0;
  }
}

}  // namespace

std::vector<CompletionRow> completion_times(const std::vector<RunData>& runs) {
  using Key = std::tuple<std::string, std::string, std::string, std::string>;
  struct Acc {
    CompletionRow row;
    std::vector<double> times;
    std::vector<int> reps;
  };
  std::map<Key, Acc> acc;
  std::vector<Key> order;
  for (const auto& rd : runs) {
    if (rd.run.status != RunStatus::done || stop_steps(rd.run) <= 0) {
      continue;
    }
    const bool solo = rd.run.mode_kind == "solo";
    for (const auto& w : rd.workloads) {
      if (w.exit_class != ExitClass::ok || w.window_s <= 0) {
        continue;
      }
      const Key k{rd.run.sweep, solo ? "solo" : rd.run.mode, solo ? "-" : rd.run.group, w.name};
      auto [it, fresh] = acc.try_emplace(k);
      if (fresh) {
        order.push_back(k);
        auto& row = it->second.row;
        row.sweep = rd.run.sweep;
        row.mode = std::get<1>(k);
        row.group = std::get<2>(k);
        row.workload = w.name;
        row.clients = static_cast<int>(rd.workloads.size());
      }
      it->second.times.push_back(w.window_s);
      if (it->second.reps.empty() || it->second.reps.back() != rd.run.repetition) {
        it->second.reps.push_back(rd.run.repetition);
      }
    }
  }
  std::vector<CompletionRow> out;
  for (int pass = 0; pass < 2; ++pass) {
    for (const auto& k : order) {
      auto& a = acc.at(k);
      if ((std::get<1>(k) == "solo") != (pass == 0)) {
        continue;
      }
      a.row.time_s = stat_of(a.times);
      a.row.reps = static_cast<int>(a.reps.size());
      const auto alone = acc.find(Key{std::get<0>(k), "solo", "-", std::get<3>(k)});
      if (pass == 1 && alone != acc.end()) {
        a.row.solo_s = stat_of(alone->second.times).mean;
        if (*a.row.solo_s > 0) {
          a.row.increase_pct = (a.row.time_s.mean / *a.row.solo_s - 1) * 100;
        }
      }
      out.push_back(a.row);
    }
  }
  return out;
}

TextTable completion_table(const std::vector<CompletionRow>& rows) {
  TextTable t;
  bool sweeps = false;
  for (const auto& r : rows) {
    sweeps = sweeps || !r.sweep.empty();
  }
  t.head = {"mode",
            "group",
            "workload",
            "clients",
            "completion time (s)",
            "spread (σ, min–max)",
            "alone (s)",
            "increase (%)",
            "reps"};
  t.right = {false, false, false, true, true, false, true, true, true};
  if (sweeps) {
    t.head.insert(t.head.begin() + 2, "sweep");
    t.right.insert(t.right.begin() + 2, false);
  }
  for (const auto& r : rows) {
    std::vector<std::string> row{r.mode,
                                 r.group,
                                 r.workload,
                                 std::to_string(r.clients),
                                 mean_ci_text(r.time_s, "", 2),
                                 spread_text(r.time_s, "", 2),
                                 r.solo_s ? fmt::format("{:.2f}", *r.solo_s) : "-",
                                 r.increase_pct ? fmt::format("{:+.1f}", *r.increase_pct) : "-",
                                 std::to_string(r.reps)};
    if (sweeps) {
      row.insert(row.begin() + 2, r.sweep.empty() ? "-" : r.sweep);
    }
    t.rows.push_back(std::move(row));
  }
  return t;
}

}  // namespace colo
