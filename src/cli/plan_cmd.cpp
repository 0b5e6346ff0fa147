#include "cli/plan_cmd.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "cli/cli.hpp"
#include "cli/cli_common.hpp"
#include "cluster/plan_k8s.hpp"
#include "cluster/plan_slurm.hpp"
#include "core/clock.hpp"
#include "core/private_dir.hpp"
#include "core/run_plan.hpp"
#include "core/spec.hpp"
#include "core/units.hpp"
#include "engine/backend_factory.hpp"
#include "engine/engine.hpp"
#include "engine/profile.hpp"
#include "gpu/mig/mig_profiles.hpp"
#include "launch/interrupt.hpp"
#include "plan/emit.hpp"
#include "plan/jobs.hpp"
#include "plan/planner.hpp"
#include "store/store.hpp"

namespace colo {

struct PlanCli {
  CLI::App* profile = nullptr;
  CLI::App* plan = nullptr;
  CLI::App* run = nullptr;
  // profile
  std::string profile_spec;
  std::string workload;
  std::string shares = "10,20,30,50,70,100";
  std::string green_sms;
  bool force = false;
  int repeat = 0;
  bool show = false;
  std::string import_file;  // JSON array of profiles (profile --show --format json)
  std::string format = "text";
  std::string gpu;  // backend override (profile, plan)
  std::string sim_topology;
  // plan
  std::string jobs;
  std::string gpus;  // "0,1"
  std::string gpu_model;
  int count = 0;
  std::optional<double> max_slowdown;
  std::string output;  // plan JSON
  std::string emit;    // "spec"
  std::string emit_dir = ".";
  std::string right_size;
  std::string within = "10%";
  bool with_rules = false;
  bool with_all = false;
  bool recheck = false;
  // run --plan
  std::string run_plan;
};

void PlanCliDeleter::operator()(PlanCli* p) const {
  delete p;  // NOLINT(cppcoreguidelines-owning-memory): the unique_ptr's deleter
}

namespace {

constexpr double k_gib = 1024.0 * 1024 * 1024;

Error input_error(std::string message) {
  return Error{ErrorCode::invalid_argument, std::move(message), {}};
}

Result<std::vector<int>> int_list(const std::string& text, const std::string& flag) {
  std::vector<int> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) {
      continue;
    }
    try {
      std::size_t used = 0;
      const int v = std::stoi(item, &used);
      if (used != item.size()) {
        throw std::invalid_argument(item);
      }
      out.push_back(v);
    } catch (const std::exception&) {
      return fail(ErrorCode::invalid_argument,
                  fmt::format("{}: '{}' is not an integer (a comma-separated list)", flag, item));
    }
  }
  return out;
}

