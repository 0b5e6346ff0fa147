// colo::cluster: gres.conf/slurm.conf lines, scontrol parsers, the configuration check, job
// units and their gres, sbatch scripts, job states, and the Slurm client's errors (with a fake
// command runner). The real Slurm is exercised by tests/slurm/slurm_test.sh.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <set>

#include <deque>

#include "cluster/plan_k8s.hpp"
#include "cluster/plan_slurm.hpp"
#include "cluster/slurm_client.hpp"
#include "cluster/slurm_conf.hpp"
#include "cluster/slurm_jobs.hpp"

namespace colo::cluster {
namespace {

// What Debian 12's Slurm 22.05 printed on the test fixture.
constexpr const char* k_node_line =
    "NodeName=vm Arch=x86_64 CoresPerSocket=1  CPUAlloc=1 CPUEfctv=2 CPUTot=2 CPULoad=2.07 "
    "AvailableFeatures=(null) ActiveFeatures=(null) Gres=gpu:1,mps:100,shard:4 "
    "NodeAddr=127.0.0.1 NodeHostName=vm Version=22.05.8 OS=Linux 6.18.44-fc-v782 #1 SMP "
    "PREEMPT_DYNAMIC @0  RealMemory=1 AllocMem=0 State=MIXED Partitions=debug\n";

constexpr const char* k_config =
    "Configuration data as of 2026-11-30T20:39:46\n"
    "AccountingStorageType   = accounting_storage/none\n"
    "GresTypes               = gpu,mps,shard\n"
    "SelectType              = select/cons_tres\n"
    "SelectTypeParameters    = CR_CORE\n"
    "\n"
    "Cgroup Support Configuration:\n";

std::vector<GresGpu> two_h100() {
  return {{0, "NVIDIA H100 80GB HBM3", "/dev/nvidia0"},
          {1, "NVIDIA H100 80GB HBM3", "/dev/nvidia1"}};
}

TEST(SlurmConf, GresTypeFromGpuName) {
  EXPECT_EQ(gres_type("NVIDIA H100 80GB HBM3"), "h100");
  EXPECT_EQ(gres_type("NVIDIA A100-SXM4-40GB"), "a100sxm440gb");
  EXPECT_EQ(gres_type("Tesla V100-PCIE-16GB"), "v100pcie16gb");
  EXPECT_EQ(gres_type(""), "");
}

TEST(SlurmConf, LinesForTwoGpus) {
  const auto l = slurm_config(two_h100(), {"node1", 100, 4});
  const std::vector<std::string> gres = {
      "Name=gpu Type=h100 File=/dev/nvidia0", "Name=gpu Type=h100 File=/dev/nvidia1",
      "Name=mps Count=100 File=/dev/nvidia0", "Name=mps Count=100 File=/dev/nvidia1",
      "Name=shard Count=4 File=/dev/nvidia0", "Name=shard Count=4 File=/dev/nvidia1"};
  EXPECT_EQ(l.gres_conf, gres);
  EXPECT_EQ(l.node_gres, "gpu:h100:2,mps:200,shard:8");
  EXPECT_EQ(l.slurm_conf.back(), "NodeName=node1 Gres=gpu:h100:2,mps:200,shard:8");
  EXPECT_EQ(l.slurm_conf.front(), "GresTypes=gpu,mps,shard");
  const auto text = render_slurm_config(l, two_h100(), {"node1", 100, 4}, true);
  EXPECT_NE(text.find("SIMULATED"), std::string::npos);
}

TEST(SlurmConf, ParsesShowConfig) {
  const auto kv = parse_show_config(k_config);
  EXPECT_EQ(kv.at("GresTypes"), "gpu,mps,shard");
  EXPECT_EQ(kv.at("SelectType"), "select/cons_tres");
  EXPECT_EQ(kv.count("Configuration"), 0U);
}

TEST(SlurmConf, ParsesShowNodeWithSpacesInValues) {
  const auto nodes = parse_show_nodes(std::string(k_node_line) + "\nnot a node\n");
  ASSERT_EQ(nodes.size(), 1U);
  EXPECT_EQ(nodes[0].at("NodeName"), "vm");
  EXPECT_EQ(nodes[0].at("Gres"), "gpu:1,mps:100,shard:4");
  EXPECT_EQ(nodes[0].at("OS"), "Linux 6.18.44-fc-v782 #1 SMP PREEMPT_DYNAMIC @0");
  EXPECT_EQ(nodes[0].at("State"), "MIXED");
}

TEST(SlurmConf, ParsesGres) {
  auto g = parse_gres("gpu:h100:2(S:0-1),mps:200,shard:8");
  ASSERT_TRUE(g);
  EXPECT_EQ(g->at("gpu"), 2);
  EXPECT_EQ(g->at("mps"), 200);
  EXPECT_EQ(g->at("shard"), 8);
  g = parse_gres("gpu:a100:1(S:0,1),gpu:v100:3");
  ASSERT_TRUE(g);
  EXPECT_EQ(g->at("gpu"), 4);
  EXPECT_TRUE(parse_gres("(null)")->empty());
  EXPECT_EQ(parse_gres("gpu:h100")->at("gpu"), 1);
  EXPECT_FALSE(parse_gres("gpu:a:b:x"));
}

TEST(SlurmConf, CheckPassesOnACompleteCluster) {
  const std::vector<GresGpu> one = {{0, "NVIDIA H100 80GB HBM3", "/dev/nvidia0"}};
  const auto items =
      check_slurm(parse_show_config(k_config), parse_show_nodes(k_node_line), one, {"vm", 100, 4});
  for (const auto& i : items) {
    EXPECT_TRUE(i.ok) << i.what;
  }
  EXPECT_NE(render_check(items).find("offers gpu, mps and shard"), std::string::npos);
}

TEST(SlurmConf, CheckNamesWhatIsMissingAsADiff) {
  const std::string config = "GresTypes = gpu\nSelectType = select/cons_res\n";
  const std::string node = "NodeName=vm Gres=gpu:h100:2 State=IDLE\n";
  const auto items =
      check_slurm(parse_show_config(config), parse_show_nodes(node), two_h100(), {"vm", 100, 4});
  int missing = 0;
  for (const auto& i : items) {
    missing += i.ok ? 0 : 1;
  }
  EXPECT_EQ(missing, 5);  // GresTypes mps, shard; SelectType; node mps, shard
  const auto text = render_check(items);
  EXPECT_NE(text.find("- GresTypes=gpu\n+ slurm.conf: GresTypes=gpu,mps,shard"), std::string::npos)
      << text;
  EXPECT_NE(text.find("- SelectType=select/cons_res\n+ slurm.conf: SelectType=select/cons_tres"),
            std::string::npos);
  EXPECT_NE(text.find("gres.conf: Name=mps Count=100 File=/dev/nvidia1"), std::string::npos);
  EXPECT_NE(text.find("+ slurm.conf: NodeName=vm Gres=gpu:h100:2,mps:200,shard:8"),
            std::string::npos);
}

TEST(SlurmConf, CheckReportsAnUnknownNode) {
  const auto items = check_slurm(parse_show_config(k_config), parse_show_nodes(k_node_line),
                                 two_h100(), {"other", 100, 4});
  ASSERT_FALSE(items.empty());
  EXPECT_FALSE(items.back().ok);
  EXPECT_NE(items.back().what.find("node other"), std::string::npos);
}

RunPlan run_of(ModeKind kind, std::vector<std::optional<int>> tps, std::string group) {
  RunPlan r;
  r.mode.kind = kind;
  r.group = std::move(group);
  for (auto tp : tps) {
    ClientPlan c;
    c.workload = "w";
    c.thread_percent = tp;
    r.clients.push_back(c);
  }
  return r;
}

TEST(SlurmJobs, GresPerMode) {
  EXPECT_EQ(gres_for_run(run_of(ModeKind::solo, {std::nullopt}, "a"), 1), "gpu:1");
  EXPECT_EQ(gres_for_run(run_of(ModeKind::timeslice, {std::nullopt, std::nullopt}, "a+b"), 1),
            "gpu:1");
  EXPECT_EQ(gres_for_run(run_of(ModeKind::mps, {25, 25}, "a+b"), 1), "mps:50");
  EXPECT_EQ(gres_for_run(run_of(ModeKind::mps, {60, 60}, "a+b"), 1), "gpu:1");
  EXPECT_EQ(gres_for_run(run_of(ModeKind::mps, {25, std::nullopt}, "a+b"), 1), "gpu:1");
  EXPECT_EQ(gres_for_run(run_of(ModeKind::mps, {25, 25}, "a+b"), 2), "gpu:2");
  EXPECT_EQ(gres_for_run(run_of(ModeKind::green, {std::nullopt}, "a"), 2), "gpu:2");
}

TEST(SlurmJobs, UnitsGroupRunsByModeAndGroup) {
  std::vector<RunPlan> runs = {
      run_of(ModeKind::solo, {std::nullopt}, "a"), run_of(ModeKind::mps, {20, 20}, "a+b"),
      run_of(ModeKind::solo, {std::nullopt}, "a"), run_of(ModeKind::mps, {20, 20}, "a+b")};
  const auto units = slurm_units(runs, 1);
  ASSERT_EQ(units.size(), 2U);
  EXPECT_EQ(units[0].label(), "solo a");
  EXPECT_EQ(units[0].runs, 2);
  EXPECT_EQ(units[1].gres, "mps:40");
}

TEST(SlurmJobs, SbatchScript) {
  SbatchJob j;
  j.name = "colo-x";
  j.gres = "mps:50";
  j.partition = "gpu";
  j.singleton = true;
  j.commands = {"exec colo run " + shell_quote("it's.yaml")};
  const auto s = render_sbatch(j);
  EXPECT_EQ(s.rfind("#!/bin/bash\n", 0), 0U);
  EXPECT_NE(s.find("#SBATCH --gres=mps:50\n"), std::string::npos);
  EXPECT_NE(s.find("#SBATCH --partition=gpu\n"), std::string::npos);
  EXPECT_NE(s.find("#SBATCH --dependency=singleton\n"), std::string::npos);
  EXPECT_EQ(s.find("--account"), std::string::npos);
  EXPECT_NE(s.find("exec colo run 'it'\\''s.yaml'"), std::string::npos);
}

TEST(SlurmJobs, JobStates) {
  const auto q = parse_squeue("12|RUNNING|None\n13|PENDING|Dependency\n");
  ASSERT_EQ(q.size(), 2U);
  EXPECT_EQ(q[1].reason, "Dependency");
  EXPECT_FALSE(q[0].finished());
  auto j = parse_show_job(
      "JobId=12 JobName=colo-x UserId=root(0) JobState=CANCELLED Reason=None ExitCode=0:15 "
      "TresPerNode=gres:mps:50\n");
  ASSERT_TRUE(j);
  EXPECT_EQ(j->id, "12");
  EXPECT_EQ(j->state, "CANCELLED");
  EXPECT_EQ(j->exit_code, "0:15");
  EXPECT_TRUE(j->finished());
  EXPECT_FALSE(j->succeeded());
  auto a = parse_sacct("12|CANCELLED by 0|0:15\n");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->state, "CANCELLED");
  EXPECT_EQ(a->reason, "by 0");
  EXPECT_EQ(*parse_sbatch_id("42\n"), "42");
  EXPECT_EQ(*parse_sbatch_id("42;cluster\n"), "42");
  EXPECT_FALSE(parse_sbatch_id("sbatch: error"));
}

// Answers commands from a script of outputs, recording what was run.
class FakeRunner final : public CommandRunner {
 public:
  std::deque<Result<CommandOutput>> answers;
  std::vector<std::vector<std::string>> calls;
  Result<CommandOutput> run(const std::vector<std::string>& argv) override {
    calls.push_back(argv);
    if (answers.empty()) {
      return fail(ErrorCode::internal, "no answer scripted");
    }
    auto a = answers.front();
    answers.pop_front();
    return a;
  }
};

TEST(SlurmClient, ErrorsSayWhatIsWrong) {
  FakeRunner r;
  SlurmClient slurm(r);
  r.answers.push_back(fail(ErrorCode::not_found, "x"));
  auto c = slurm.show_config();
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, ErrorCode::not_found);
  EXPECT_NE(c.error().message.find("Slurm is not installed"), std::string::npos);

