#include "plan/jobs.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <set>

#include "core/units.hpp"

namespace colo::plan {
namespace {

int line_of(const YAML::Node& n) {
  return n.IsDefined() ? n.Mark().line + 1 : 0;
}

Result<double> positive(const YAML::Node& n, const std::string& where) {
  try {
    const double v = n.as<double>();
    if (!std::isfinite(v) || v <= 0) {
      return fail(ErrorCode::invalid_argument, fmt::format("{}: must be a positive number", where));
    }
    return v;
  } catch (const YAML::Exception&) {
    return fail(ErrorCode::invalid_argument,
                fmt::format("{}: '{}' is not a number", where, n.IsScalar() ? n.Scalar() : "?"));
  }
}

Result<double> slowdown_bound(const YAML::Node& n, const std::string& where) {
  auto v = positive(n, where);
  if (v && *v < 1.0) {
    return fail(ErrorCode::invalid_argument,
                fmt::format("{}: {} is below 1 (a slowdown is solo rate / shared rate: no job "
                            "runs faster shared than alone)",
                            where, *v));
  }
  return v;
}

Result<Job> parse_job(const YAML::Node& n, const std::string& path, std::size_t index) {
  Job j;
  j.line = line_of(n);
  const std::string at = fmt::format("{}:{}: jobs[{}]", path, j.line, index);
  if (!n.IsMap()) {
    return fail(ErrorCode::invalid_argument, at + ": a job is a map (name, workload, kind, ...)");
  }
  static const std::set<std::string> known{
      "name", "workload", "kind", "latency_slo", "min_throughput", "max_slowdown", "isolation"};
  for (const auto& kv : n) {
    const auto k = kv.first.as<std::string>();
    if (!known.contains(k)) {
      return fail(ErrorCode::invalid_argument,
                  fmt::format("{}:{}: jobs[{}]: unknown field '{}' (known: name, workload, kind, "
                              "latency_slo, min_throughput, max_slowdown, isolation)",
                              path, line_of(kv.first), index, k));
    }
  }
  if (!n["name"] || !n["workload"]) {
    return fail(ErrorCode::invalid_argument, at + ": needs name and workload");
  }
  j.name = n["name"].as<std::string>();
  j.workload = n["workload"].as<std::string>();
  const std::string where = fmt::format("{}:{}: job '{}'", path, j.line, j.name);
  if (const auto k = n["kind"]) {
    const auto s = k.as<std::string>();
    if (s == "training") {
      j.kind = JobKind::training;
    } else if (s == "inference") {
      j.kind = JobKind::inference;
    } else {
      return fail(ErrorCode::invalid_argument,
                  fmt::format("{}: kind '{}' is not training or inference", where, s));
    }
  }
  if (const auto s = n["latency_slo"]) {
    auto d = parse_duration(s.as<std::string>());
    if (!d || d->count() <= 0) {
      return fail(ErrorCode::invalid_argument,
                  fmt::format("{}: latency_slo '{}' is not a positive duration (e.g. 20ms)", where,
                              s.as<std::string>()));
    }
    if (j.kind != JobKind::inference) {
      return fail(ErrorCode::invalid_argument,
                  fmt::format("{}: latency_slo is for inference jobs (kind: inference)", where));
    }
    j.latency_slo_ms = d->count() * 1e3;
  }
  if (const auto m = n["min_throughput"]) {
    auto v = positive(m, where + ": min_throughput");
    if (!v) {
      return fail(v.error());
    }
    j.min_throughput = *v;
  }
  if (const auto m = n["max_slowdown"]) {
    auto v = slowdown_bound(m, where + ": max_slowdown");
    if (!v) {
      return fail(v.error());
    }
    j.max_slowdown = *v;
  }
  if (const auto i = n["isolation"]) {
    const auto s = i.as<std::string>();
    if (s == "none") {
      j.isolation = Isolation::none;
    } else if (s == "fault") {
      j.isolation = Isolation::fault;
    } else if (s == "memory") {
      j.isolation = Isolation::memory;
    } else {
      return fail(ErrorCode::invalid_argument,
                  fmt::format("{}: isolation '{}' is not none, fault or memory", where, s));
    }
  }
  return j;
}

}  // namespace

const char* to_string(JobKind k) {
  return k == JobKind::training ? "training" : "inference";
}

const char* to_string(Isolation i) {
  switch (i) {
    case Isolation::none:
      return "none";
    case Isolation::fault:
      return "fault";
    case Isolation::memory:
      return "memory";
  }
  return "none";
}

Result<JobsFile> parse_jobs(const std::string& text, const std::string& path,
                            const std::string& base_dir) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return fail(ErrorCode::invalid_argument,
                fmt::format("{}:{}: {}", path, e.mark.line + 1, e.msg));
  }
  if (!root.IsMap()) {
    return fail(ErrorCode::invalid_argument,
                path + ": a jobs file is a map with `workloads:` (a spec) and `jobs:`");
  }
  JobsFile f;
  f.path = path;
  try {
    for (const auto& kv : root) {
      const auto k = kv.first.as<std::string>();
      if (k != "workloads" && k != "jobs" && k != "max_slowdown") {
        return fail(ErrorCode::invalid_argument,
                    fmt::format("{}:{}: unknown field '{}' (known: workloads, jobs, max_slowdown)",
                                path, line_of(kv.first), k));
      }
    }
    if (!root["workloads"]) {
      return fail(ErrorCode::invalid_argument,
                  path + ": `workloads:` names the experiment spec whose workloads the jobs run");
    }
    f.spec = root["workloads"].as<std::string>();
    if (!f.spec.empty() && f.spec[0] != '/' && !base_dir.empty()) {
      f.spec = base_dir + "/" + f.spec;
    }
    if (const auto m = root["max_slowdown"]) {
      auto v = slowdown_bound(m, fmt::format("{}:{}: max_slowdown", path, line_of(m)));
      if (!v) {
        return fail(v.error());
      }
      f.max_slowdown = *v;
    }
    const auto jobs = root["jobs"];
    if (!jobs || !jobs.IsSequence() || jobs.size() == 0) {
      return fail(ErrorCode::invalid_argument, path + ": `jobs:` is a non-empty list");
    }
    if (jobs.size() > k_max_jobs) {
      return fail(ErrorCode::invalid_argument, fmt::format("{}: {} jobs; a plan places at most {}",
                                                           path, jobs.size(), k_max_jobs));
    }
    std::set<std::string> names;
    for (std::size_t i = 0; i < jobs.size(); ++i) {
      auto j = parse_job(jobs[i], path, i);
      if (!j) {
        return fail(j.error());
      }
      if (!names.insert(j->name).second) {
        return fail(ErrorCode::invalid_argument,
                    fmt::format("{}:{}: job name '{}' is used twice", path, j->line, j->name));
      }
      f.jobs.push_back(std::move(*j));
    }
  } catch (const YAML::Exception& e) {
    return fail(ErrorCode::invalid_argument,
                fmt::format("{}:{}: {}", path, e.mark.line + 1, e.msg));
  }
  return f;
}

}  // namespace colo::plan
