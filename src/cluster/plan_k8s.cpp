#include "cluster/plan_k8s.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <map>

namespace colo::cluster {
namespace {

bool shared(plan::Mechanism m) {
  return m != plan::Mechanism::solo && m != plan::Mechanism::sequential &&
         m != plan::Mechanism::mig;
}

bool uses_mps(plan::Mechanism m) {
  return m == plan::Mechanism::mps || m == plan::Mechanism::mps_limits ||
         m == plan::Mechanism::mig_equivalent || m == plan::Mechanism::green;
}

// A DNS-1123 name: lower case letters, digits and '-'.
std::string k8s_name(const std::string& s) {
  std::string out;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    out += std::isalnum(u) != 0 ? static_cast<char>(std::tolower(u)) : '-';
  }
  while (!out.empty() && out.back() == '-') {
    out.pop_back();
  }
  return out.substr(0, 63);
}

std::string resource_of(const plan::GroupPlan& g, const plan::JobPlacement& j) {
  if (g.mechanism == plan::Mechanism::mig && j.mig_profile) {
    return "nvidia.com/mig-" + *j.mig_profile;
  }
  return "nvidia.com/gpu";
}

std::string caveat(const plan::Plan& p, const plan::GroupPlan& g, const plan::JobPlacement& j) {
  return fmt::format(
      "colo plan: job {} on GPU {} ({}): {}, predicted speed {:.2f} of alone, "
      "slowdown {:.2f}x{}",
      j.job, g.gpu, g.gpu_model, to_string(g.mechanism), j.speed, j.slowdown,
      p.simulated ? " (from SIMULATED profiles)" : "");
}

// One pod: a YAML document (without its "---" line).
void emit_pod(YAML::Emitter& y, const plan::GroupPlan& g, const plan::JobPlacement& j,
              const JobCommand* cmd, const K8sOptions& o) {
  y << YAML::BeginMap;
  y << YAML::Key << "apiVersion" << YAML::Value << "v1";
  y << YAML::Key << "kind" << YAML::Value << "Pod";
  y << YAML::Key << "metadata" << YAML::Value << YAML::BeginMap;
  y << YAML::Key << "name" << YAML::Value
    << k8s_name(fmt::format("{}-gpu{}-{}", o.prefix, g.gpu, j.job));
  y << YAML::Key << "labels" << YAML::Value << YAML::BeginMap << YAML::Key << "colo/plan"
    << YAML::Value << k8s_name(o.prefix) << YAML::Key << "colo/mechanism" << YAML::Value
    << to_string(g.mechanism) << YAML::EndMap;
  y << YAML::EndMap;
  y << YAML::Key << "spec" << YAML::Value << YAML::BeginMap;
  y << YAML::Key << "restartPolicy" << YAML::Value << "Never";
  if (shared(g.mechanism)) {
    y << YAML::Key << "nodeSelector" << YAML::Value << YAML::BeginMap << YAML::Key
      << "nvidia.com/device-plugin.config" << YAML::Value
      << device_plugin_config_name(o.prefix, g.gpu) << YAML::EndMap;
  }
  y << YAML::Key << "containers" << YAML::Value << YAML::BeginSeq << YAML::BeginMap;
  y << YAML::Key << "name" << YAML::Value << k8s_name(j.job);
  y << YAML::Key << "image" << YAML::Value << o.image;
  if (cmd != nullptr && !cmd->argv.empty()) {
    y << YAML::Key << "command" << YAML::Value << YAML::Flow << cmd->argv;
    if (!cmd->cwd.empty()) {
      y << YAML::Key << "workingDir" << YAML::Value << cmd->cwd;
    }
  }
  std::map<std::string, std::string> env;
  if (cmd != nullptr) {
    env = cmd->env;
  }
  if (j.thread_percent && uses_mps(g.mechanism)) {
    // An MPS client may lower its own share below the device plugin's equal one.
    env["CUDA_MPS_ACTIVE_THREAD_PERCENTAGE"] = std::to_string(*j.thread_percent);
  }
  if (!env.empty()) {
    y << YAML::Key << "env" << YAML::Value << YAML::BeginSeq;
    for (const auto& [k, v] : env) {
      y << YAML::BeginMap << YAML::Key << "name" << YAML::Value << k << YAML::Key << "value"
        << YAML::Value << YAML::DoubleQuoted << v << YAML::EndMap;
    }
    y << YAML::EndSeq;
  }
  y << YAML::Key << "resources" << YAML::Value << YAML::BeginMap << YAML::Key << "limits"
    << YAML::Value << YAML::BeginMap << YAML::Key << resource_of(g, j) << YAML::Value << 1
    << YAML::EndMap << YAML::EndMap;
  y << YAML::EndMap << YAML::EndSeq;
  y << YAML::EndMap << YAML::EndMap;
}

// A pod template of a Ray node: one container with the Ray image, asking for `gpus` GPUs (or
// device-plugin replicas) of `resource`.
void emit_ray_template(YAML::Emitter& y, const K8sOptions& o, const std::string& container,
                       const std::string& resource, int gpus, const std::string& config) {
  y << YAML::Key << "template" << YAML::Value << YAML::BeginMap << YAML::Key << "spec"
    << YAML::Value << YAML::BeginMap;
  if (!config.empty()) {
    y << YAML::Key << "nodeSelector" << YAML::Value << YAML::BeginMap << YAML::Key
      << "nvidia.com/device-plugin.config" << YAML::Value << config << YAML::EndMap;
  }
  y << YAML::Key << "containers" << YAML::Value << YAML::BeginSeq << YAML::BeginMap;
  y << YAML::Key << "name" << YAML::Value << container;
  y << YAML::Key << "image" << YAML::Value << o.ray_image;
  if (gpus > 0) {
    y << YAML::Key << "resources" << YAML::Value << YAML::BeginMap << YAML::Key << "limits"
      << YAML::Value << YAML::BeginMap << YAML::Key << resource << YAML::Value << gpus
      << YAML::EndMap << YAML::EndMap;
  }
  y << YAML::EndMap << YAML::EndSeq << YAML::EndMap << YAML::EndMap;
}

void emit_ray_cluster_spec(YAML::Emitter& y, const plan::Plan& p, const K8sOptions& o) {
  y << YAML::BeginMap;
  y << YAML::Key << "rayVersion" << YAML::Value << o.ray_version;
  y << YAML::Key << "headGroupSpec" << YAML::Value << YAML::BeginMap;
  y << YAML::Key << "rayStartParams" << YAML::Value << YAML::BeginMap << YAML::Key << "num-gpus"
    << YAML::Value << YAML::DoubleQuoted << "0" << YAML::EndMap;
  emit_ray_template(y, o, "ray-head", "", 0, "");
  y << YAML::EndMap;
  y << YAML::Key << "workerGroupSpecs" << YAML::Value << YAML::BeginSeq;
  for (const auto& g : p.groups) {
    for (const auto& j : g.jobs) {
      y << YAML::BeginMap;
      y << YAML::Key << "groupName" << YAML::Value
        << k8s_name(fmt::format("gpu{}-{}", g.gpu, j.job));
      y << YAML::Key << "replicas" << YAML::Value << 1 << YAML::Key << "minReplicas" << YAML::Value
        << 1 << YAML::Key << "maxReplicas" << YAML::Value << 1;
      y << YAML::Key << "rayStartParams" << YAML::Value << YAML::BeginMap << YAML::Key << "num-gpus"
        << YAML::Value << YAML::DoubleQuoted << fmt::format("{:g}", ray_num_gpus(g, j))
        << YAML::EndMap;
      emit_ray_template(y, o, "ray-worker", resource_of(g, j), 1,
                        shared(g.mechanism) ? device_plugin_config_name(o.prefix, g.gpu) : "");
      y << YAML::EndMap;
    }
  }
  y << YAML::EndSeq << YAML::EndMap;
}

}  // namespace