Result<std::string> read_text(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return fail(ErrorCode::not_found, fmt::format("cannot read '{}'", path));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

EngineOptions engine_options(const PlanCli& c, const EngineOptions& base) {
  EngineOptions o = base;
  if (!c.gpu.empty()) {
    o.gpu = c.gpu;
  }
  if (!c.sim_topology.empty()) {
    o.sim_topology = c.sim_topology;
  }
  return o;
}

std::string curve_text(const std::vector<plan::SharePoint>& curve) {
  std::string out;
  const double solo = curve.empty() ? 0 : curve.back().throughput;
  for (const auto& p : curve) {
    out += fmt::format("{}{:.0f}%:{:.2f}", out.empty() ? "" : " ", p.share * 100,
                       solo > 0 ? p.throughput / solo : 0);
  }
  return out;
}

std::string opt_text(const std::optional<double>& v) {
  return v ? fmt::format("{:.3f}", *v) : "-";
}

std::string render_profiles(const std::vector<plan::Profile>& ps) {
  std::string out;
  bool any_sim = false;
  for (const auto& p : ps) {
    any_sim = any_sim || p.simulated;
    out += fmt::format(
        "{} on {}{} (driver {}), key {}, experiment {}\n"
        "  solo {:.4g} samples/s, peak GPU memory {:.2f} GiB, GPU util {}, SM active {}, SM "
        "occupancy {}, tensor {}, DRAM {}{}{}\n  MPS share curve (speed vs solo): {}\n",
        p.workload, p.gpu_model, p.simulated ? " SIMULATED" : "", p.driver, p.key, p.experiment_id,
        p.solo_throughput(), p.peak_mem_bytes / k_gib, opt_text(p.gpu_util), opt_text(p.sm_active),
        opt_text(p.sm_occupancy), opt_text(p.tensor_active), opt_text(p.dram_active),
        p.pcie_bytes_s ? fmt::format(", PCIe {:.3g} B/s", *p.pcie_bytes_s) : "",
        p.latency_ms ? fmt::format(", step latency {:.3g} ms", *p.latency_ms) : "",
        curve_text(p.mps_curve));
    if (p.supports_green()) {
      out += fmt::format("  green SM curve (speed vs solo): {}\n", curve_text(p.green_curve));
    }
  }
  if (ps.empty()) {
    out += "no profiles stored; colo profile SPEC measures them\n";
  }
  if (any_sim) {
    out += "SIMULATED: profiles marked SIMULATED come from the simulated GPU (modelled)\n";
  }
  return out;
}

std::string profiles_json(const std::vector<plan::Profile>& ps) {
  auto j = nlohmann::json::array();
  for (const auto& p : ps) {
    j.push_back(plan::to_json(p));
  }
  return j.dump(2) + "\n";
}

// `colo profile --import FILE`: stores profiles exported by `colo profile --show --format json`
// (another store, another machine), replacing those of the same workload, GPU model and driver.
int cmd_profile_import(const PlanCli& c, const EngineOptions& base, std::ostream& out,
                       std::ostream& err) {
  auto text = read_text(c.import_file);
  if (!text) {
    return report_error(err, text.error());
  }
  std::vector<plan::Profile> ps;
  try {
    const auto j = nlohmann::json::parse(*text);
    if (!j.is_array()) {
      return report_error(
          err, input_error(c.import_file + ": not a profile list (colo profile --show --format "
                                           "json writes one)"));
    }
    for (const auto& pj : j) {
      auto p = plan::profile_from_json(pj);
      if (!p) {
        return report_error(err, input_error(c.import_file + ": " + p.error().message));
      }
      ps.push_back(std::move(*p));
    }
  } catch (const nlohmann::json::exception& e) {
    return report_error(err, input_error(c.import_file + ": not JSON: " + e.what()));
  }
  if (auto ok = create_private_dir(base.results_dir, ExistingDir::keep_mode); !ok) {
    return report_error(err, ok.error());
  }
  const auto db = store_path(base.results_dir);
  auto locked = open_locked(db);
  if (!locked) {
    return report_error(err, locked.error());
  }
  Store* store = &locked->store;
  for (const auto& p : ps) {
    const ProfileRecord rec{0,
                            p.key,
                            p.workload,
                            p.gpu_model,
                            p.driver,
                            p.simulated,
                            p.created_at,
                            p.experiment_id,
                            plan::to_json(p).dump()};
    if (auto ok = store->put_profile(rec); !ok) {
      return report_error(err, ok.error());
    }
  }
  out << fmt::format("colo: imported {} profile(s) from {}\n", ps.size(), c.import_file);
  return 0;
}

int cmd_profile(const PlanCli& c, const EngineOptions& base, std::ostream& out, std::ostream& err) {
  if (!c.import_file.empty()) {
    return cmd_profile_import(c, base, out, err);
  }
  if (c.show) {
    auto ps = stored_profiles(base.results_dir);
    if (!ps) {
      return report_error(err, ps.error());
    }
    out << (c.format == "json" ? profiles_json(*ps) : render_profiles(*ps));
    return 0;
  }
  if (c.profile_spec.empty()) {
    return report_error(err, input_error("colo profile needs a spec (SPEC.yaml), or --show"));
  }
  auto spec = load_spec(c.profile_spec);
  if (!spec) {
    return report_error(err, spec.error());
  }
  ProfileOptions po;
  auto shares = int_list(c.shares, "--shares");
  if (!shares) {
    return report_error(err, shares.error());
  }
  po.thread_percents = *shares;
  if (std::find(po.thread_percents.begin(), po.thread_percents.end(), 100) ==
      po.thread_percents.end()) {
    po.thread_percents.push_back(100);  // the solo run is always part of a profile
  }
  auto green = int_list(c.green_sms, "--green-sms");
  if (!green) {
    return report_error(err, green.error());
  }
  po.green_sms = *green;
  po.force = c.force;
  po.repeat = c.repeat;
  Interrupt::install();
  SteadyClock clock;
  auto r = profile_workloads(*spec, engine_options(c, base), po, c.workload, clock, err);
  if (!r) {
    return report_error(err, r.error());
  }
  std::vector<plan::Profile> ps;
  for (const auto& o : *r) {
    ps.push_back(o.profile);
  }
  out << (c.format == "json" ? profiles_json(ps) : render_profiles(ps));
  return 0;
}

// The GPUs to plan onto: the backend's (--gpus, default all) or --gpu-model/--count, whose
// memory and SMs come from the profiles measured on that model.
Result<std::vector<plan::GpuSlot>> plan_gpus(const PlanCli& c, const EngineOptions& opts,
                                             const std::vector<plan::Profile>& profiles,
                                             std::string& driver) {
  std::vector<plan::GpuSlot> slots;
  if (!c.gpu_model.empty()) {
    if (!c.gpus.empty()) {
      return fail(ErrorCode::invalid_argument, "--gpus and --gpu-model exclude each other");
    }
    if (c.count < 1) {
      return fail(ErrorCode::invalid_argument, "--gpu-model needs --count N (N >= 1)");
    }
    auto lower = [](std::string s) {
      std::transform(s.begin(), s.end(), s.begin(),
                     [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
      return s;
    };
    const plan::Profile* ref = nullptr;
    std::set<std::string> models;
    for (const auto& p : profiles) {
      models.insert(p.gpu_model);
      if (lower(p.gpu_model).find(lower(c.gpu_model)) != std::string::npos &&
          (!ref || p.created_at > ref->created_at)) {
        ref = &p;
      }
    }
    if (!ref) {
      const bool known = mig_model_for(c.gpu_model) != nullptr ||
                         mig_model_for("NVIDIA " + c.gpu_model) != nullptr;
      std::string names;
      for (const auto& m : mig_models()) {
        names += (names.empty() ? "" : ", ") + m.model;
      }
      return fail(ErrorCode::invalid_argument,
                  known ? fmt::format("no profile was measured on a '{}' (profiles are of: {}); "
                                      "run colo profile on that GPU first",
                                      c.gpu_model,
                                      models.empty() ? std::string("none")
                                                     : fmt::format("{}", fmt::join(models, ", ")))
                        : fmt::format("unknown GPU model '{}': no profile was measured on it and "
                                      "colo has no table of it (known: {})",
                                      c.gpu_model, names));
    }
    driver = ref->driver;
    for (int i = 0; i < c.count; ++i) {
      plan::GpuSlot s;
      s.index = i;
      s.model = ref->gpu_model;
      s.memory_bytes = ref->device_memory_bytes;
      s.sms = ref->device_sms;
      s.mig_table = mig_profiles_for(ref->gpu_model).value_or(std::vector<MigProfile>{});
      slots.push_back(std::move(s));
    }
    return slots;
  }
  SteadyClock clock;
  auto choice = make_backend(opts.gpu.empty() ? "auto" : opts.gpu, clock, opts.sim_topology);
  if (!choice) {
    return fail(choice.error());
  }
  auto devs = choice->backend->devices();
  if (!devs) {
    return fail(devs.error());
  }
  std::vector<int> wanted;
  if (!c.gpus.empty()) {
    auto l = int_list(c.gpus, "--gpus");
    if (!l) {
      return fail(l.error());
    }
    wanted = *l;
  } else {
    for (const auto& d : *devs) {
      wanted.push_back(d.index);
    }
  }
  for (int w : wanted) {
    auto it = std::find_if(devs->begin(), devs->end(), [&](const auto& d) { return d.index == w; });
    if (it == devs->end()) {
      return fail(ErrorCode::not_found, fmt::format("--gpus: GPU {} does not exist ({} has {})", w,
                                                    choice->backend->name(), devs->size()));
    }
    if (!slots.empty() && slots.front().model != it->name) {
      return fail(ErrorCode::invalid_argument,
                  fmt::format("--gpus: GPU {} is a {}, GPU {} a {}: plan GPUs of one model at a "
                              "time",
                              slots.front().index, slots.front().model, w, it->name));
    }
    plan::GpuSlot s;
    s.index = w;
    s.model = it->name;
    s.memory_bytes = it->memory_bytes;
    s.sms = it->sm_count;
    s.mig_enabled = it->mig_mode == "enabled";
    s.mig_table = mig_profiles_for(it->name).value_or(std::vector<MigProfile>{});
    driver = it->driver_version;
    slots.push_back(std::move(s));
  }
  return slots;
}

struct LoadedPlanInput {
  plan::JobsFile jobs;
  ExperimentSpec spec;
  std::vector<plan::PlanJob> plan_jobs;
  std::vector<plan::GpuSlot> gpus;
};

Result<LoadedPlanInput> load_plan_input(const PlanCli& c, const EngineOptions& opts) {
  LoadedPlanInput in;
  auto text = read_text(c.jobs);
  if (!text) {
    return fail(text.error());
  }
  std::error_code ec;
  const auto base = std::filesystem::absolute(c.jobs, ec).parent_path().string();
  auto jf = plan::parse_jobs(*text, c.jobs, base);
  if (!jf) {
    return fail(jf.error());
  }
  in.jobs = std::move(*jf);
  auto spec = load_spec(in.jobs.spec);
  if (!spec) {
    return fail(spec.error());
  }
  in.spec = std::move(*spec);
  auto profiles = stored_profiles(opts.results_dir);
  if (!profiles) {
    return fail(profiles.error());
  }
  std::string driver;
  auto gpus = plan_gpus(c, opts, *profiles, driver);
  if (!gpus) {
    return fail(gpus.error());
  }
  in.gpus = std::move(*gpus);
  const auto& model = in.gpus.front().model;
  const bool any_driver = !c.gpu_model.empty();
  for (const auto& j : in.jobs.jobs) {
    const auto* w = in.spec.find_workload(j.workload);
    if (!w) {
      return fail(ErrorCode::invalid_argument,
                  fmt::format("{}:{}: job '{}': workload '{}' is not in {}", in.jobs.path, j.line,
                              j.name, j.workload, in.jobs.spec));
    }
    const auto key = plan::workload_key(*w);
    const plan::Profile* match = nullptr;
    const plan::Profile* other = nullptr;
    for (const auto& p : *profiles) {
      if (p.key != key) {
        continue;
      }
      if (p.gpu_model == model && (any_driver || p.driver == driver)) {
        match = &p;
      } else {
        other = &p;
      }
    }
    if (!match) {
      const std::string how = fmt::format("colo profile {} --workload {}{}", in.jobs.spec,
                                          j.workload, other ? " --force" : "");
      return fail(ErrorCode::invalid_argument,
                  other ? fmt::format("job '{}': the profile of workload '{}' is stale: measured "
                                      "on {} (driver {}), the GPUs are {} (driver {}); profile it "
                                      "again there: {}",
                                      j.name, j.workload, other->gpu_model, other->driver, model,
                                      driver, how)
                        : fmt::format("job '{}': workload '{}' has no profile on {} (driver {}); "
                                      "profile it first: {}",
                                      j.name, j.workload, model, driver, how));
    }
    in.plan_jobs.push_back({j, *match});
  }
  return in;
}

Result<double> parse_within(const std::string& text) {
  std::string t = text;
  const bool pct = !t.empty() && t.back() == '%';
  if (pct) {
    t.pop_back();
  }
  try {
    std::size_t used = 0;
    double v = std::stod(t, &used);
    if (used != t.size()) {
      throw std::invalid_argument(t);
    }
    v = pct || v >= 1 ? v / 100 : v;
    if (v <= 0 || v >= 1) {
      throw std::out_of_range(t);
    }
    return v;
  } catch (const std::exception&) {
    return fail(ErrorCode::invalid_argument,
                fmt::format("--within '{}': a share of the solo speed, e.g. 10%", text));
  }
}

// The command of every workload of the workloads spec, as emitted jobs run it (builtins
// resolved to colo's binaries, cwd absolute).
std::map<std::string, cluster::JobCommand> job_commands(const ExperimentSpec& spec) {
  std::map<std::string, cluster::JobCommand> commands;
  const auto paths = colo_paths();
  for (const auto& w : spec.workloads) {
    cluster::JobCommand cmd;
    if (!w.builtin.empty()) {
      cmd.argv = builtin_command(paths.workload_dir, w.builtin);
      for (const auto& [k, v] : w.args) {
        cmd.argv.push_back("--" + k);
        cmd.argv.push_back(v);
      }
    } else {
      cmd.argv = w.cmd;
    }
    cmd.env = w.env;
    cmd.cwd = w.cwd.empty()
                  ? spec.source_dir
                  : (std::filesystem::path(spec.source_dir) / w.cwd).lexically_normal().string();
    commands[w.name] = std::move(cmd);
  }
  return commands;
}

// `--emit slurm|k8s|kuberay` (cluster/plan_slurm, cluster/plan_k8s): writes the files into
// `dir` and names each on `err`.
int emit_cluster_files(const std::string& what, const plan::Plan& p, const ExperimentSpec& spec,
                       const std::string& prefix, const std::string& dir, std::ostream& err) {
  std::vector<std::pair<std::string, std::string>> files;  // name, text
  std::vector<std::string> notes;
  if (what == "slurm") {
    cluster::PlanSlurmOptions opts;
    opts.prefix = prefix;
    for (auto& s : cluster::emit_slurm(p, job_commands(spec), opts)) {
      files.emplace_back(s.file, std::move(s.text));
      notes.push_back(" (--gres=" + s.gres + ")");
    }
  } else {
    cluster::K8sOptions opts;
    opts.prefix = prefix;
    auto emitted = what == "k8s" ? cluster::emit_k8s(p, job_commands(spec), opts)
                                 : cluster::emit_kuberay(p, opts,
                                                         "python -c 'import ray; ray.init(); "
                                                         "print(ray.cluster_resources())'");
    for (auto& f : emitted) {
      files.emplace_back(f.file, std::move(f.text));
      notes.emplace_back();
    }
  }
  for (std::size_t i = 0; i < files.size(); ++i) {
    const auto path = (std::filesystem::path(dir) / files[i].first).string();
    if (auto ok = write_file_atomically(path, files[i].second); !ok) {
      return report_error(err, ok.error());
    }
    err << fmt::format("colo: wrote {}{}\n", path, notes[i]);
  }
  return 0;
}

int cmd_plan(const PlanCli& c, const EngineOptions& base, std::ostream& out, std::ostream& err) {
  const auto opts = engine_options(c, base);
  auto in = load_plan_input(c, opts);
  if (!in) {
    return report_error(err, in.error());
  }
  if (!c.right_size.empty()) {
    auto within = parse_within(c.within);
    if (!within) {
      return report_error(err, within.error());
    }
    auto it = std::find_if(in->plan_jobs.begin(), in->plan_jobs.end(),
                           [&](const auto& j) { return j.job.name == c.right_size; });
    if (it == in->plan_jobs.end()) {
      return report_error(
          err, input_error(fmt::format("--right-size: no job '{}' in {}", c.right_size, c.jobs)));
    }
    const auto r = plan::right_size(*it, in->gpus.front(), *within);
    if (c.format == "json") {
      out << plan::to_json(r).dump(2) << "\n";
    } else {
      out << (it->profile.simulated ? "SIMULATED profile: modelled, not measured\n" : "")
          << plan::render_text(r);
    }
    return 0;
  }
  plan::PlanOptions po;
  po.max_slowdown = c.max_slowdown ? c.max_slowdown : in->jobs.max_slowdown;
  auto p = plan::make_plan(in->plan_jobs, in->gpus, po);
  if (!p) {
    return report_error(err, p.error());
  }
  const auto prefix = std::filesystem::path(c.jobs).stem().string();
  auto specs = plan::emit_specs(*p, in->spec.source_text, in->spec.source_dir, prefix,
                                c.with_all     ? plan::EmitRules::all
                                : c.with_rules ? plan::EmitRules::yes
                                               : plan::EmitRules::no);
  if (!specs) {
    return report_error(err, specs.error());
  }
  auto j = plan::to_json(*p);
  j["jobs_file"] = c.jobs;
  j["workloads_spec"] = in->jobs.spec;
  j["specs"] = nlohmann::json::array();
  for (const auto& s : *specs) {
    j["specs"].push_back(
        {{"gpu", s.gpu}, {"name", s.name}, {"yaml", s.yaml}, {"candidates", s.candidates}});
  }
  if (!c.output.empty()) {
    if (auto ok = write_file_atomically(c.output, j.dump(2) + "\n"); !ok) {
      return report_error(err, ok.error());
    }
    err << fmt::format("colo: wrote {} (colo run --plan {} carries it out)\n", c.output, c.output);
  }
  if (c.emit == "spec") {
    for (const auto& s : *specs) {
      const auto path = (std::filesystem::path(c.emit_dir) / (s.name + ".yaml")).string();
      if (auto ok = write_file_atomically(path, s.yaml); !ok) {
        return report_error(err, ok.error());
      }
      err << fmt::format("colo: wrote {}\n", path);
    }
  }
  if (c.emit == "slurm" || c.emit == "k8s" || c.emit == "kuberay") {
    if (const int rc = emit_cluster_files(c.emit, *p, in->spec, prefix, c.emit_dir, err); rc != 0) {
      return rc;
    }
  }
  out << (c.format == "json" ? j.dump(2) + "\n" : plan::render_text(*p));
  return 0;
}

// Mean throughput of `job` over the done runs of `data` whose mode label is `mode` ("solo":
// its solo baselines).
std::optional<double> mean_rate(const std::vector<RunData>& data, const std::string& job,
                                const std::string& mode) {
  double sum = 0;
  int n = 0;
  for (const auto& rd : data) {
    if (rd.run.status != RunStatus::done ||
        (mode == "solo" ? rd.run.mode_kind != "solo" : rd.run.mode != mode)) {
      continue;
    }
    for (const auto& w : rd.workloads) {
      if (w.name == job && w.throughput) {
        sum += *w.throughput;
        ++n;
      }
    }
  }
  return n > 0 ? std::optional<double>(sum / n) : std::nullopt;
}

// One candidate configuration of a group as predicted and as measured.
struct Checked {
  std::string who;  // "plan", a rule, or both
  std::string mode;
  std::vector<std::pair<double, std::optional<double>>> speeds;  // per job: predicted, measured
  double predicted = 0;
  std::optional<double> measured;
  double max_slowdown = 0;  // measured
};

std::string pct(double pred, double meas) {
  return meas > 0 ? fmt::format("{:+.1f}%", 100 * (pred - meas) / meas) : "-";
}

// Runs the group's spec and checks every candidate it holds against the plan's predictions.
Result<std::vector<Checked>> check_group(const plan::GroupPlan& g, const ExperimentSpec& spec,
                                         const std::vector<std::string>& candidates,
                                         const std::vector<RunData>& data) {
  std::vector<Checked> out;
  const auto n = static_cast<double>(g.jobs.size());
  auto measure = [&](Checked& c, const std::vector<plan::JobPlacement>& jobs, bool alone) {
    bool complete = true;
    double sum = 0;
    for (const auto& jp : jobs) {
      const auto solo = mean_rate(data, jp.job, "solo");
      std::optional<double> speed;
      if (alone) {
        speed = solo ? std::optional<double>(g.jobs.size() > 1 ? 1.0 / n : 1.0) : std::nullopt;
      } else if (auto shared = mean_rate(data, jp.job, c.mode); shared && solo && *solo > 0) {
        speed = *shared / *solo;
      }
      c.speeds.emplace_back(jp.speed, speed);
      c.predicted += jp.speed;
      complete = complete && speed.has_value();
      sum += speed.value_or(0);
      if (speed && !alone && *speed > 0) {
        c.max_slowdown = std::max(c.max_slowdown, 1.0 / *speed);
      }
    }
    if (complete) {
      c.measured = sum;
    }
    if (alone) {
      c.max_slowdown = 1.0;
    }
  };
  const bool alone =
      g.mechanism == plan::Mechanism::sequential || g.mechanism == plan::Mechanism::solo;
  if (alone) {
    Checked c;
    c.who = g.mechanism == plan::Mechanism::solo ? "plan (alone)" : "plan (one at a time)";
    c.mode = "-";
    measure(c, g.jobs, true);
    out.push_back(std::move(c));
  }
  for (std::size_t i = 0; i < spec.modes.size() && i < candidates.size(); ++i) {
    if (alone && candidates[i] == "plan") {
      continue;  // the plan's own mode is no shared run
    }
    Checked c;
    c.who = candidates[i];
    c.mode = spec.modes[i].expansions.front().label();
    const std::vector<plan::JobPlacement>* jobs = &g.jobs;
    if (candidates[i].rfind("plan", 0) != 0) {
      for (const auto* list : {&g.alternatives, &g.others}) {
        for (const auto& a : *list) {
          if (candidates[i].rfind(a.rule, 0) == 0) {
            jobs = &a.jobs;
          }
        }
      }
    }
    measure(c, *jobs, false);
    out.push_back(std::move(c));
  }
  return out;
}

// `colo run --plan P --recheck`: each spec's latest finished experiment of the same name in the
// store, in place of running it. Errors (invalid_argument): a spec never run there.
Result<std::vector<Result<EngineResult>>> stored_results(const std::vector<ExperimentSpec>& specs,
                                                         const std::string& results_dir) {
  auto store = Store::open(store_path(results_dir), OpenMode::read_only);
  if (!store) {
    return tl::unexpected(store.error());
  }
  auto all = store->experiments();
  if (!all) {
    return tl::unexpected(all.error());
  }
  std::vector<Result<EngineResult>> out;
  for (const auto& spec : specs) {
    const ExperimentRecord* found = nullptr;
    for (const auto& e : *all) {
      if (e.name == spec.name && e.status == "done" && (!found || e.id > found->id)) {
        found = &e;
      }
    }
    if (!found) {
      return fail(ErrorCode::invalid_argument,
                  fmt::format("--recheck: no finished experiment '{}' in {}", spec.name,
                              store_path(results_dir)));
    }
    EngineResult r;
    r.id = found->id;
    r.summary.simulated = found->simulated;
    out.emplace_back(std::move(r));
  }
  return out;
}

int cmd_run_plan(const PlanCli& c, const EngineOptions& base, std::ostream& out,
                 std::ostream& err) {
  auto text = read_text(c.run_plan);
  if (!text) {
    return report_error(err, text.error());
  }
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(*text);
  } catch (const nlohmann::json::exception& e) {
    return report_error(
        err, input_error(fmt::format("{}: not a plan (JSON): {}", c.run_plan, e.what())));
  }
  auto plan = plan::plan_from_json(j);
  if (!plan || !j.contains("specs")) {
    return report_error(
        err, input_error(fmt::format("{}: not a plan written by colo plan -o: {}", c.run_plan,
                                     plan ? "no specs" : plan.error().what())));
  }
  Interrupt::install();
  SteadyClock clock;
  std::string table;
  nlohmann::json check = nlohmann::json::array();
  double pred_total = 0;
  double meas_total = 0;
  double oracle_total = 0;  // the best measured candidate of each GPU, summed
  bool simulated = false;
  int failed = 0;
  const double bound = plan->max_slowdown.value_or(1e300);
  // Every GPU's spec first (validated, memory checked), then all of them at once: the groups of
  // different GPUs run concurrently (run_experiments).
  std::vector<ExperimentSpec> specs;
  std::vector<const nlohmann::json*> spec_json;
  std::vector<const plan::GroupPlan*> groups;
  for (const auto& sj : j["specs"]) {
    const int gpu = sj.at("gpu").get<int>();
    const auto group = std::find_if(plan->groups.begin(), plan->groups.end(),
                                    [&](const auto& g) { return g.gpu == gpu; });
    if (group == plan->groups.end()) {
      continue;
    }
    auto spec = parse_spec(sj.at("yaml").get<std::string>(),
                           fmt::format("{}#{}", c.run_plan, sj.at("name").get<std::string>()));
    if (!spec) {
      return report_error(err, spec.error());
    }
    if (const int rc = check_run_memory(*spec, base, err); rc != 0) {
      return rc;
    }
    specs.push_back(std::move(*spec));
    spec_json.push_back(&sj);
    groups.push_back(&*group);
  }
  if (specs.empty()) {
    return report_error(
        err, input_error(fmt::format("{}: the plan has no GPU groups to run", c.run_plan)));
  }
  const auto t0 = clock.now();
  auto results = c.recheck ? stored_results(specs, base.results_dir)
                           : run_experiments(specs, base, clock, err);
  if (!results) {
    return report_error(err, results.error());
  }
  const double wall_s = to_seconds(clock.now() - t0);
  for (std::size_t k = 0; k < results->size(); ++k) {
    const auto& sj = *spec_json[k];
    const auto* spec = &specs[k];
    const auto group = groups[k];
    const int gpu = group->gpu;
    auto& r = (*results)[k];
    if (!r) {
      return report_error(err, r.error());
    }
    if (r->interrupted) {
      err << "colo: interrupted; finished runs are stored\n";
      return 130;
    }
    failed += r->failed_workloads;
    auto store = Store::open(store_path(base.results_dir), OpenMode::read_only);
    if (!store) {
      return report_error(err, store.error());
    }
    auto data = load_run_data(*store, r->id);
    if (!data) {
      return report_error(err, data.error());
    }
    simulated = simulated || r->summary.simulated;
    std::vector<std::string> candidates;
    for (const auto& cj : sj.value("candidates", nlohmann::json::array())) {
      candidates.push_back(cj.get<std::string>());
    }
    if (candidates.empty()) {
      candidates.emplace_back("plan");
    }
    auto checked = check_group(*group, *spec, candidates, *data);
    if (!checked) {
      return report_error(err, checked.error());
    }
    table +=
        fmt::format("\nGPU {} ({}, experiment {}): plan {}\n  {:<44} {:>9} {:>9} {:>8} {:>9}\n",
                    gpu, spec->name, r->id, plan::to_string(group->mechanism), "candidate",
                    "predicted", "measured", "error", "slowdown");
    const Checked* oracle = nullptr;
    const Checked* chosen = nullptr;
    for (const auto& ck : *checked) {
      table += fmt::format("  {:<44} {:>9.3f} {:>9} {:>8} {:>8.2f}x\n",
                           fmt::format("{} [{}]", ck.who, ck.mode), ck.predicted,
                           ck.measured ? fmt::format("{:.3f}", *ck.measured) : "-",
                           ck.measured ? pct(ck.predicted, *ck.measured) : "-", ck.max_slowdown);
      if (ck.measured && ck.max_slowdown <= bound &&
          (!oracle || *ck.measured > *oracle->measured)) {
        oracle = &ck;
      }
      if (ck.who.rfind("plan", 0) == 0) {
        chosen = &ck;
      }
      nlohmann::json cj{{"gpu", gpu},
                        {"experiment", r->id},
                        {"candidate", ck.who},
                        {"mode", ck.mode},
                        {"predicted", ck.predicted},
                        {"measured", ck.measured ? nlohmann::json(*ck.measured) : nlohmann::json()},
                        {"max_slowdown", ck.max_slowdown}};
      check.push_back(cj);
    }
    if (chosen) {
      pred_total += chosen->predicted;
      meas_total += chosen->measured.value_or(0);
      for (std::size_t i = 0; i < group->jobs.size() && i < chosen->speeds.size(); ++i) {
        const auto& [p, m] = chosen->speeds[i];
        table += fmt::format("    {:<42} {:>9.3f} {:>9} {:>8}\n", "plan: " + group->jobs[i].job, p,
                             m ? fmt::format("{:.3f}", *m) : "-", m ? pct(p, *m) : "-");
      }
    }
    if (oracle && chosen && chosen->measured && *oracle->measured > 0) {
      table += fmt::format(
          "  oracle (best measured{}): {} {:.3f}; the plan's choice reaches {:.1f}% of it\n",
          plan->max_slowdown ? fmt::format(" within slowdown {:g}x", bound) : "", oracle->who,
          *oracle->measured, 100 * *chosen->measured / *oracle->measured);
      oracle_total += *oracle->measured;
    }
  }
  out << fmt::format(
             "\nPlan {}: predicted vs measured aggregate normalized throughput (sum of "
             "collocated rate / solo rate){}\n",
             c.run_plan, simulated ? " -- SIMULATED GPU: modelled, not measured" : "")
      << table
      << fmt::format("\ntotal of the plan's choices: predicted {:.3f}, measured {:.3f}{}\n",
                     pred_total, meas_total,
                     meas_total > 0 ? " (" + pct(pred_total, meas_total) + ")" : "")
      << (specs.size() > 1 && oracle_total > 0
              ? fmt::format("oracle over all GPUs (each GPU's best measured candidate): {:.3f}; "
                            "the plan's choices reach {:.1f}% of it\n",
                            oracle_total, 100 * meas_total / oracle_total)
              : std::string())
      << (c.recheck
              ? fmt::format("{} GPU group(s) checked against their stored runs (--recheck: "
                            "nothing was run)\n",
                            specs.size())
              : fmt::format("{} GPU group(s) in {:.1f} s{}\n", specs.size(), wall_s,
                            specs.size() > 1 && results->size() == specs.size()
                                ? " (the GPUs' experiments ran at the same time when their GPUs "
                                  "differ)"
                                : ""));
  auto check_path = std::filesystem::path(c.run_plan);
  check_path.replace_extension(".check.json");
  const nlohmann::json doc{{"plan", c.run_plan},
                           {"simulated", simulated},
                           {"rows", check},
                           {"predicted_total", pred_total},
                           {"measured_total", meas_total},
                           {"oracle_total", oracle_total},
                           {"wall_s", wall_s},
                           {"rechecked", c.recheck}};
  if (auto ok = write_file_atomically(check_path.string(), doc.dump(2) + "\n"); ok) {
    err << fmt::format("colo: wrote {} (the table as JSON)\n", check_path.string());
  }
  return failed > 0 ? k_exit_workloads_failed : 0;
}

}  // namespace

PlanCliPtr register_plan_commands(CLI::App& app, CLI::App& run) {
  PlanCliPtr c(new PlanCli);  // NOLINT(cppcoreguidelines-owning-memory)
  auto* p = app.add_subcommand(
      "profile", "Measure workloads alone at several SM shares and store their profiles");
  c->profile = p;
  p->add_option("spec", c->profile_spec, "Experiment spec whose workloads to profile");
  p->add_option("--workload", c->workload, "Only this workload of the spec");
  p->add_option("--shares", c->shares, "MPS active-thread % list (default 10,20,30,50,70,100)");
  p->add_option("--green-sms", c->green_sms,
                "Green-context SM counts too, for workloads that support them (e.g. 16,32,66)");
  p->add_flag("--force", c->force, "Profile again even when a stored profile matches");
  p->add_option("--repeat", c->repeat, "Repetitions of each share (default: the spec's)")
      ->check(CLI::Range(1, 100));
  p->add_flag("--show", c->show, "List the stored profiles");
  p->add_option("--import", c->import_file,
                "Store the profiles of a JSON list (colo profile --show --format json)");
  p->add_option("--format", c->format, "text (default) or json")
      ->check(CLI::IsMember({"text", "json"}));
  p->add_option("--gpu", c->gpu, "GPU backend: auto, sim or nvml (default: the spec's)")
      ->check(CLI::IsMember({"auto", "sim", "nvml"}));
  p->add_option("--sim-topology", c->sim_topology, "Topology file for the simulated GPU");

  auto* q = app.add_subcommand(
      "plan", "Decide which jobs share which GPU, by which mechanism and partition (docs/plan.md)");
  c->plan = q;
  q->add_option("jobs", c->jobs, "Jobs file (JOBS.yaml)")->required();
  q->add_option("--gpus", c->gpus, "GPU indices of the backend, e.g. 0,1 (default: all)");
  q->add_option("--gpu-model", c->gpu_model, "Plan for GPUs of this model (e.g. H200) instead");
  q->add_option("--count", c->count, "With --gpu-model: how many GPUs")->check(CLI::Range(1, 4096));
  q->add_option("--max-slowdown", c->max_slowdown,
                "Per-job slowdown bound (solo/shared rate) unless a job sets its own")
      ->check(CLI::Range(1.0, 1e6));
  q->add_option("-o,--output", c->output, "Write the plan as JSON (for colo run --plan)");
  q->add_option("--emit", c->emit,
                "spec: the colo run spec of each GPU group; slurm: an sbatch script per job "
                "asking for its share (docs/slurm.md); k8s: device-plugin sharing and "
                "mig-parted configs and pods; kuberay: a RayCluster and RayJob with fractional "
                "num-gpus (docs/kubernetes.md)")
      ->check(CLI::IsMember({"spec", "slurm", "k8s", "kuberay"}));
  q->add_option("--emit-dir", c->emit_dir, "Directory of --emit spec files (default .)");
  q->add_flag("--with-rules", c->with_rules,
              "Emitted specs also run the simple rules (always time-slice, always uncapped MPS, "
              "equal MPS caps) for colo run --plan to compare");
  q->add_flag("--with-all", c->with_all,
              "Emitted specs run every candidate scored (the rules, knee-proportional MPS caps, "
              "green and MIG(-equivalent) splits): colo run --plan's oracle is then the best of "
              "every candidate");
  q->add_option("--right-size", c->right_size,
                "Instead of a plan: the smallest MPS share / MIG profile / SM count for JOB");
  q->add_option("--within", c->within, "With --right-size: of its solo speed (default 10%)");
  q->add_option("--format", c->format, "text (default) or json")
      ->check(CLI::IsMember({"text", "json"}));
  q->add_option("--gpu", c->gpu, "GPU backend for --gpus: auto, sim or nvml")
      ->check(CLI::IsMember({"auto", "sim", "nvml"}));
  q->add_option("--sim-topology", c->sim_topology, "Topology file for the simulated GPU");

  c->run = &run;
  run.add_option("--plan", c->run_plan,
                 "Run a plan written by colo plan -o, then show predicted vs measured");
  run.add_flag("--recheck", c->recheck,
               "With --plan: do not run; check the plan against the latest finished experiment "
               "of each of its specs already in the store (e.g. after refitting the model)");
  return c;
}

int run_plan_commands(const PlanCli& c, const EngineOptions& ropts, std::ostream& out,
                      std::ostream& err) {
  if (*c.profile) {
    return cmd_profile(c, ropts, out, err);
  }
  if (*c.plan) {
    return cmd_plan(c, ropts, out, err);
  }
  if (*c.run && !c.run_plan.empty()) {
    return cmd_run_plan(c, ropts, out, err);
  }
  if (*c.run && c.recheck) {
    return report_error(err, input_error("--recheck needs --plan PLAN.json"));
  }
  return -1;
}

int check_run_memory(const std::string& spec_path, const EngineOptions& ropts, std::ostream& err) {
  auto spec = load_spec(spec_path);
  if (!spec) {
    return 0;  // cmd_run reports it
  }
  return check_run_memory(*spec, ropts, err);
}

int check_run_memory(const ExperimentSpec& spec_in, const EngineOptions& ropts, std::ostream& err) {
  const ExperimentSpec* spec = &spec_in;
  auto profiles = stored_profiles(ropts.results_dir);
  if (!profiles || profiles->empty()) {
    return 0;
  }
  SteadyClock clock;
  auto choice =
      make_backend(ropts.gpu.empty() ? spec->gpu_backend : ropts.gpu, clock, ropts.sim_topology);
  if (!choice) {
    return 0;
  }
  auto devs = choice->backend->devices();
  if (!devs || devs->empty()) {
    return 0;
  }
  const auto& dev = devs->front();
  auto runs = expand_runs(*spec);
  if (!runs) {
    return 0;
  }
  auto peak_of = [&](const std::string& workload) -> std::optional<double> {
    const auto* w = spec->find_workload(workload);
    const auto key = w ? plan::workload_key(*w) : std::string();
    for (const auto& p : *profiles) {
      if (p.key == key && p.gpu_model == dev.name) {
        return p.peak_mem_bytes;
      }
    }
    return std::nullopt;
  };
  for (const auto& r : *runs) {
    // Clients are placed round-robin over the run's GPUs: memory per GPU.
    std::map<std::size_t, double> per_gpu;
    bool known = true;
    for (std::size_t i = 0; i < r.clients.size(); ++i) {
      const auto& cl = r.clients[i];
      auto peak = peak_of(cl.workload);
      if (!peak) {
        known = false;
        break;
      }
      if (cl.mig_profile) {
        auto table = mig_profiles_for(dev.name);
        auto prof = table ? find_mig_profile(*table, *cl.mig_profile) : Result<MigProfile>{};
        if (prof && *peak > static_cast<double>(prof->memory_bytes)) {
          err << fmt::format(
              "colo: error: memory-fit guard: run {}: {} peaks at {:.1f} GiB (its profile), MIG "
              "{} has {:.1f} GiB; refused before starting (it would run out of memory)\n",
              r.key, cl.label(), *peak / k_gib, prof->name,
              static_cast<double>(prof->memory_bytes) / k_gib);
          return 2;
        }
        continue;
      }
      per_gpu[i % spec->gpus.size()] += *peak;
    }
    if (!known) {
      continue;
    }
    for (const auto& [g, bytes] : per_gpu) {
      if (bytes > static_cast<double>(dev.memory_bytes)) {
        err << fmt::format(
            "colo: error: memory-fit guard: run {} ({}) puts {:.1f} GiB of profiled peak memory "
            "on GPU {} ({}, {:.1f} GiB); refused before starting (it would run out of memory). "
            "Split the group or see colo plan.\n",
            r.key, r.group, bytes / k_gib, spec->gpus[g], dev.name,
            static_cast<double>(dev.memory_bytes) / k_gib);
        return 2;
      }
    }
  }
  return 0;
}

}  // namespace colo
