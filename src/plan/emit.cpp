#include "plan/emit.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <set>

namespace colo::plan {
namespace {

YAML::Node mode_node(Mechanism mech, const std::vector<JobPlacement>& jobs) {
  YAML::Node params;
  switch (mech) {
    case Mechanism::solo:
    case Mechanism::sequential:
    case Mechanism::timeslice:
      return YAML::Node("timeslice");
    case Mechanism::mps:
      return YAML::Node("mps");
    case Mechanism::mps_limits:
      for (const auto& j : jobs) {
        params["thread_percent"][j.job] = j.thread_percent.value_or(100);
      }
      break;
    case Mechanism::green:
      for (const auto& j : jobs) {
        params["sms"][j.job] = j.green_sms.value_or(0);
      }
      break;
    case Mechanism::mig:
    case Mechanism::mig_equivalent:
      for (const auto& j : jobs) {
        params["layout"].push_back(j.mig_profile.value_or(""));
      }
      break;
  }
  YAML::Node m;
  m[to_string(mech == Mechanism::mps_limits ? Mechanism::mps : mech)] = params;
  return m;
}

}  // namespace

Result<std::vector<EmittedSpec>> emit_specs(const Plan& plan, const std::string& source_yaml,
                                            const std::string& source_dir,
                                            const std::string& prefix, EmitRules rules) {
  YAML::Node src;
  try {
    src = YAML::Load(source_yaml);
  } catch (const YAML::Exception& e) {
    return fail(ErrorCode::invalid_argument, fmt::format("workloads spec: {}", e.msg));
  }
  const auto workloads = src["workloads"];
  std::vector<EmittedSpec> out;
  for (const auto& g : plan.groups) {
    YAML::Node spec;
    static const std::set<std::string> dropped{"name",   "modes", "workloads",
                                               "groups", "sweep", "gpus"};
    for (const auto& kv : src) {
      const auto k = kv.first.as<std::string>();
      if (!dropped.contains(k)) {
        spec[k] = YAML::Clone(kv.second);
      }
    }
    EmittedSpec e;
    e.gpu = g.gpu;
    e.name = fmt::format("{}-gpu{}", prefix, g.gpu);
    spec["name"] = e.name;
    spec["gpus"].push_back(g.gpu);
    spec["solo_baseline"] = true;
    YAML::Node group;
    YAML::Node wl;
    for (const auto& j : g.jobs) {
      YAML::Node found;
      bool have = false;
      for (const auto& w : workloads) {
        if (w["name"] && w["name"].as<std::string>() == j.workload) {
          found = YAML::Clone(w);
          have = true;
        }
      }
      if (!have) {
        return fail(
            ErrorCode::invalid_argument,
            fmt::format("job '{}': workload '{}' is not in the workloads spec", j.job, j.workload));
      }
      found["name"] = j.job;
      found.remove("copies");
      found.remove("gpus");  // the emitted spec runs on its group's GPU (`gpus: [g]`)
      const std::string cwd = found["cwd"] ? found["cwd"].as<std::string>() : std::string(".");
      if (cwd.empty() || cwd[0] != '/') {
        found["cwd"] = source_dir + "/" + cwd;
      }
      wl.push_back(found);
      group.push_back(j.job);
    }
    spec["workloads"] = wl;
    // Rules that would not fit in memory are never run (they would run out of memory).
    std::vector<const Alternative*> runnable;
    for (const auto* list : {&g.alternatives, &g.others}) {
      if (list == &g.others && rules != EmitRules::all) {
        continue;
      }
      for (const auto& a : *list) {
        if (a.refused_by != "memory") {
          runnable.push_back(&a);
        }
      }
    }
    const bool with_rules = rules != EmitRules::no && !runnable.empty();
    if (g.mechanism == Mechanism::sequential && !with_rules) {
      for (const auto& j : g.jobs) {  // one at a time: each job's solo run is its whole plan
        YAML::Node one;
        one.push_back(j.job);
        spec["groups"].push_back(one);
      }
    } else {
      spec["groups"].push_back(group);
    }
    // Modes in order, each with the candidates it stands for (the same mode once).
    std::vector<std::pair<std::string, YAML::Node>> modes;
    auto add = [&](const std::string& who, const YAML::Node& node) {
      YAML::Emitter key;
      key << node;
      for (std::size_t i = 0; i < modes.size(); ++i) {
        if (modes[i].first == key.c_str()) {
          e.candidates[i] += " = " + who;
          return;
        }
      }
      modes.emplace_back(key.c_str(), node);
      e.candidates.push_back(who);
    };
    if (g.mechanism != Mechanism::sequential) {
      add("plan", mode_node(g.mechanism, g.jobs));
    }
    if (with_rules) {
      for (const auto* a : runnable) {
        add(a->rule, mode_node(a->mechanism, a->jobs));
      }
    }
    if (modes.empty()) {
      add("plan", mode_node(Mechanism::timeslice, g.jobs));  // solo runs only
    }
    for (const auto& [key, node] : modes) {
      spec["modes"].push_back(node);
    }
    YAML::Emitter em;
    em << spec;
    e.yaml = fmt::format(
        "# Emitted by `colo plan` for GPU {} ({}): {}, predicted aggregate {:.2f}{}.\n"
        "# Run the whole plan with `colo run --plan PLAN.json` (predicted vs measured).\n{}\n",
        g.gpu, g.gpu_model, to_string(g.mechanism), g.aggregate,
        plan.simulated ? " (SIMULATED profiles)" : "", em.c_str());
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace colo::plan