  r.answers.push_back(CommandOutput{
      1, "", "slurm_load_ctl_conf error: Unable to contact slurm controller (connect failure)\n"});
  c = slurm.show_config();
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("controller (slurmctld) is not reachable"), std::string::npos);

  r.answers.push_back(CommandOutput{1, "",
                                    "sbatch: error: invalid partition specified: x\n"
                                    "sbatch: error: Batch job submission failed: Invalid "
                                    "partition name specified\n"});
  auto id = slurm.submit("job.sbatch");
  ASSERT_FALSE(id);
  EXPECT_EQ(id.error().code, ErrorCode::invalid_argument);
  EXPECT_NE(id.error().message.find("Invalid partition name specified"), std::string::npos);

  r.answers.push_back(CommandOutput{0, "77\n", ""});
  EXPECT_EQ(*slurm.submit("job.sbatch"), "77");
  EXPECT_EQ(r.calls.back(), (std::vector<std::string>{"sbatch", "--parsable", "job.sbatch"}));
}

TEST(SlurmClient, FinalStateFallsBackToSacct) {
  FakeRunner r;
  SlurmClient slurm(r);
  r.answers.push_back(CommandOutput{1, "", "slurm_load_jobs error: Invalid job id specified\n"});
  r.answers.push_back(CommandOutput{0, "9|TIMEOUT|0:0\n", ""});
  auto s = slurm.final_state("9");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->state, "TIMEOUT");
  EXPECT_EQ(r.calls.back().front(), "sacct");
}

}  // namespace
}  // namespace colo::cluster

