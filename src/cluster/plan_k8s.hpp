#pragma once
// `colo plan --emit k8s` and `--emit kuberay` (pure, docs/kubernetes.md): a plan as Kubernetes
// objects. Field names follow the published formats: NVIDIA k8s-device-plugin's config file
// (version, sharing.timeSlicing|mps.{renameByDefault, failRequestsGreaterThanOne, resources:
// [{name, replicas}]}), mig-parted's (version, mig-configs.<name>: [{devices, mig-enabled,
// mig-devices}]), core/v1 Pods, and KubeRay's ray.io/v1 RayCluster / RayJob (rayVersion,
// headGroupSpec, workerGroupSpecs[{groupName, replicas, minReplicas, maxReplicas,
// rayStartParams, template}], entrypoint, rayClusterSpec, shutdownAfterJobFinishes).
#include <string>
#include <vector>

#include "cluster/plan_slurm.hpp"
#include "plan/planner.hpp"

namespace colo::cluster {

struct K8sOptions {
  std::string prefix = "plan";
  std::string image = "IMAGE";  // the container image of every job (docs/kubernetes.md)
  std::string ray_version = "2.9.0";
  std::string ray_image = "rayproject/ray:2.9.0-gpu";
};

struct EmittedFile {
  std::string file;
  std::string text;
};

// The device plugin's config name of a GPU group ("<prefix>-gpu<N>"): the value of the node
// label nvidia.com/device-plugin.config that selects it.
std::string device_plugin_config_name(const std::string& prefix, int gpu);

// Device-plugin sharing configs (one per shared GPU group), a mig-parted config (when a group
// uses MIG) and the pods (one document per job).
std::vector<EmittedFile> emit_k8s(const plan::Plan& plan,
                                  const std::map<std::string, JobCommand>& commands,
                                  const K8sOptions& opts);

// The Ray resource `num-gpus` of one job of a group: 1/K of a GPU for time-slicing and uncapped
// MPS among K jobs, the MPS share for limits, 1 for a GPU of its own.
double ray_num_gpus(const plan::GroupPlan& group, const plan::JobPlacement& job);

// A RayCluster (a worker group per job, its rayStartParams num-gpus fractional, its pod asking
// for one device-plugin replica) and a RayJob running `entrypoint` on the same cluster spec.
std::vector<EmittedFile> emit_kuberay(const plan::Plan& plan, const K8sOptions& opts,
                                      const std::string& entrypoint);

}  // namespace colo::cluster