std::string device_plugin_config_name(const std::string& prefix, int gpu) {
  return k8s_name(fmt::format("{}-gpu{}", prefix, gpu));
}

std::vector<EmittedFile> emit_k8s(const plan::Plan& plan,
                                  const std::map<std::string, JobCommand>& commands,
                                  const K8sOptions& opts) {
  std::vector<EmittedFile> out;
  for (const auto& g : plan.groups) {
    if (!shared(g.mechanism)) {
      continue;
    }
    YAML::Emitter y;
    y << YAML::Comment(fmt::format(
        "NVIDIA k8s-device-plugin config for GPU group {} ({}, {} jobs): select it on the node "
        "with the label nvidia.com/device-plugin.config={}",
        g.gpu, to_string(g.mechanism), g.jobs.size(),
        device_plugin_config_name(opts.prefix, g.gpu)));
    y << YAML::BeginMap << YAML::Key << "version" << YAML::Value << "v1";
    y << YAML::Key << "sharing" << YAML::Value << YAML::BeginMap;
    y << YAML::Key << (uses_mps(g.mechanism) ? "mps" : "timeSlicing") << YAML::Value
      << YAML::BeginMap;
    y << YAML::Key << "renameByDefault" << YAML::Value << false;
    y << YAML::Key << "failRequestsGreaterThanOne" << YAML::Value << true;
    y << YAML::Key << "resources" << YAML::Value << YAML::BeginSeq << YAML::BeginMap;
    y << YAML::Key << "name" << YAML::Value << "nvidia.com/gpu";
    y << YAML::Key << "replicas" << YAML::Value
      << static_cast<int>(std::max<std::size_t>(2, g.jobs.size()));
    y << YAML::EndMap << YAML::EndSeq << YAML::EndMap << YAML::EndMap << YAML::EndMap;
    out.push_back(
        {fmt::format("{}-device-plugin.yaml", device_plugin_config_name(opts.prefix, g.gpu)),
         std::string(y.c_str()) + "\n"});
  }
  bool any_mig = false;
  YAML::Emitter mig;
  mig << YAML::Comment(
      "mig-parted config (nvidia-mig-parted apply -f FILE -c NAME, or the GPU "
      "operator's mig-manager with the node label nvidia.com/mig.config=NAME)");
  mig << YAML::BeginMap << YAML::Key << "version" << YAML::Value << "v1";
  mig << YAML::Key << "mig-configs" << YAML::Value << YAML::BeginMap;
  for (const auto& g : plan.groups) {
    if (g.mechanism != plan::Mechanism::mig) {
      continue;
    }
    any_mig = true;
    std::map<std::string, int> counts;
    for (const auto& j : g.jobs) {
      if (j.mig_profile) {
        ++counts[*j.mig_profile];
      }
    }
    mig << YAML::Key << device_plugin_config_name(opts.prefix, g.gpu) << YAML::Value
        << YAML::BeginSeq << YAML::BeginMap;
    mig << YAML::Key << "devices" << YAML::Value << YAML::Flow << std::vector<int>{g.gpu};
    mig << YAML::Key << "mig-enabled" << YAML::Value << true;
    mig << YAML::Key << "mig-devices" << YAML::Value << YAML::BeginMap;
    for (const auto& [profile, n] : counts) {
      mig << YAML::Key << YAML::DoubleQuoted << profile << YAML::Value << n;
    }
    mig << YAML::EndMap << YAML::EndMap << YAML::EndSeq;
  }
  mig << YAML::EndMap << YAML::EndMap;
  if (any_mig) {
    out.push_back({k8s_name(opts.prefix) + "-mig-parted.yaml", std::string(mig.c_str()) + "\n"});
  }
  std::string pods;
  for (const auto& g : plan.groups) {
    for (const auto& j : g.jobs) {
      auto it = commands.find(j.workload);
      YAML::Emitter y;
      emit_pod(y, g, j, it == commands.end() ? nullptr : &it->second, opts);
      pods += "---\n# " + caveat(plan, g, j) + "\n" + y.c_str() + "\n";
    }
  }
  out.push_back({k8s_name(opts.prefix) + "-pods.yaml", pods});
  return out;
}