namespace colo::cluster {
namespace {

plan::Plan two_group_plan() {
  plan::Plan p;
  p.simulated = true;
  plan::GroupPlan a;
  a.gpu = 0;
  a.gpu_model = "NVIDIA H200";
  a.mechanism = plan::Mechanism::mps_limits;
  plan::JobPlacement j1;
  j1.job = "train";
  j1.workload = "r18";
  j1.thread_percent = 60;
  plan::JobPlacement j2 = j1;
  j2.job = "serve";
  j2.workload = "srv";
  j2.thread_percent = 40;
  a.jobs = {j1, j2};
  plan::GroupPlan b;
  b.gpu = 1;
  b.gpu_model = "NVIDIA H200";
  b.mechanism = plan::Mechanism::mig;
  plan::JobPlacement j3 = j1;
  j3.job = "small";
  j3.thread_percent.reset();
  j3.mig_profile = "3g.71gb";
  b.jobs = {j3};
  p.groups = {a, b};
  return p;
}

TEST(PlanSlurm, GresPerMechanism) {
  plan::GroupPlan g;
  plan::JobPlacement j;
  j.share = 0.25;
  g.jobs = {j, j, j};
  g.mechanism = plan::Mechanism::timeslice;
  EXPECT_EQ(gres_for_placement(g, j, 100), "shard:1");
  g.mechanism = plan::Mechanism::mps;
  EXPECT_EQ(gres_for_placement(g, j, 100), "mps:33");
  g.mechanism = plan::Mechanism::green;
  EXPECT_EQ(gres_for_placement(g, j, 100), "mps:25");
  g.mechanism = plan::Mechanism::sequential;
  EXPECT_EQ(gres_for_placement(g, j, 100), "gpu:1");
  j.thread_percent = 30;
  g.mechanism = plan::Mechanism::mig_equivalent;
  EXPECT_EQ(gres_for_placement(g, j, 200), "mps:60");  // Count 200 per GPU
}

TEST(PlanSlurm, ScriptPerJobWithItsShareAndCommand) {
  std::map<std::string, JobCommand> cmds;
  cmds["r18"] = {{"python3", "train.py", "--model", "resnet18"}, {{"A", "b c"}}, "/w"};
  const auto s = emit_slurm(two_group_plan(), cmds, {"mix", "gpu", "", "1:00:00", 100});
  ASSERT_EQ(s.size(), 3U);
  EXPECT_EQ(s[0].file, "mix-gpu0-train.sbatch");
  EXPECT_EQ(s[0].gres, "mps:60");
  EXPECT_EQ(s[1].gres, "mps:40");
  EXPECT_EQ(s[2].gres, "gpu:3g.71gb:1");
  EXPECT_NE(s[0].text.find("#SBATCH --partition=gpu\n"), std::string::npos);
  EXPECT_NE(s[0].text.find("#SBATCH --time=1:00:00\n"), std::string::npos);
  EXPECT_NE(s[0].text.find("cd '/w'\nexport A='b c'\nexec 'python3' 'train.py' '--model' "
                           "'resnet18'\n"),
            std::string::npos)
      << s[0].text;
  EXPECT_NE(s[0].text.find("SIMULATED"), std::string::npos);
  EXPECT_NE(s[1].text.find("no command for workload srv"), std::string::npos);
}

}  // namespace
}  // namespace colo::cluster

