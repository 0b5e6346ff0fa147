#include "engine/profile.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <map>

#include "engine/backend_factory.hpp"
#include "store/store.hpp"

namespace colo {
namespace {

// Telemetry averaged into a profile: DCGM name -> (field, scale to a fraction).
struct MetricField {
  const char* name;
  std::optional<double> plan::Profile::* field;
  double scale;
};
const MetricField k_metric_fields[] = {
    {"DCGM_FI_DEV_GPU_UTIL", &plan::Profile::gpu_util, 0.01},
    {"DCGM_FI_PROF_SM_ACTIVE", &plan::Profile::sm_active, 1.0},
    {"DCGM_FI_PROF_SM_OCCUPANCY", &plan::Profile::sm_occupancy, 1.0},
    {"DCGM_FI_PROF_PIPE_TENSOR_ACTIVE", &plan::Profile::tensor_active, 1.0},
    {"DCGM_FI_PROF_DRAM_ACTIVE", &plan::Profile::dram_active, 1.0},
};

struct Mean {
  double sum = 0;
  int n = 0;
  void add(double v) {
    sum += v;
    ++n;
  }
  [[nodiscard]] std::optional<double> value() const {
    return n > 0 ? std::optional<double>(sum / n) : std::nullopt;
  }
};

DeviceInfo device_from_json(const std::string& gpu_json) {
  DeviceInfo d;
  try {
    const auto j = nlohmann::json::parse(gpu_json);
    if (j.is_array() && !j.empty()) {
      const auto& g = j.front();
      d.index = g.value("index", 0);
      d.name = g.value("name", std::string());
      d.memory_bytes = g.value("memory_bytes", std::uint64_t{0});
      d.sm_count = g.value("sm_count", 0);
      d.driver_version = g.value("driver", std::string());
      d.simulated = g.value("simulated", false);
    }
  } catch (const nlohmann::json::exception&) {
    d = DeviceInfo{};  // no device facts in the experiment: the caller's device stands
  }
  return d;
}

}  // namespace

Result<ExperimentSpec> profiling_spec(const ExperimentSpec& spec, const WorkloadSpec& w,
                                      const ProfileOptions& popts) {
  if (!spec.sweep.empty()) {
    return fail(ErrorCode::invalid_argument,
                fmt::format("{}: colo profile takes a spec without `sweep:` (a profile is of one "
                            "workload as it runs; write the point you want to profile)",
                            spec.source_path));
  }
  ExperimentSpec p = spec;
  p.name = ("profile-" + w.name).substr(0, k_max_experiment_name);
  p.workloads = {w};
  p.workloads[0].copies = {1};  // a group of one: the shared-mode runs of it alone
  p.groups.clear();
  p.solo_baseline = true;
  if (popts.repeat > 0) {
    p.repeat = popts.repeat;
    p.repeat_max = popts.repeat;
    p.repeat_ci = 0;
  }
  p.modes.clear();
  ModeSpec mps;
  mps.kind = ModeKind::mps;
  for (int t : popts.thread_percents) {
    if (t < 1 || t > 100) {
      return fail(ErrorCode::invalid_argument,
                  fmt::format("--shares: {} is not an MPS active-thread % in 1..100", t));
    }
    if (t < 100) {
      ModeSettings m;
      m.kind = ModeKind::mps;
      m.thread_percent.all = t;
      mps.expansions.push_back(m);
    }
  }
  if (!mps.expansions.empty()) {
    p.modes.push_back(mps);
  }
  if (!popts.green_sms.empty()) {
    ModeSpec green;
    green.kind = ModeKind::green;
    for (int n : popts.green_sms) {
      ModeSettings m;
      m.kind = ModeKind::green;
      m.sms.all = n;
      green.expansions.push_back(m);
    }
    p.modes.push_back(green);
  }
  // The profiling experiment is its own: a hash of its own settings, not the source spec's.
  p.source_text =
      fmt::format("{}\n# colo profile {}: key {}, MPS thread % {}, green SMs {}\n",
                  spec.source_text, w.name, plan::workload_key(w),
                  fmt::join(popts.thread_percents, ","), fmt::join(popts.green_sms, ","));
  return p;
}

Result<plan::Profile> extract_profile(Store& store, ExperimentId id, const WorkloadSpec& w,
                                      const DeviceInfo& device) {
  auto exp = store.experiment(id);
  if (!exp) {
    return fail(exp.error());
  }
  DeviceInfo d = device_from_json(exp->gpu_json);
  if (d.name.empty()) {
    d = device;
  }
  auto runs = store.runs(id);
  if (!runs) {
    return fail(runs.error());
  }
  plan::Profile p;
  p.workload = w.name;
  p.key = plan::workload_key(w);
  p.gpu_model = d.name;
  p.driver = d.driver_version;
  p.simulated = exp->simulated;
  p.device_sms = d.sm_count;
  p.device_memory_bytes = d.memory_bytes;
  p.experiment_id = id;
  p.created_at = exp->created_at;
  std::map<double, Mean> mps;
  std::map<double, Mean> green;
  std::map<std::string, Mean> metrics;
  Mean latency;
  Mean pcie;
  for (const auto& r : *runs) {
    if (r.status != RunStatus::done) {
      continue;
    }
    auto ws = store.workloads(r.id);
    if (!ws) {
      return fail(ws.error());
    }
    if (ws->size() != 1 || !ws->front().throughput || ws->front().exit_class != ExitClass::ok) {
      continue;
    }
    const auto& wr = ws->front();
    double share = 1.0;
    bool is_green = false;
    double warmup = 0;
    try {
      const auto sj = nlohmann::json::parse(r.settings_json);
      warmup = sj.at("warmup").value("duration_s", 0.0);
      const auto& c = sj.at("clients").at(0);
      if (c.contains("thread_percent")) {
        share = c["thread_percent"].get<double>() / 100.0;
      }
      if (c.contains("sms") && d.sm_count > 0) {
        share = c["sms"].get<double>() / d.sm_count;
        is_green = true;
      }
    } catch (const nlohmann::json::exception&) {
      continue;
    }
    (is_green ? green : mps)[share].add(*wr.throughput);
    if (r.mode_kind != "solo") {
      continue;
    }
    p.peak_mem_bytes = std::max(p.peak_mem_bytes, wr.peak_gpu_mem_bytes);
    auto samples = store.samples(r.id, warmup);
    if (!samples) {
      return fail(samples.error());
    }
    std::map<double, double> pcie_at;  // t -> tx + rx bytes/s
    for (const auto& s : *samples) {
      if (!s.gpu) {
        continue;
      }
      metrics[s.metric].add(s.value);
      if (s.metric == "DCGM_FI_PROF_PCIE_TX_BYTES" || s.metric == "DCGM_FI_PROF_PCIE_RX_BYTES") {
        pcie_at[s.t] += s.value;
      }
    }
    for (const auto& [t, v] : pcie_at) {
      pcie.add(v);
    }
    auto prog = store.progress(wr.id, warmup);
    if (prog) {
      for (const auto& row : *prog) {
        if (row.latency_ms) {
          latency.add(*row.latency_ms);
        }
      }
    }
  }
  if (!mps.contains(1.0)) {
    return fail(ErrorCode::invalid_argument,
                fmt::format("workload '{}' reported no throughput alone (experiment {}): colo "
                            "profile needs progress steps (docs/progress-protocol.md)",
                            w.name, id));
  }
  for (const auto& [s, m] : mps) {
    p.mps_curve.push_back({s, *m.value()});
  }
  for (const auto& [s, m] : green) {
    p.green_curve.push_back({s, *m.value()});
  }
  for (const auto& f : k_metric_fields) {
    if (auto it = metrics.find(f.name); it != metrics.end() && it->second.value()) {
      p.*(f.field) = *it->second.value() * f.scale;
    }
  }
  p.pcie_bytes_s = pcie.value();
  p.latency_ms = latency.value();
  return p;
}

Result<std::vector<plan::Profile>> stored_profiles(const std::string& results_dir) {
  std::vector<plan::Profile> out;
  const auto db = store_path(results_dir);
  if (!std::filesystem::exists(db)) {
    return out;
  }
  auto store = Store::open(db, OpenMode::read_only);
  if (!store) {
    return fail(store.error());
  }
  auto rows = store->profiles();
  if (!rows) {
    return fail(rows.error());
  }
  for (const auto& r : *rows) {
    try {
      auto p = plan::profile_from_json(nlohmann::json::parse(r.profile_json));
      if (!p) {
        return fail(p.error());
      }
      out.push_back(std::move(*p));
    } catch (const nlohmann::json::exception& e) {
      return fail(ErrorCode::store,
                  fmt::format("profile {} in '{}' is not JSON: {}", r.id, store->path(), e.what()));
    }
  }
  return out;
}

Result<std::vector<ProfileOutcome>> profile_workloads(const ExperimentSpec& spec,
                                                      const EngineOptions& opts,
                                                      const ProfileOptions& popts,
                                                      const std::string& only, const Clock& clock,
                                                      std::ostream& log) {
  const std::string which = opts.gpu.empty() ? spec.gpu_backend : opts.gpu;
  DeviceInfo device;
  {
    auto choice = make_backend(which, clock, opts.sim_topology);
    if (!choice) {
      return fail(choice.error());
    }
    auto devs = choice->backend->devices();
    if (!devs) {
      return fail(devs.error());
    }
    for (const auto& d : *devs) {
      if (d.index == spec.gpus.front()) {
        device = d;
      }
    }
  }
  auto stored = stored_profiles(opts.results_dir);
  if (!stored) {
    return fail(stored.error());
  }
  std::vector<ProfileOutcome> out;
  bool found = only.empty();
  for (const auto& w : spec.workloads) {
    if (!only.empty() && w.name != only) {
      continue;
    }
    found = true;
    const auto key = plan::workload_key(w);
    if (!popts.force) {
      auto it = std::find_if(stored->begin(), stored->end(), [&](const plan::Profile& p) {
        return p.key == key && p.gpu_model == device.name && p.driver == device.driver_version;
      });
      if (it != stored->end()) {
        log << fmt::format(
            "colo: profile of {} on {} (driver {}) is stored (experiment {}); "
            "reused (--force profiles again)\n",
            w.name, device.name, device.driver_version, it->experiment_id);
        out.push_back({*it, true});
        continue;
      }
    }
    auto pspec = profiling_spec(spec, w, popts);
    if (!pspec) {
      return fail(pspec.error());
    }
    log << fmt::format("colo: profiling {} alone on {}{} at MPS thread % {}{}\n", w.name,
                       device.name, device.simulated ? " (SIMULATED)" : "",
                       fmt::join(popts.thread_percents, ","),
                       popts.green_sms.empty()
                           ? std::string()
                           : fmt::format(" and green SMs {}", fmt::join(popts.green_sms, ",")));
    auto r = run_experiment(*pspec, opts, clock, log);
    if (!r) {
      return fail(r.error());
    }
    if (r->interrupted) {
      return fail(
          ErrorCode::interrupted,
          fmt::format("profiling {} was interrupted (experiment {} is stored)", w.name, r->id));
    }
    const auto db = store_path(opts.results_dir);
    auto locked = open_locked(db);
    if (!locked) {
      return fail(locked.error());
    }
    Store* store = &locked->store;
    auto p = extract_profile(*store, r->id, w, device);
    if (!p) {
      return fail(p.error());
    }
    ProfileRecord rec{0,
                      p->key,
                      p->workload,
                      p->gpu_model,
                      p->driver,
                      p->simulated,
                      p->created_at,
                      p->experiment_id,
                      plan::to_json(*p).dump()};
    COLO_TRY(store->put_profile(rec));
    out.push_back({std::move(*p), false});
  }
  if (!found) {
    return fail(ErrorCode::invalid_argument,
                fmt::format("{}: no workload named '{}'", spec.source_path, only));
  }
  return out;
}

}  // namespace colo
