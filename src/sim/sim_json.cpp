#include "sim/sim_json.hpp"

#include <cmath>
#include <limits>

#include "sim/throughput.hpp"

namespace colo::csim {

using nlohmann::json;

void to_json(json& j, const SimRun& r) {
  const auto& c = r.ctx;
  j = {{"simulated", true},          {"mode", c.mode},
       {"semantics", c.semantics},   {"load", c.load},
       {"nodes_file", c.nodes_file}, {"pods_file", c.pods_file},
       {"nodes", c.nodes},           {"gpus", c.gpus},
       {"trace_pods", c.trace_pods}, {"variant", c.variant}};
  if (r.inflate) {
    const auto& x = *r.inflate;
    json curve = json::array();
    for (const auto& p : x.curve) {
      curve.push_back({{"requested_pct", p.requested_pct},
                       {"allocated_pct", p.allocated_pct},
                       {"frag_pct", p.frag_pct}});
    }
    j.update({{"policy", x.policy},
              {"seed", x.seed},
              {"allocated_pct", x.allocated_pct},
              {"final_pct", x.final_pct},
              {"mechanism", x.mechanism},
              {"mechanism_note", x.mechanism_note},
              {"blast_radius", x.blast_radius},
              {"mig_served", x.mig_served},
              {"mig_whole", x.mig_whole},
              {"submitted", x.submitted},
              {"unscheduled", x.unscheduled},
              {"seconds", x.seconds},
              {"curve", curve}});
    if (x.colo_gpu_weight) {
      j["colo_gpu_weight"] = *x.colo_gpu_weight;
    }
    if (x.bound_pct) {
      j["bound_pct"] = *x.bound_pct;
    }
    if (!x.job.empty()) {
      // null where not measured (mig); docs/sim.md "Effective throughput"
      auto num = [](double v) { return std::isfinite(v) ? json(v) : json(nullptr); };
      j["throughput"] = {{"job", x.job},
                         {"job_description", job_description(x.job)},
                         {"unit", "GPU-equivalents of the job's solo throughput"},
                         {"mechanism", num(x.throughput)},
                         {"no_interference", num(x.throughput_ideal)},
                         {"table", k_speedup_table_file},
                         {"source", k_speedup_source}};
    }
    return;
  }
  const auto& x = *r.replay;
  json util = json::array();
  for (const auto& [t, u] : x.utilization) {
    util.push_back({t, u});
  }
  j.update({{"policy", x.policy},
            {"seed", x.seed},
            {"pods", x.pods},
            {"scheduled", x.scheduled},
            {"completed", x.completed},
            {"never_scheduled", x.never_scheduled},
            {"skipped", x.skipped},
            {"delay_mean_s", x.delay_mean_s},
            {"delay_p50_s", x.delay_p50_s},
            {"delay_p99_s", x.delay_p99_s},
            {"jct_mean_s", x.jct_mean_s},
            {"jct_p99_s", x.jct_p99_s},
            {"makespan_s", x.makespan_s},
            {"seconds", x.seconds},
            {"utilization", util}});
  if (x.colo_gpu_weight) {
    j["colo_gpu_weight"] = *x.colo_gpu_weight;
  }
}

void from_json(const json& j, SimRun& r) {
  auto& c = r.ctx;
  c.mode = j.at("mode").get<std::string>();
  c.semantics = j.value("semantics", std::string("exact"));  // stores before 2026-11-30: exact
  c.load = j.at("load").get<double>();
  c.nodes_file = j.value("nodes_file", std::string());
  c.pods_file = j.value("pods_file", std::string());
  c.nodes = j.value("nodes", std::size_t{0});
  c.gpus = j.value("gpus", 0.0);
  c.trace_pods = j.value("trace_pods", std::size_t{0});
  c.variant = j.value("variant", std::string());
  std::optional<double> w;
  if (j.contains("colo_gpu_weight")) {
    w = j.at("colo_gpu_weight").get<double>();
  }
  if (c.mode == "inflate") {
    InflateResult x;
    x.policy = j.at("policy").get<std::string>();
    x.semantics = c.semantics;
    x.seed = j.at("seed").get<std::uint64_t>();
    x.load = c.load;
    x.allocated_pct = j.at("allocated_pct").get<double>();
    x.final_pct = j.value("final_pct", x.allocated_pct);
    x.mechanism = j.value("mechanism", std::string("fractional"));
    x.mechanism_note = j.value("mechanism_note", std::string());
    x.blast_radius = j.value("blast_radius", 0.0);
    x.mig_served = j.value("mig_served", 0);
    x.mig_whole = j.value("mig_whole", 0);
    if (const auto t = j.find("throughput"); t != j.end() && t->is_object()) {
      auto num = [](const json& v) {
        return v.is_number() ? v.get<double>() : std::numeric_limits<double>::quiet_NaN();
      };
      x.job = t->value("job", std::string());
      x.throughput = num(t->value("mechanism", json()));
      x.throughput_ideal = num(t->value("no_interference", json()));
    }
    x.submitted = j.at("submitted").get<std::map<std::string, int>>();
    x.unscheduled = j.at("unscheduled").get<std::map<std::string, int>>();
    x.seconds = j.value("seconds", 0.0);
    for (const auto& p : j.at("curve")) {
      x.curve.push_back({p.at("requested_pct").get<int>(), p.at("allocated_pct").get<double>(),
                         p.at("frag_pct").get<double>()});
    }
    x.colo_gpu_weight = w;
    if (j.contains("bound_pct")) {
      x.bound_pct = j.at("bound_pct").get<double>();
    }
    r.inflate = std::move(x);
    r.replay.reset();
    return;
  }
  ReplayResult x;
  x.policy = j.at("policy").get<std::string>();
  x.seed = j.at("seed").get<std::uint64_t>();
  x.pods = j.at("pods").get<int>();
  x.scheduled = j.at("scheduled").get<int>();
  x.completed = j.at("completed").get<int>();
  x.never_scheduled = j.at("never_scheduled").get<int>();
  x.skipped = j.at("skipped").get<int>();
  x.delay_mean_s = j.at("delay_mean_s").get<double>();
  x.delay_p50_s = j.at("delay_p50_s").get<double>();
  x.delay_p99_s = j.at("delay_p99_s").get<double>();
  x.jct_mean_s = j.at("jct_mean_s").get<double>();
  x.jct_p99_s = j.at("jct_p99_s").get<double>();
  x.makespan_s = j.at("makespan_s").get<double>();
  x.seconds = j.value("seconds", 0.0);
  for (const auto& u : j.at("utilization")) {
    x.utilization.emplace_back(u.at(0).get<double>(), u.at(1).get<double>());
  }
  x.colo_gpu_weight = w;
  r.replay = std::move(x);
  r.inflate.reset();
}

}  // namespace colo::csim
