#pragma once
// Cluster state and scheduling policies for fractional-GPU pods (docs/sim.md). Pure and
// deterministic for a seed. GPU amounts are in milli-GPU (1000 = one GPU).
#include <array>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/result.hpp"
#include "sim/trace.hpp"

namespace colo::csim {

class GoRand;

constexpr int k_max_gpus = 8;
constexpr int k_milli = 1000;

// Which simulator `colo sim` is: `artifact` reproduces the FGD authors' Kubernetes-based
// simulator (hkust-adsl/kubernetes-scheduler-simulator, the source of the published numbers);
// `exact` is colo's own model (exact scores, uniform random ties, draws with replacement).
// docs/sim.md lists every difference with the artifact's file:line.
enum class Semantics { artifact, exact };

// One switch per difference between the two; switches_for() gives each semantics' defaults.
struct SimSwitches {
  bool int_scores = true;         // Kubernetes integer node scores (else exact doubles)
  bool name_ties = true;          // equal scores: the node first in the seeded name order
  bool artifact_formulas = true;  // the artifact's score formulas and per-policy GPU choice
  bool target_cpu_pods = true;    // FGD's target workload M counts CPU-only pods
  int target_top_pct = 95;        // M keeps the most popular pod specs up to this % of pods
  bool artifact_workload = true;  // each trace pod once, shuffled, then draws (else draws only)
  bool bin_metric = true;         // "allocated at X%" = mean over the events of the X% bin
};
SimSwitches switches_for(Semantics s);

// How GPU shares are served (`colo sim --mechanism`, docs/sim.md "What-if"): `fractional` is
// the trace's own model (a share is gpu_milli of one GPU); `mig` rounds a share up to the
// smallest MIG profile of the GPU model with at least its compute and memory fraction, placed
// by the profile's legal memory-slice starts (src/gpu/mig); `mps` caps the clients per GPU;
// `timeslice` lets shares time-share a GPU as long as their memory (gpu_milli) fits.
enum class Mechanism { fractional, mig, mps, timeslice };
Result<Mechanism> mechanism_from(const std::string& name);
std::string mechanism_name(Mechanism m);
struct MechanismOptions {
  Mechanism kind = Mechanism::fractional;
  std::string mig_model;  // mig: treat every GPU as this model ("" = the trace's models)
  int mps_clients = 48;   // mps: clients per GPU (NVIDIA's limit since Volta)
};
Result<Semantics> semantics_from(const std::string& name);  // "artifact" | "exact"
std::string semantics_name(Semantics s);

struct NodeState {
  std::int64_t cpu_free = 0;
  std::int64_t mem_free = 0;
  int gpus = 0;
  std::array<int, k_max_gpus> gpu_free{};  // milli per GPU
  int model = -1;                          // index into Cluster::models, -1 = no GPU
  // GPU pods on the node by kind (GpuClustering's affinity): bit 0 a share, bit k k whole GPUs.
  std::uint16_t kinds = 0;
  std::array<std::uint8_t, k_max_gpus> mig{};      // mig: occupied memory slices per GPU
  std::array<std::uint8_t, k_max_gpus> clients{};  // mps: pods per GPU
  std::array<std::uint16_t, k_max_gpus> pods{};    // GPU pods per GPU, every mechanism
  [[nodiscard]] int gpu_free_total() const;
};

// A pod as the scheduler sees it.
struct Demand {
  std::int64_t cpu = 0;
  std::int64_t mem = 0;
  int num_gpu = 0;
  int milli = 0;                 // per GPU
  std::uint32_t model_mask = 0;  // allowed models (bit i = Cluster::models[i]); 0 = any
  int mig_profile = -1;          // mig: index into Cluster::mig_table; -1 = not a MIG slice
  [[nodiscard]] int gpu_total() const { return num_gpu * milli; }
  // The GpuClustering affinity bit of this demand (0 for CPU-only pods).
  [[nodiscard]] std::uint16_t kind_bit() const;
};

// Where a pod goes: a node and the GPUs it takes (milli each), empty for CPU-only pods.
struct Placement {
  int node = -1;
  int ngpu = 0;
  std::array<int, k_max_gpus> gpu{};
  int mig_start = -1;  // mig: the instance's first memory slice (set by Cluster::apply)
};

// One type of the target workload M (FGD): a demand and its share of the GPU pods.
struct TypicalPod {
  Demand demand;
  double p = 0;
};

class Cluster {
 public:
  explicit Cluster(const std::vector<TraceNode>& nodes);
  std::vector<std::string> models;  // GPU models, in first-seen order
  std::vector<TraceNode> spec;
  std::vector<NodeState> nodes;
  std::int64_t gpu_capacity = 0;  // milli