double ray_num_gpus(const plan::GroupPlan& group, const plan::JobPlacement& job) {
  const double k = static_cast<double>(std::max<std::size_t>(1, group.jobs.size()));
  switch (group.mechanism) {
    case plan::Mechanism::solo:
    case plan::Mechanism::sequential:
    case plan::Mechanism::mig:
      return 1.0;
    case plan::Mechanism::timeslice:
    case plan::Mechanism::mps:
      return 1.0 / k;
    case plan::Mechanism::mps_limits:
    case plan::Mechanism::mig_equivalent:
    case plan::Mechanism::green:
      return job.thread_percent ? *job.thread_percent / 100.0 : job.share;
  }
  return 1.0;
}

std::vector<EmittedFile> emit_kuberay(const plan::Plan& plan, const K8sOptions& opts,
                                      const std::string& entrypoint) {
  std::vector<EmittedFile> out;
  const std::string name = k8s_name(opts.prefix);
  std::string notes;
  for (const auto& g : plan.groups) {
    for (const auto& j : g.jobs) {
      notes += "# " + caveat(plan, g, j) + "\n";
    }
  }
  for (const char* kind : {"RayCluster", "RayJob"}) {
    YAML::Emitter y;
    y << YAML::BeginMap;
    y << YAML::Key << "apiVersion" << YAML::Value << "ray.io/v1";
    y << YAML::Key << "kind" << YAML::Value << kind;
    y << YAML::Key << "metadata" << YAML::Value << YAML::BeginMap << YAML::Key << "name"
      << YAML::Value << name << YAML::EndMap;
    y << YAML::Key << "spec" << YAML::Value;
    if (std::string_view(kind) == "RayCluster") {
      emit_ray_cluster_spec(y, plan, opts);
    } else {
      y << YAML::BeginMap;
      y << YAML::Key << "entrypoint" << YAML::Value << entrypoint;
      y << YAML::Key << "shutdownAfterJobFinishes" << YAML::Value << true;
      y << YAML::Key << "rayClusterSpec" << YAML::Value;
      emit_ray_cluster_spec(y, plan, opts);
      y << YAML::EndMap;
    }
    y << YAML::EndMap;
    out.push_back({fmt::format("{}-{}.yaml", name,
                               kind == std::string_view("RayCluster") ? "raycluster" : "rayjob"),
                   "# KubeRay " + std::string(kind) +
                       " from colo plan: each worker's num-gpus is its share of a GPU\n" + notes +
                       y.c_str() + "\n"});
  }
  return out;
}

}  // namespace colo::cluster
