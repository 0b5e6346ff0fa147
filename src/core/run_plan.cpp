#include "core/run_plan.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <random>

namespace colo {

std::string substitute(const std::string& text,
                       const std::vector<std::pair<std::string, std::string>>& point) {
  std::string out = text;
  for (const auto& [k, v] : point) {
    const std::string pat = "{" + k + "}";
    for (auto pos = out.find(pat); pos != std::string::npos; pos = out.find(pat, pos + v.size())) {
      out.replace(pos, pat.size(), v);
    }
  }
  return out;
}

std::string RunPlan::sweep_label() const {
  std::string out;
  for (const auto& [k, v] : sweep_point) {
    out += (out.empty() ? "" : ",") + k + "=" + v;
  }
  return out;
}

nlohmann::json RunPlan::settings_json(const ExperimentSpec& spec) const {
  nlohmann::json j;
  j["key"] = key;
  j["repetition"] = repetition;
  j["mode"] = mode.label();
  j["mode_kind"] = to_string(mode.kind);
  j["group"] = group;
  j["sweep"] = nlohmann::json::object();
  for (const auto& [k, v] : sweep_point) {
    j["sweep"][k] = v;
  }
  j["stop"] = {{"duration_s", spec.stop.duration ? spec.stop.duration->count() : 0.0},
               {"steps", spec.stop.steps.value_or(0)},
               {"exit", spec.stop.on_exit},
               {"timeout_s", spec.stop.timeout.count()}};
  j["warmup"] = {{"duration_s", spec.warmup.duration.count()}, {"steps", spec.warmup.steps}};
  j["grace_s"] = spec.grace.count();
  j["init_timeout_s"] = spec.init_timeout.count();
  j["sample_period_s"] = spec.sample_period.count();
  j["gpus"] = spec.gpus;
  j["run_gpus"] = gpus;
  j["parallel"] = spec.parallel;
  auto& cl = j["clients"] = nlohmann::json::array();
  for (const auto& c : clients) {
    nlohmann::json cj{{"workload", c.workload}, {"copy", c.copy},
                      {"argv", c.argv},         {"env", c.env},
                      {"cwd", c.cwd},           {"progress", to_string(c.progress)}};
    if (c.thread_percent) {
      cj["thread_percent"] = *c.thread_percent;
    }
    if (c.mem_limit) {
      cj["mem_limit_bytes"] = *c.mem_limit;
    }
    if (c.sms) {
      cj["sms"] = *c.sms;
    }
    if (c.mig_profile) {
      cj["mig_profile"] = *c.mig_profile;
    }
    cl.push_back(cj);
  }
  return j;
}

namespace {

using Point = std::vector<std::pair<std::string, std::string>>;

std::vector<Point> grid(const ExperimentSpec& spec) {
  std::vector<Point> points{{}};
  for (const auto& [key, values] : spec.sweep) {
    std::vector<Point> next;
    for (const auto& p : points) {
      for (const auto& v : values) {
        auto q = p;
        q.emplace_back(key, v);
        next.push_back(q);
      }
    }
    points = std::move(next);
  }
  return points;
}

ClientPlan make_client(const ExperimentSpec& spec, const WorkloadSpec& w, int copy,
                       const Point& point) {
  ClientPlan c;
  c.workload = w.name;
  c.copy = copy;
  c.progress = w.progress;
  if (!w.builtin.empty()) {
    c.argv.push_back(std::string(k_builtin_prefix) + w.builtin);
    for (const auto& [k, v] : w.args) {
      c.argv.push_back("--" + k);
      c.argv.push_back(substitute(v, point));
    }
  } else {
    for (const auto& a : w.cmd) {
      c.argv.push_back(substitute(a, point));
    }
  }
  for (const auto& [k, v] : w.env) {
    c.env[k] = substitute(v, point);
  }
  std::filesystem::path base(spec.source_dir);
  c.cwd =
      w.cwd.empty() ? base.string() : (base / substitute(w.cwd, point)).lexically_normal().string();
  return c;
}

// A group: workload names, possibly repeated, and its devices.
struct Group {
  std::vector<std::string> members;
  std::string label;
  std::vector<int> gpus;
};

std::string group_label(const std::vector<std::string>& members) {
  std::map<std::string, int> counts;
  std::vector<std::string> order;
  for (const auto& m : members) {
    if (counts[m]++ == 0) {
      order.push_back(m);
    }
  }
  std::string out;
  for (const auto& n : order) {
    out += (out.empty() ? "" : "+") + n + (counts[n] > 1 ? "x" + std::to_string(counts[n]) : "");
  }
  return out;
}

std::vector<Group> groups_of(const ExperimentSpec& spec) {
  std::vector<Group> out;
  for (const auto& w : spec.workloads) {
    for (int n : w.copies) {
      out.push_back({std::vector<std::string>(static_cast<std::size_t>(n), w.name),
                     {},
                     w.gpus.empty() ? spec.gpus : w.gpus});
    }
  }
  for (const auto& g : spec.groups) {
    out.push_back({g.workloads, {}, g.gpus.empty() ? spec.gpus : g.gpus});
  }
  bool any_copies = false;
  for (const auto& w : spec.workloads) {
    any_copies = any_copies || !w.copies.empty();
  }
  if (out.empty() && !any_copies && spec.workloads.size() > 1) {
    Group all;
    for (const auto& w : spec.workloads) {
      all.members.push_back(w.name);
    }
    all.gpus = spec.gpus;
    out.push_back(all);
  }
  std::map<std::string, int> uses;
  for (auto& g : out) {
    g.label = group_label(g.members);
    ++uses[g.label];
  }
  // The same mix pinned to different GPUs: the devices tell the groups (and run keys) apart.
  for (auto& g : out) {
    if (uses[g.label] > 1) {
      g.label += fmt::format("@gpu{}", fmt::join(g.gpus, ","));
    }
  }
  return out;
}

}  // namespace

Result<std::vector<RunPlan>> expand_runs(const ExperimentSpec& spec) {
  std::vector<RunPlan> runs;
  const auto groups = groups_of(spec);
  for (const auto& point : grid(spec)) {
    std::string plabel;
    for (const auto& [k, v] : point) {
      plabel += (plabel.empty() ? "" : ",") + k + "=" + v;
    }
    for (int rep = 0; rep < std::max(spec.repeat, spec.repeat_max); ++rep) {
      auto key_of = [&](const std::string& mode, const std::string& group) {
        return fmt::format("r{}|{}|{}|{}", rep, plabel, mode, group);
      };
      if (spec.solo_baseline) {
        for (const auto& w : spec.workloads) {
          RunPlan r;
          r.repetition = rep;
          r.sweep_point = point;
          r.mode.kind = ModeKind::solo;
          r.group = w.name;
          r.gpus = {w.gpus.empty() ? spec.gpus.front() : w.gpus.front()};
          r.clients.push_back(make_client(spec, w, 0, point));
          r.key = key_of("solo", r.group);
          runs.push_back(std::move(r));
        }
      }
      for (const auto& g : groups) {
        for (const auto& m : spec.modes) {
          for (const auto& ms : m.expansions) {
            if (ms.kind == ModeKind::solo) {
              continue;  // solo baselines are planned above
            }
            if (g.members.size() == 1 && ms.kind == ModeKind::timeslice) {
              continue;  // one client time-sliced is the solo run
            }
            if (!ms.mig_layout.empty() && ms.mig_layout.size() != g.members.size()) {
              continue;  // a MIG layout applies to the groups with one workload per instance
            }
            RunPlan r;
            r.repetition = rep;
            r.sweep_point = point;
            r.mode = ms;
            r.group = g.label;
            r.gpus = g.gpus;
            std::map<std::string, int> copy_index;
            for (std::size_t i = 0; i < g.members.size(); ++i) {
              const auto* w = spec.find_workload(g.members[i]);
              auto c = make_client(spec, *w, copy_index[w->name]++, point);
              c.thread_percent = ms.thread_percent.for_workload(w->name);
              c.mem_limit = ms.mem_limit.for_workload(w->name);
              c.sms = ms.sms.for_workload(w->name);
              if (!ms.mig_layout.empty()) {
                c.mig_profile = ms.mig_layout[i];
              }
              r.clients.push_back(std::move(c));
            }
            r.key = key_of(ms.label(), g.label);
            runs.push_back(std::move(r));
          }
        }
      }
    }
  }
  for (const auto& m : spec.modes) {
    for (const auto& ms : m.expansions) {
      if (ms.mig_layout.empty()) {
        continue;
      }
      const bool used = std::any_of(groups.begin(), groups.end(), [&](const Group& g) {
        return g.members.size() == ms.mig_layout.size();
      });
      if (!used) {
        return fail(
            ErrorCode::invalid_argument,
            fmt::format("{}: mode {} has {} MIG profiles but no group has {} workloads; "
                        "give one profile per workload",
                        spec.source_path, ms.label(), ms.mig_layout.size(), ms.mig_layout.size()));
      }
    }
  }
  if (runs.empty()) {
    return fail(
        ErrorCode::invalid_argument,
        fmt::format("{}: the spec plans no runs (add copies, groups or modes)", spec.source_path));
  }
  return runs;
}

bool gpus_overlap(const RunPlan& a, const RunPlan& b) {
  return std::any_of(a.gpus.begin(), a.gpus.end(), [&](int d) {
    return std::find(b.gpus.begin(), b.gpus.end(), d) != b.gpus.end();
  });
}

void shuffle_runs(std::vector<RunPlan>& runs, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::size_t begin = 0;
  while (begin < runs.size()) {
    std::size_t end = begin + 1;
    while (end < runs.size() && runs[end].repetition == runs[begin].repetition &&
           runs[end].sweep_point == runs[begin].sweep_point) {
      ++end;
    }
    for (std::size_t i = end - 1; i > begin; --i) {
      const std::size_t j = begin + static_cast<std::size_t>(rng() % (i - begin + 1));
      std::swap(runs[i], runs[j]);
    }
    begin = end;
  }
}

}  // namespace colo