  // Demand of a trace pod; its gpu_spec mapped onto this cluster's models.
  [[nodiscard]] Demand demand_of(const TracePod& p) const;
  [[nodiscard]] bool fits(const NodeState& n, const Demand& d) const;
  // Every distinct way to place `d` on a node in state `n`, appended to `out` (GPUs of equal
  // free amount are one choice; the placements' node is left -1 for the caller to set).
  void choices(const NodeState& n, const Demand& d, std::vector<Placement>& out) const;
  // +1 allocates (returns the MIG instance's start for a MIG slice, else -1), -1 releases.
  int apply(const Placement& pl, const Demand& d, int sign);
  [[nodiscard]] std::int64_t gpu_allocated() const { return m_gpu_alloc; }
  // Serve shares by `m`: errors for an unknown --mig-model or a fleet mixing models with and
  // without MIG tables; a fleet without any MIG table serves each share with a whole GPU, and
  // mechanism_note() says so.
  Result<void> set_mechanism(const MechanismOptions& m);
  [[nodiscard]] const MechanismOptions& mechanism() const { return m_mech; }
  [[nodiscard]] const std::string& mechanism_note() const { return m_mech_note; }
  // Whether GPU g of n can take (one GPU's part of) `d`: free amount, MIG start, MPS clients.
  [[nodiscard]] bool gpu_ok(const NodeState& n, int g, const Demand& d) const;
  // Mean over placed GPU pods of the pods in their fault domain (MPS: every pod on the GPU;
  // MIG and time-slicing: the pod alone); 0 with fractional shares (no mechanism chosen).
  [[nodiscard]] double blast_radius() const;
  struct MigProfileSlots {
    std::string name;
    int sm_slices = 0;
    int mem_slices = 0;
    std::vector<int> starts;
  };
  std::vector<MigProfileSlots> mig_table;  // mig: the fleet's profiles ("" when none)

 private:
  MechanismOptions m_mech;
  std::string m_mech_note;
  std::int64_t m_gpu_alloc = 0;
  std::vector<std::array<std::uint16_t, k_max_gpus + 1>> m_kind_count;  // per node, per kind
};

// FGD's fragmentation of a node measured against the target workload (milli-GPU): for each
// typical pod, the node's free GPU that pod could not use (all of it when the pod cannot run
// there for lack of GPU, CPU or model, and for a CPU-only pod, which uses no GPU; else the
// GPUs with less free than the pod's per-GPU demand), weighted by the pod's share. As the
// authors' simulator: CPU but not memory decides whether a typical pod could run.
double node_fragmentation(const NodeState& n, const std::vector<TypicalPod>& target);

// The target workload of a pod list: every GPU pod demand with its frequency (colo's exact
// model), or as `sw` says (the artifact: CPU-only pods too, the most popular specs up to
// sw.target_top_pct % of the pods, renormalised).
std::vector<TypicalPod> typical_pods(const Cluster& c, const std::vector<TracePod>& pods);
std::vector<TypicalPod> typical_pods(const Cluster& c, const std::vector<TracePod>& pods,
                                     const SimSwitches& sw);

class Policy {
 public:
  virtual ~Policy() = default;
  [[nodiscard]] virtual std::string name() const = 0;
  // Where to put `d`, or node -1 when it fits nowhere. `rng` breaks ties where the policy says.
  virtual Placement place(const Cluster& c, const Demand& d, std::mt19937_64& rng) = 0;
  // Called after every allocation/release on node `i` (policies with per-node caches).
  virtual void changed(const Cluster& c, int i) {
    (void)c;
    (void)i;
  }
};

// How a policy is built beyond its name and target workload.
struct PolicyOptions {
  SimSwitches sw = switches_for(Semantics::exact);
  // sw.name_ties: each node's place in the seeded name order (lower wins a tie); empty = index.
  std::vector<int> node_rank;
  GoRand* go = nullptr;  // artifact `random`: the generator it shares with the workload
  // colo: fragmentation is measured against the typical pods weighted by count x (GPU asked)^w,
  // w = 0 being FGD's count weights (w > 0 favours big pods, w < 0 shares); experiments
  // calibrate w per trace (calibrate_colo, docs/sim.md).
  double colo_gpu_weight = 0;
  // colo in the artifact's formulas: the weight a of its look-ahead term (docs/sim.md); 0 is
  // exactly FGD. Experiments calibrate it per trace (calibrate_colo_lookahead).
  double colo_lookahead = 0;
};

// "random", "firstfit", "bestfit", "dotprod", "clustering", "packing", "fgd", "colo".
Result<std::unique_ptr<Policy>> make_policy(const std::string& name, std::vector<TypicalPod> target,
                                            const PolicyOptions& opt);
// colo's exact model (Semantics::exact) with colo's weight `colo_gpu_weight`.
Result<std::unique_ptr<Policy>> make_policy(const std::string& name, std::vector<TypicalPod> target,
                                            double colo_gpu_weight = 0);
std::vector<std::string> policy_names();
// The policies `--policy all` runs: the six the FGD paper publishes, then colo's (exact adds
// firstfit).
std::vector<std::string> default_policies(Semantics s);

}  // namespace colo::csim