namespace colo::cluster {
namespace {

// The keys of a YAML map, sorted.
std::set<std::string> keys(const YAML::Node& n) {
  std::set<std::string> out;
  for (const auto& kv : n) {
    out.insert(kv.first.as<std::string>());
  }
  return out;
}

bool subset(const std::set<std::string>& a, const std::set<std::string>& allowed) {
  return std::includes(allowed.begin(), allowed.end(), a.begin(), a.end());
}

plan::Plan timeslice_and_mig_plan() {
  plan::Plan p;
  plan::GroupPlan ts;
  ts.gpu = 0;
  ts.gpu_model = "NVIDIA H100 80GB HBM3";
  ts.mechanism = plan::Mechanism::timeslice;
  plan::JobPlacement a;
  a.job = "a";
  a.workload = "small";
  a.speed = 0.6;
  plan::JobPlacement b = a;
  b.job = "b";
  ts.jobs = {a, b};
  plan::GroupPlan mps = ts;
  mps.gpu = 1;
  mps.mechanism = plan::Mechanism::mps_limits;
  mps.jobs[0].thread_percent = 70;
  mps.jobs[1].thread_percent = 30;
  mps.jobs[0].job = "c";
  mps.jobs[1].job = "d";
  plan::GroupPlan mig = ts;
  mig.gpu = 2;
  mig.mechanism = plan::Mechanism::mig;
  mig.jobs[0].mig_profile = "3g.40gb";
  mig.jobs[1].mig_profile = "3g.40gb";
  mig.jobs[0].job = "e";
  mig.jobs[1].job = "f";
  p.groups = {ts, mps, mig};
  return p;
}

const EmittedFile& file(const std::vector<EmittedFile>& files, const std::string& name) {
  for (const auto& f : files) {
    if (f.file == name) {
      return f;
    }
  }
  ADD_FAILURE() << "no file " << name;
  static const EmittedFile none;
  return none;
}

// Field names of NVIDIA k8s-device-plugin's config (api/config/v1: Config, Sharing,
// ReplicatedResources, ReplicatedResource) and of mig-parted's (api/spec/v1: Spec,
// MigConfigSpec).
TEST(PlanK8s, DevicePluginAndMigPartedConfigsUseTheirPublishedFields) {
  const auto files = emit_k8s(timeslice_and_mig_plan(), {}, {"mix", "img", "2.9.0", "ray"});
  const auto ts = YAML::Load(file(files, "mix-gpu0-device-plugin.yaml").text);
  EXPECT_TRUE(subset(keys(ts), {"version", "flags", "sharing", "resources", "imex", "health"}));
  EXPECT_EQ(ts["version"].as<std::string>(), "v1");
  EXPECT_EQ(keys(ts["sharing"]), (std::set<std::string>{"timeSlicing"}));
  const auto r = ts["sharing"]["timeSlicing"];
  EXPECT_TRUE(
      subset(keys(r), {"renameByDefault", "failRequestsGreaterThanOne", "resources", "strategy"}));
  EXPECT_EQ(r["resources"][0]["name"].as<std::string>(), "nvidia.com/gpu");
  EXPECT_EQ(r["resources"][0]["replicas"].as<int>(), 2);
  EXPECT_TRUE(subset(keys(r["resources"][0]), {"name", "rename", "devices", "replicas"}));
  const auto mps = YAML::Load(file(files, "mix-gpu1-device-plugin.yaml").text);
  EXPECT_EQ(keys(mps["sharing"]), (std::set<std::string>{"mps"}));
  EXPECT_EQ(mps["sharing"]["mps"]["resources"][0]["replicas"].as<int>(), 2);

  const auto mig = YAML::Load(file(files, "mix-mig-parted.yaml").text);
  EXPECT_EQ(keys(mig), (std::set<std::string>{"version", "mig-configs"}));
  const auto spec = mig["mig-configs"]["mix-gpu2"];
  ASSERT_TRUE(spec.IsSequence());
  EXPECT_TRUE(subset(keys(spec[0]), {"device-filter", "devices", "mig-enabled", "mig-devices"}));
  EXPECT_EQ(spec[0]["devices"][0].as<int>(), 2);
  EXPECT_TRUE(spec[0]["mig-enabled"].as<bool>());
  EXPECT_EQ(spec[0]["mig-devices"]["3g.40gb"].as<int>(), 2);
}

TEST(PlanK8s, PodsRequestTheirShare) {
  std::map<std::string, JobCommand> cmds;
  cmds["small"] = {{"python3", "train.py"}, {{"X", "1"}}, "/w"};
  const auto files = emit_k8s(timeslice_and_mig_plan(), cmds, {"mix", "img", "2.9.0", "ray"});
  const auto docs = YAML::LoadAll(file(files, "mix-pods.yaml").text);
  ASSERT_EQ(docs.size(), 6U);
  for (const auto& d : docs) {
    EXPECT_EQ(d["apiVersion"].as<std::string>(), "v1");
    EXPECT_EQ(d["kind"].as<std::string>(), "Pod");
    EXPECT_TRUE(subset(keys(d), {"apiVersion", "kind", "metadata", "spec"}));
    EXPECT_TRUE(subset(keys(d["spec"]), {"restartPolicy", "nodeSelector", "containers"}));
    const auto c = d["spec"]["containers"][0];
    EXPECT_TRUE(subset(keys(c), {"name", "image", "command", "workingDir", "env", "resources"}));
    EXPECT_EQ(c["command"][1].as<std::string>(), "train.py");
  }
  // Time-sliced: one replica of nvidia.com/gpu on a node running the group's config.
  EXPECT_EQ(docs[0]["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"].as<int>(), 1);
  EXPECT_EQ(docs[0]["spec"]["nodeSelector"]["nvidia.com/device-plugin.config"].as<std::string>(),
            "mix-gpu0");
  // MPS limits: the client's share as CUDA_MPS_ACTIVE_THREAD_PERCENTAGE.
  bool found = false;
  for (const auto& e : docs[2]["spec"]["containers"][0]["env"]) {
    if (e["name"].as<std::string>() == "CUDA_MPS_ACTIVE_THREAD_PERCENTAGE") {
      EXPECT_EQ(e["value"].as<std::string>(), "70");
      found = true;
    }
  }
  EXPECT_TRUE(found);
  // MIG: the mixed strategy's resource name.
  EXPECT_EQ(
      docs[4]["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/mig-3g.40gb"].as<int>(),
      1);
  EXPECT_FALSE(docs[4]["spec"]["nodeSelector"]);
}

// KubeRay's ray.io/v1 RayCluster and RayJob fields (ray-operator/apis/ray/v1).
TEST(PlanK8s, KubeRayWorkersAskForFractionalGpus) {
  const auto files =
      emit_kuberay(timeslice_and_mig_plan(), {"mix", "img", "2.9.0", "rayproject/ray:2.9.0-gpu"},
                   "python driver.py");
  const auto rc = YAML::Load(file(files, "mix-raycluster.yaml").text);
  EXPECT_EQ(rc["apiVersion"].as<std::string>(), "ray.io/v1");
  EXPECT_EQ(rc["kind"].as<std::string>(), "RayCluster");
  EXPECT_TRUE(subset(keys(rc["spec"]),
                     {"rayVersion", "headGroupSpec", "workerGroupSpecs", "enableInTreeAutoscaling",
                      "autoscalerOptions", "suspend", "headServiceAnnotations"}));
  EXPECT_TRUE(subset(keys(rc["spec"]["headGroupSpec"]),
                     {"rayStartParams", "template", "serviceType", "headService"}));
  const auto workers = rc["spec"]["workerGroupSpecs"];
  ASSERT_EQ(workers.size(), 6U);
  for (const auto& w : workers) {
    EXPECT_TRUE(subset(keys(w), {"groupName", "replicas", "minReplicas", "maxReplicas",
                                 "rayStartParams", "template", "numOfHosts", "suspend"}));
  }
  EXPECT_EQ(workers[0]["rayStartParams"]["num-gpus"].as<std::string>(), "0.5");  // 1 of 2
  EXPECT_EQ(workers[2]["rayStartParams"]["num-gpus"].as<std::string>(), "0.7");  // MPS 70%
  EXPECT_EQ(workers[4]["rayStartParams"]["num-gpus"].as<std::string>(), "1");    // a MIG slice
  EXPECT_EQ(workers[4]["template"]["spec"]["containers"][0]["resources"]["limits"]
                   ["nvidia.com/mig-3g.40gb"]
                       .as<int>(),
            1);
  const auto job = YAML::Load(file(files, "mix-rayjob.yaml").text);
  EXPECT_EQ(job["kind"].as<std::string>(), "RayJob");
  EXPECT_TRUE(subset(keys(job["spec"]), {"entrypoint", "rayClusterSpec", "shutdownAfterJobFinishes",
                                         "ttlSecondsAfterFinished", "runtimeEnvYAML"}));
  EXPECT_EQ(job["spec"]["entrypoint"].as<std::string>(), "python driver.py");
  EXPECT_EQ(job["spec"]["rayClusterSpec"]["workerGroupSpecs"].size(), 6U);
}

}  // namespace
}  // namespace colo::cluster
