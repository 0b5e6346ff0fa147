#include "sim/cluster.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <tuple>

#include "gpu/mig/mig_profiles.hpp"
#include "sim/gorand.hpp"

namespace colo::csim {

SimSwitches switches_for(Semantics s) {
  SimSwitches sw;  // the artifact's
  if (s == Semantics::exact) {
    sw.int_scores = false;
    sw.name_ties = false;
    sw.artifact_formulas = false;
    sw.target_cpu_pods = false;
    sw.target_top_pct = 100;
    sw.artifact_workload = false;
    sw.bin_metric = false;
  }
  return sw;
}

Result<Semantics> semantics_from(const std::string& name) {
  if (name == "artifact") {
    return Semantics::artifact;
  }
  if (name == "exact") {
    return Semantics::exact;
  }
  return fail(ErrorCode::invalid_argument,
              fmt::format("unknown semantics '{}' (artifact or exact)", name));
}

std::string semantics_name(Semantics s) {
  return s == Semantics::artifact ? "artifact" : "exact";
}

Result<Mechanism> mechanism_from(const std::string& name) {
  for (const auto m :
       {Mechanism::fractional, Mechanism::mig, Mechanism::mps, Mechanism::timeslice}) {
    if (name == mechanism_name(m)) {
      return m;
    }
  }
  return fail(ErrorCode::invalid_argument,
              fmt::format("unknown mechanism '{}' (fractional, mig, mps or timeslice)", name));
}

std::string mechanism_name(Mechanism m) {
  switch (m) {
    case Mechanism::mig:
      return "mig";
    case Mechanism::mps:
      return "mps";
    case Mechanism::timeslice:
      return "timeslice";
    default:
      return "fractional";
  }
}

namespace {
// The first legal start of MIG profile p on a GPU whose occupied memory slices are `mask`.
int mig_start(const Cluster::MigProfileSlots& p, std::uint8_t mask) {
  for (const int s : p.starts) {
    const auto bits = static_cast<unsigned>(((1U << p.mem_slices) - 1U) << s);
    if ((mask & bits) == 0 && s + p.mem_slices <= 8) {
      return s;
    }
  }
  return -1;
}
}  // namespace

Result<void> Cluster::set_mechanism(const MechanismOptions& m) {
  m_mech = m;
  m_mech_note.clear();
  mig_table.clear();
  if (m.kind == Mechanism::mps && m.mps_clients < 1) {
    return fail(ErrorCode::invalid_argument, "the MPS client limit must be at least 1");
  }
  if (m.kind != Mechanism::mig) {
    return {};
  }
  auto load = [&](const std::string& model) -> bool {
    auto t = mig_profiles_for(model);
    if (!t) {
      return false;
    }
    for (const auto& p : *t) {
      if (p.name.find('+') == std::string::npos) {  // media-extension variants are alike
        mig_table.push_back({p.name, p.sm_slices, p.mem_slices, p.starts});
      }
    }
    return true;
  };
  if (!m.mig_model.empty()) {
    if (!load(m.mig_model)) {
      return fail(mig_profiles_for(m.mig_model).error());
    }
    m_mech_note = fmt::format("MIG: every GPU taken as {} (--mig-model)", m.mig_model);
    return {};
  }
  std::vector<std::string> with;
  std::vector<std::string> without;
  for (const auto& model : models) {
    (mig_profiles_for(model) ? with : without).push_back(model);
  }
  if (!with.empty() && !without.empty()) {
    return fail(ErrorCode::invalid_argument,
                fmt::format("MIG what-if: the models {} have MIG tables and {} have none; pass "
                            "--mig-model to take every GPU as one model",
                            fmt::join(with, ", "), fmt::join(without, ", ")));
  }
  if (with.size() > 1) {
    return fail(ErrorCode::invalid_argument,
                "MIG what-if on several MIG models at once is not supported; pass --mig-model");
  }
  if (!with.empty()) {
    load(with.front());
    return {};
  }
  m_mech_note = fmt::format(
      "MIG: no MIG profile table for {} (no MIG on these GPUs), so each share takes a whole "
      "GPU; --mig-model NAME takes every GPU as that model",
      fmt::join(without, ", "));
  return {};
}

bool Cluster::gpu_ok(const NodeState& n, int g, const Demand& d) const {
  const auto gi = static_cast<std::size_t>(g);
  if (n.gpu_free[gi] < d.milli) {
    return false;
  }
  if (d.mig_profile >= 0 &&
      mig_start(mig_table[static_cast<std::size_t>(d.mig_profile)], n.mig[gi]) < 0) {
    return false;
  }
  return !(m_mech.kind == Mechanism::mps && n.clients[gi] >= m_mech.mps_clients);
}

double Cluster::blast_radius() const {
  if (m_mech.kind == Mechanism::fractional) {
    return 0;
  }
  if (m_mech.kind != Mechanism::mps) {
    return 1;
  }
  double pods = 0;
  double exposure = 0;
  for (const auto& n : nodes) {
    for (int g = 0; g < n.gpus; ++g) {
      const double c = n.clients[static_cast<std::size_t>(g)];
      pods += c;
      exposure += c * c;
    }
  }
  return pods > 0 ? exposure / pods : 0;
}

std::uint16_t Demand::kind_bit() const {
  if (num_gpu == 0) {
    return 0;
  }
  return static_cast<std::uint16_t>(1U << (num_gpu == 1 && milli < k_milli ? 0 : num_gpu));
}

int NodeState::gpu_free_total() const {
  int s = 0;
  for (int g = 0; g < gpus; ++g) {
    s += gpu_free[static_cast<std::size_t>(g)];
  }
  return s;
}

Cluster::Cluster(const std::vector<TraceNode>& ns) : spec(ns) {
  for (const auto& n : ns) {
    NodeState s;
    s.cpu_free = n.cpu_milli;
    s.mem_free = n.memory_mib;
    s.gpus = std::min(n.gpus, k_max_gpus);
    for (int g = 0; g < s.gpus; ++g) {
      s.gpu_free[static_cast<std::size_t>(g)] = k_milli;
    }
    if (!n.model.empty()) {
      auto it = std::find(models.begin(), models.end(), n.model);
      if (it == models.end()) {
        models.push_back(n.model);
        it = models.end() - 1;
      }
      s.model = static_cast<int>(it - models.begin());
    }
    gpu_capacity += static_cast<std::int64_t>(s.gpus) * k_milli;
    nodes.push_back(s);
  }
  m_kind_count.resize(nodes.size());
}

Demand Cluster::demand_of(const TracePod& p) const {
  Demand d{p.cpu_milli, p.memory_mib, p.num_gpu, p.num_gpu > 0 ? p.gpu_milli : 0, 0};
  for (const auto& m : p.gpu_spec) {
    for (std::size_t i = 0; i < models.size() && i < 32; ++i) {
      if (models[i] == m) {
        d.model_mask |= 1U << i;
      }
    }
  }
  if (!p.gpu_spec.empty() && d.model_mask == 0) {
    d.model_mask = 1U << 31;  // asks only for models this cluster lacks: fits nowhere
  }
  if (m_mech.kind == Mechanism::mig && d.num_gpu == 1 && d.milli < k_milli) {
    // The smallest profile with at least the share's compute (SM slices of 7) and memory
    // (slices of 8); it holds floor(SM slices / 7) of the GPU (7 slices: all of it).
    d.milli = k_milli;
    int best = -1;
    for (std::size_t i = 0; i < mig_table.size(); ++i) {
      const auto& m = mig_table[i];
      if (m.sm_slices * k_milli >= p.gpu_milli * 7 && m.mem_slices * k_milli >= p.gpu_milli * 8 &&
          (best < 0 || std::tie(m.sm_slices, m.mem_slices) <
                           std::tie(mig_table[static_cast<std::size_t>(best)].sm_slices,
                                    mig_table[static_cast<std::size_t>(best)].mem_slices))) {
        best = static_cast<int>(i);
      }
    }
    if (best >= 0 && mig_table[static_cast<std::size_t>(best)].sm_slices < 7) {
      d.mig_profile = best;
      d.milli = mig_table[static_cast<std::size_t>(best)].sm_slices * k_milli / 7;
    }
  }
  return d;
}

namespace {
bool model_ok(const NodeState& n, const Demand& d) {
  return d.model_mask == 0 || (n.model >= 0 && (d.model_mask >> n.model) & 1U);
}
int gpus_with(const NodeState& n, int milli) {
  int k = 0;
  for (int g = 0; g < n.gpus; ++g) {
    k += n.gpu_free[static_cast<std::size_t>(g)] >= milli ? 1 : 0;
  }
  return k;
}
}  // namespace

bool Cluster::fits(const NodeState& n, const Demand& d) const {
  if (n.cpu_free < d.cpu || n.mem_free < d.mem) {
    return false;
  }
  if (d.num_gpu == 0) {
    return true;
  }
  if (!model_ok(n, d)) {
    return false;
  }
  int ok = 0;
  for (int g = 0; g < n.gpus; ++g) {
    ok += gpu_ok(n, g, d) ? 1 : 0;
  }
  return ok >= d.num_gpu;
}

void Cluster::choices(const NodeState& n, const Demand& d, std::vector<Placement>& out) const {
  if (!fits(n, d)) {
    return;
  }
  Placement p;
  if (d.num_gpu == 0) {
    out.push_back(p);
    return;
  }
  if (d.num_gpu == 1) {
    // One GPU: each distinct GPU state (free amount, MIG slices, MPS clients) that fits is
    // one choice.
    for (int g = 0; g < n.gpus; ++g) {
      if (!gpu_ok(n, g, d)) {
        continue;
      }
      const auto gi = static_cast<std::size_t>(g);
      bool seen = false;
      for (int h = 0; h < g && !seen; ++h) {
        const auto hi = static_cast<std::size_t>(h);
        seen = gpu_ok(n, h, d) && n.gpu_free[hi] == n.gpu_free[gi] && n.mig[hi] == n.mig[gi] &&
               n.clients[hi] == n.clients[gi];
      }
      if (!seen) {
        p.ngpu = 1;
        p.gpu[0] = g;
        out.push_back(p);
      }
    }
    return;
  }
  // Several whole GPUs: any fully free ones are equivalent.
  p.ngpu = 0;
  for (int g = 0; g < n.gpus && p.ngpu < d.num_gpu; ++g) {
    if (gpu_ok(n, g, d)) {
      p.gpu[static_cast<std::size_t>(p.ngpu++)] = g;
    }
  }
  out.push_back(p);
}

int Cluster::apply(const Placement& pl, const Demand& d, int sign) {
  auto& n = nodes[static_cast<std::size_t>(pl.node)];
  n.cpu_free -= sign * d.cpu;
  n.mem_free -= sign * d.mem;
  int start = -1;
  for (int k = 0; k < pl.ngpu; ++k) {
    const auto g = static_cast<std::size_t>(pl.gpu[static_cast<std::size_t>(k)]);
    if (d.mig_profile >= 0) {
      const auto& m = mig_table[static_cast<std::size_t>(d.mig_profile)];
      start = sign > 0 ? mig_start(m, n.mig[g]) : pl.mig_start;
      const auto bits = static_cast<unsigned>(((1U << m.mem_slices) - 1U) << start);
      n.mig[g] = static_cast<std::uint8_t>(sign > 0 ? (n.mig[g] | bits) : (n.mig[g] & ~bits));
    }
    n.gpu_free[g] -= sign * d.milli;
    n.pods[g] = static_cast<std::uint16_t>(n.pods[g] + sign);
    if (m_mech.kind == Mechanism::mps) {
      n.clients[g] = static_cast<std::uint8_t>(n.clients[g] + sign);
    }
  }
  m_gpu_alloc += static_cast<std::int64_t>(sign) * d.milli * pl.ngpu;
  if (const auto bit = d.kind_bit(); bit != 0) {
    int k = 0;
    while ((bit >> k) != 1U) {
      ++k;
    }
    auto& count = m_kind_count[static_cast<std::size_t>(pl.node)][static_cast<std::size_t>(k)];
    count = static_cast<std::uint16_t>(count + sign);
    n.kinds = static_cast<std::uint16_t>(count > 0 ? (n.kinds | bit) : (n.kinds & ~bit));
  }
  return start;
}

double node_fragmentation(const NodeState& n, const std::vector<TypicalPod>& target) {
  const int total = n.gpu_free_total();
  if (total == 0) {
    return 0;
  }
  double f = 0;
  for (const auto& t : target) {
    const auto& d = t.demand;
    if (d.num_gpu == 0) {
      f += t.p * total;  // uses no GPU: every free GPU is a fragment for it (frag.go:557-563)
      continue;
    }
    const bool runs = model_ok(n, d) && n.cpu_free >= d.cpu && gpus_with(n, d.milli) >= d.num_gpu;
    if (!runs) {
      f += t.p * total;
      continue;
    }
    int unusable = 0;
    for (int g = 0; g < n.gpus; ++g) {
      const int free = n.gpu_free[static_cast<std::size_t>(g)];
      unusable += free < d.milli ? free : 0;
    }
    f += t.p * unusable;
  }
  return f;
}

std::vector<TypicalPod> typical_pods(const Cluster& c, const std::vector<TracePod>& pods) {
  return typical_pods(c, pods, switches_for(Semantics::exact));
}

std::vector<TypicalPod> typical_pods(const Cluster& c, const std::vector<TracePod>& pods,
                                     const SimSwitches& sw) {
  // Keyed as the artifact's PodResource (CPU, milli-GPU per GPU, GPUs, model; no memory).
  std::map<std::tuple<std::int64_t, int, int, std::uint32_t>, double> count;
  double total = 0;
  for (const auto& p : pods) {
    if (p.num_gpu == 0 && !sw.target_cpu_pods) {
      continue;
    }
    const auto d = c.demand_of(p);
    count[{d.cpu, d.num_gpu, d.milli, d.model_mask}] += 1;
    total += 1;
  }
  std::vector<TypicalPod> out;
  for (const auto& [k, n] : count) {
    Demand d;
    d.cpu = std::get<0>(k);
    d.num_gpu = std::get<1>(k);
    d.milli = std::get<2>(k);
    d.model_mask = std::get<3>(k);
    out.push_back({d, n});
  }
  if (sw.target_top_pct < 100) {
    // The artifact (frag.go:427-475): by decreasing count, equal counts by decreasing
    // (CPU, milli-GPU, GPUs, model); take specs until they make up the threshold, renormalise.
    std::sort(out.begin(), out.end(), [](const TypicalPod& a, const TypicalPod& b) {
      if (a.p != b.p) {
        return a.p > b.p;
      }
      const auto& x = a.demand;
      const auto& y = b.demand;
      return std::tie(x.cpu, x.milli, x.num_gpu, x.model_mask) >
             std::tie(y.cpu, y.milli, y.num_gpu, y.model_mask);
    });
    const double want = sw.target_top_pct * total / 100.0;
    double cum = 0;
    std::size_t keep = 0;
    while (keep < out.size() && cum < want) {
      cum += out[keep++].p;
    }
    out.resize(keep);
    total = cum;
  }
  for (auto& t : out) {
    t.p /= total;
  }
  return out;
}

namespace {

class FirstFitPolicy final : public Policy {
 public:
  [[nodiscard]] std::string name() const override { return "firstfit"; }
  Placement place(const Cluster& c, const Demand& d, std::mt19937_64&) override {
    for (int i = 0; i < static_cast<int>(c.nodes.size()); ++i) {
      const auto& n = c.nodes[static_cast<std::size_t>(i)];
      if (!c.fits(n, d)) {
        continue;
      }
      Placement p;
      p.node = i;
      for (int g = 0; g < n.gpus && p.ngpu < d.num_gpu; ++g) {
        if (c.gpu_ok(n, g, d)) {
          p.gpu[static_cast<std::size_t>(p.ngpu++)] = g;
        }
      }
      return p;
    }
    return {};
  }
};

std::int64_t max_cpu(const Cluster& c) {
  std::int64_t m = 1;
  for (const auto& n : c.spec) {
    m = std::max(m, n.cpu_milli);
  }
  return m;
}

// Node states as a hashable key for the fragmentation memo (memory does not enter it): CPU
// and model, and each GPU as (free, MIG slices, MPS clients), sorted (the last two are 0
// unless those mechanisms are on).
struct Key {
  std::uint64_t a = 0;
  std::array<std::uint32_t, k_max_gpus> f{};
  bool operator==(const Key& o) const = default;
};
struct KeyHash {
  std::size_t operator()(const Key& k) const {
    std::uint64_t h = k.a * 0x9E3779B97F4A7C15ULL;
    for (const auto x : k.f) {
      h = (h ^ x) * 0x100000001B3ULL;
    }
    return static_cast<std::size_t>(h);
  }
};
Key key_of(const NodeState& n) {
  Key k;
  for (int g = 0; g < n.gpus; ++g) {
    const auto gi = static_cast<std::size_t>(g);
    k.f[gi] = (static_cast<std::uint32_t>(n.gpu_free[gi]) + 1) << 16 |
              static_cast<std::uint32_t>(n.mig[gi]) << 8 | n.clients[gi];
  }
  std::sort(k.f.begin(), k.f.begin() + n.gpus);
  k.a = static_cast<std::uint64_t>(n.cpu_free) << 8 | static_cast<std::uint64_t>(n.model + 1);
  return k;
}

// The same GPU state (free amount, MIG slices, MPS clients).
bool same_gpu(const NodeState& a, int ga, const NodeState& b, int gb) {
  const auto i = static_cast<std::size_t>(ga);
  const auto j = static_cast<std::size_t>(gb);
  return a.gpu_free[i] == b.gpu_free[j] && a.mig[i] == b.mig[j] && a.clients[i] == b.clients[j];
}

// A node's state and capacity as a group key: nodes with equal keys are interchangeable for
// the policy (same choices up to a GPU permutation, same scores). `extra` is the policy's own
// part of the state (GpuClustering's pod kinds).
struct GroupKey {
  Key k;
  std::int64_t mem = 0;
  std::int64_t cap_cpu = 0;
  std::uint32_t extra = 0;
  bool operator==(const GroupKey& o) const {
    return k == o.k && mem == o.mem && cap_cpu == o.cap_cpu && extra == o.extra;
  }
};
struct GroupKeyHash {
  std::size_t operator()(const GroupKey& g) const {
    return KeyHash{}(g.k) ^ static_cast<std::size_t>(g.mem) * 0xC2B2AE3D27D4EB4FULL ^
           static_cast<std::size_t>(g.cap_cpu) * 0x165667B19E3779F9ULL ^ g.extra;
  }
};

// A placement's score, lower is better: `node` ranks nodes; `tie` breaks equal `node` scores
// across nodes (colo); `gpu` only chooses among the GPUs of one node (a policy's GPU choice).
struct Score {
  double node = 0;
  double tie = 0;
  double gpu = 0;
};

// How equal scores are broken.
enum class Ties {
  random,  // uniformly over the tied (node, placement) pairs, as stock Kubernetes
  first,   // by Score::tie, then the first such group's first node (colo's exact model)
  rank,    // by Score::tie, then the lowest node rank and the lowest GPU index (the artifact)
};

constexpr double k_eps = 1e-9;

// lexicographic (node, tie) comparison with a tolerance; -1, 0, +1
int compare(double a_node, double a_tie, double b_node, double b_tie) {
  if (a_node < b_node - k_eps) {
    return -1;
  }
  if (a_node > b_node + k_eps) {
    return 1;
  }
  if (a_tie < b_tie - k_eps) {
    return -1;
  }
  return a_tie > b_tie + k_eps ? 1 : 0;
}

// Every policy but firstfit and the artifact's random scores each feasible placement and takes
// the best; ties as `Ties` says.
// Nodes in identical states are kept in groups and scored once per group, and each group keeps
// its best placements per distinct pod demand until its state changes: the cost per pod grows
// with the number of distinct node states, and mostly reads one cached entry per group.
class GroupedPolicy : public Policy {
 public:
  Placement place(const Cluster& c, const Demand& d, std::mt19937_64& rng) override {
    if (m_group_of.size() != c.nodes.size()) {
      build(c);
    }
    auto& cache = m_cache[demand_id(d)];
    if (cache.size() < m_groups.size()) {
      cache.resize(m_groups.size());
    }
    // Best group (its cached best placement); random ties: a reservoir weighted by the tied
    // (node, placement) pairs, so each is equally likely.
    int pick_g = -1;
    double best = std::numeric_limits<double>::infinity();
    double best_tie = std::numeric_limits<double>::infinity();
    int best_rank = std::numeric_limits<int>::max();
    std::uint64_t tied_weight = 0;
    for (int g = 0; g < static_cast<int>(m_groups.size()); ++g) {
      auto& grp = m_groups[static_cast<std::size_t>(g)];
      if (grp.members.empty()) {
        continue;
      }
      auto& e = cache[static_cast<std::size_t>(g)];
      if (e.version != grp.version) {
        score(c, d, grp, e);
      }
      if (e.n_tied == 0) {
        continue;  // does not fit
      }
      if (m_ties != Ties::random) {
        const int cmp = compare(e.node, e.tie, best, best_tie);
        const int rank = m_ties == Ties::rank ? grp.ranked.begin()->first : 0;
        if (cmp < 0 || (cmp == 0 && rank < best_rank)) {
          best = e.node;
          best_tie = e.tie;
          best_rank = rank;
          pick_g = g;
        }
        continue;
      }
      const auto weight = static_cast<std::uint64_t>(grp.members.size()) * e.n_tied;
      if (e.node < best - k_eps) {
        best = e.node;
        tied_weight = weight;
        pick_g = g;
      } else if (std::fabs(e.node - best) <= k_eps) {
        tied_weight += weight;
        if (std::uniform_int_distribution<std::uint64_t>(0, tied_weight - 1)(rng) < weight) {
          pick_g = g;
        }
      }
    }
    if (pick_g < 0) {
      return {};
    }
    const auto& grp = m_groups[static_cast<std::size_t>(pick_g)];
    const auto& e = cache[static_cast<std::size_t>(pick_g)];
    if (m_ties == Ties::rank) {
      return on_node_lowest(c, grp.rep, e, grp.ranked.begin()->second, d);
    }
    std::size_t choice = 0;
    std::size_t m = 0;
    if (m_ties == Ties::random) {
      choice = std::uniform_int_distribution<std::size_t>(0, e.n_tied - 1U)(rng);
      m = std::uniform_int_distribution<std::size_t>(0, grp.members.size() - 1)(rng);
    }
    Placement p;
    p.ngpu = d.num_gpu;
    p.gpu[0] = e.gpu[choice];
    return on_node(c, grp.rep, p, grp.members[m], d);
  }

  void changed(const Cluster& c, int i) override {
    if (m_group_of.size() != c.nodes.size()) {
      return;  // not built yet: place() builds from the current state
    }
    const auto k = group_key(c, i);
    if (m_groups[static_cast<std::size_t>(m_group_of[static_cast<std::size_t>(i)])].key == k) {
      return;
    }
    remove(i);
    add(c, i, k);
  }

 protected:
  GroupedPolicy(Ties ties, std::vector<int> rank) : m_ties(ties), m_rank(std::move(rank)) {}

  struct Group {
    GroupKey key;
    NodeState rep;
    int spec_node = -1;  // a member whose TraceNode describes the group's capacity
    std::vector<int> members;
    std::set<std::pair<int, int>> ranked;                      // (rank, node) of the members
    double cached = std::numeric_limits<double>::quiet_NaN();  // the policy's, per state
    std::uint32_t version = 0;  // changes whenever the slot holds a new state
  };
  // The score of placing `d` as `p` (GPUs of g.rep) on a node of group `g`.
  virtual Score evaluate(const Cluster& c, Group& g, const Demand& d, const Placement& p) = 0;
  // The policy's own part of node i's state (nodes differing in it are scored apart).
  virtual std::uint32_t group_extra(const Cluster& /*c*/, int /*i*/) const { return 0; }

 private:
  // A group's best placements of one demand, valid while `version` is the group's.
  struct Scored {
    std::uint32_t version = 0;
    std::uint8_t n_tied = 0;  // placements tied at the best score; 0: the demand does not fit
    std::array<std::uint8_t, k_max_gpus> gpu{};  // one GPU demands: the tied GPUs of `rep`
    double node = 0;
    double tie = 0;
    double gpu_score = 0;
  };
  struct DemandKey {
    std::int64_t cpu, mem;
    int num_gpu, milli;
    std::uint32_t mask;
    bool operator==(const DemandKey&) const = default;
  };
  struct DemandKeyHash {
    std::size_t operator()(const DemandKey& k) const {
      std::uint64_t h = static_cast<std::uint64_t>(k.cpu) * 0x9E3779B97F4A7C15ULL;
      h ^= static_cast<std::uint64_t>(k.mem) + 0x7F4A7C159E3779B9ULL + (h << 6) + (h >> 2);
      h ^= (static_cast<std::uint64_t>(k.num_gpu) << 40) ^
           (static_cast<std::uint64_t>(k.milli) << 20) ^ k.mask;
      return static_cast<std::size_t>(h * 0xC2B2AE3D27D4EB4FULL);
    }
  };

  GroupKey group_key(const Cluster& c, int i) const {
    const auto& n = c.nodes[static_cast<std::size_t>(i)];
    return {key_of(n), n.mem_free, c.spec[static_cast<std::size_t>(i)].cpu_milli,
            group_extra(c, i)};
  }
  int rank_of(int i) const { return m_rank.empty() ? i : m_rank[static_cast<std::size_t>(i)]; }

  int demand_id(const Demand& d) {
    const DemandKey k{d.cpu, d.mem, d.num_gpu, d.milli, d.model_mask};
    auto [it, fresh] = m_demand_ids.emplace(k, static_cast<int>(m_cache.size()));
    if (fresh) {
      m_cache.emplace_back();
    }
    return it->second;
  }

  // Scores every placement of `d` on the group's representative into `e`.
  void score(const Cluster& c, const Demand& d, Group& grp, Scored& e) {
    e = Scored{};
    e.version = grp.version;
    if (!c.fits(grp.rep, d)) {
      return;
    }
    m_buf.clear();
    c.choices(grp.rep, d, m_buf);
    e.node = std::numeric_limits<double>::infinity();
    e.tie = std::numeric_limits<double>::infinity();
    e.gpu_score = std::numeric_limits<double>::infinity();
    for (const auto& p : m_buf) {
      const auto s = evaluate(c, grp, d, p);
      const auto gpu = static_cast<std::uint8_t>(p.ngpu == 1 ? p.gpu[0] : 0);
      if (m_ties == Ties::random) {
        if (s.node < e.node - k_eps) {
          e.node = s.node;
          e.n_tied = 1;
          e.gpu[0] = gpu;
        } else if (std::fabs(s.node - e.node) <= k_eps) {
          e.gpu[e.n_tied++] = gpu;
        }
        continue;
      }
      int cmp = compare(s.node, s.tie, e.node, e.tie);
      if (cmp == 0) {
        cmp = s.gpu < e.gpu_score - k_eps ? -1 : s.gpu > e.gpu_score + k_eps ? 1 : 0;
      }
      if (cmp < 0) {
        e.node = s.node;
        e.tie = s.tie;
        e.gpu_score = s.gpu;
        e.n_tied = 1;
        e.gpu[0] = gpu;
      } else if (cmp == 0 && m_ties == Ties::rank) {
        e.gpu[e.n_tied++] = gpu;
      }
    }
  }

  void build(const Cluster& c) {
    m_groups.clear();
    m_free.clear();
    m_index.clear();
    m_group_of.assign(c.nodes.size(), -1);
    m_pos.assign(c.nodes.size(), 0);
    for (int i = 0; i < static_cast<int>(c.nodes.size()); ++i) {
      add(c, i, group_key(c, i));
    }
  }
  void add(const Cluster& c, int i, const GroupKey& k) {
    int g = 0;
    if (auto it = m_index.find(k); it != m_index.end()) {
      g = it->second;
    } else {
      if (m_free.empty()) {
        g = static_cast<int>(m_groups.size());
        m_groups.emplace_back();
      } else {
        g = m_free.back();
        m_free.pop_back();
      }
      auto& grp = m_groups[static_cast<std::size_t>(g)];
      grp.key = k;
      grp.rep = c.nodes[static_cast<std::size_t>(i)];
      grp.spec_node = i;
      grp.cached = std::numeric_limits<double>::quiet_NaN();
      grp.version = ++m_version;
      m_index.emplace(k, g);
    }
    auto& grp = m_groups[static_cast<std::size_t>(g)];
    m_group_of[static_cast<std::size_t>(i)] = g;
    m_pos[static_cast<std::size_t>(i)] = grp.members.size();
    grp.members.push_back(i);
    if (m_ties == Ties::rank) {
      grp.ranked.emplace(rank_of(i), i);
    }
  }
  void remove(int i) {
    const int g = m_group_of[static_cast<std::size_t>(i)];
    auto& grp = m_groups[static_cast<std::size_t>(g)];
    const std::size_t pos = m_pos[static_cast<std::size_t>(i)];
    const int last = grp.members.back();
    grp.members[pos] = last;
    m_pos[static_cast<std::size_t>(last)] = pos;
    grp.members.pop_back();
    if (m_ties == Ties::rank) {
      grp.ranked.erase({rank_of(i), i});
    }
    if (grp.members.empty()) {
      m_index.erase(grp.key);
      m_free.push_back(g);
    }
  }
  // `p` chosen on the representative `rep`, carried over to node `i` (same state up to a
  // permutation of its GPUs).
  static Placement on_node(const Cluster& c, const NodeState& rep, const Placement& p, int i,
                           const Demand& d) {
    const auto& n = c.nodes[static_cast<std::size_t>(i)];
    Placement out;
    out.node = i;
    if (p.ngpu == 1) {
      for (int g = 0; g < n.gpus; ++g) {
        if (same_gpu(n, g, rep, p.gpu[0])) {
          out.ngpu = 1;
          out.gpu[0] = g;
          break;
        }
      }
      return out;
    }
    return whole_gpus(c, n, i, d);
  }
  // The tied placements of `e` carried over to node `i`: the lowest GPU index whose free
  // amount is one of the tied GPUs' (the artifact picks the first best GPU by index).
  static Placement on_node_lowest(const Cluster& c, const NodeState& rep, const Scored& e, int i,
                                  const Demand& d) {
    const auto& n = c.nodes[static_cast<std::size_t>(i)];
    if (d.num_gpu != 1) {
      return whole_gpus(c, n, i, d);
    }
    Placement out;
    out.node = i;
    for (int g = 0; g < n.gpus && out.ngpu == 0; ++g) {
      for (int t = 0; t < e.n_tied; ++t) {
        if (same_gpu(n, g, rep, e.gpu[static_cast<std::size_t>(t)])) {
          out.ngpu = 1;
          out.gpu[0] = g;
          break;
        }
      }
    }
    return out;
  }
  // Several (or no) GPUs: the first ones with enough free (whole GPUs: the first idle ones, as
  // the artifact's AllocateExclusiveGpuId, pkg/type/resource.go:348).
  static Placement whole_gpus(const Cluster& c, const NodeState& n, int i, const Demand& d) {
    Placement out;
    out.node = i;
    for (int g = 0; g < n.gpus && out.ngpu < d.num_gpu; ++g) {
      if (c.gpu_ok(n, g, d)) {
        out.gpu[static_cast<std::size_t>(out.ngpu++)] = g;
      }
    }
    return out;
  }

  Ties m_ties;
  std::vector<int> m_rank;
  std::vector<Group> m_groups;
  std::vector<int> m_free;  // indices of empty groups, for reuse
  std::unordered_map<GroupKey, int, GroupKeyHash> m_index;
  std::vector<int> m_group_of;     // node -> group
  std::vector<std::size_t> m_pos;  // node -> index in its group's members
  std::vector<Placement> m_buf;
  std::uint32_t m_version = 0;
  std::unordered_map<DemandKey, int, DemandKeyHash> m_demand_ids;
  std::vector<std::vector<Scored>> m_cache;  // [demand id][group]
};

Ties ties_of(const PolicyOptions& o) {
  return o.sw.name_ties ? Ties::rank : Ties::random;
}

// ---- colo's exact model (Semantics::exact) ----

class RandomPolicy final : public GroupedPolicy {
 public:
  explicit RandomPolicy(const PolicyOptions& o) : GroupedPolicy(ties_of(o), o.node_rank) {}
  [[nodiscard]] std::string name() const override { return "random"; }

 protected:
  Score evaluate(const Cluster&, Group&, const Demand&, const Placement&) override { return {}; }
};

class BestFitPolicy final : public GroupedPolicy {
 public:
  explicit BestFitPolicy(const PolicyOptions& o) : GroupedPolicy(ties_of(o), o.node_rank) {}
  [[nodiscard]] std::string name() const override { return "bestfit"; }

 protected:
  Score evaluate(const Cluster& c, Group& g, const Demand& d, const Placement& p) override {
    if (m_cpu == 0) {
      m_cpu = max_cpu(c);
    }
    const auto& n = g.rep;
    // Σ w (free - request) / max spec over CPU and GPU, w = 0.5 each (the authors' baseline);
    // within a node, the fullest GPU that fits.
    const double node_part =
        0.5 * static_cast<double>(n.cpu_free - d.cpu) / static_cast<double>(m_cpu) +
        0.5 * (n.gpu_free_total() - d.milli * p.ngpu) / (k_max_gpus * double{k_milli});
    const double gpu_part = p.ngpu == 1 ? n.gpu_free[static_cast<std::size_t>(p.gpu[0])] : 0;
    return {node_part + 1e-7 * gpu_part, 0, 0};
  }

 private:
  std::int64_t m_cpu = 0;
};

class DotProductPolicy final : public GroupedPolicy {
 public:
  explicit DotProductPolicy(const PolicyOptions& o) : GroupedPolicy(ties_of(o), o.node_rank) {}
  [[nodiscard]] std::string name() const override { return "dotprod"; }

 protected:
  Score evaluate(const Cluster& c, Group& g, const Demand& d, const Placement& p) override {
    const auto& n = g.rep;
    const auto& s = c.spec[static_cast<std::size_t>(g.spec_node)];
    // Tetris-style alignment of the node's free vector and the request, both normalized by
    // the node's capacity; prefers the smallest product.
    const auto cap_cpu = static_cast<double>(std::max<std::int64_t>(1, s.cpu_milli));
    const double cap_gpu = std::max(1, s.gpus) * double{k_milli};
    const double gpu_free =
        p.ngpu == 1 ? n.gpu_free[static_cast<std::size_t>(p.gpu[0])] : n.gpu_free_total();
    return {(static_cast<double>(n.cpu_free) / cap_cpu) * (static_cast<double>(d.cpu) / cap_cpu) +
                (gpu_free / cap_gpu) * (d.gpu_total() / cap_gpu),
            0, 0};
  }
};

class PackingPolicy final : public GroupedPolicy {
 public:
  explicit PackingPolicy(const PolicyOptions& o) : GroupedPolicy(ties_of(o), o.node_rank) {}
  [[nodiscard]] std::string name() const override { return "packing"; }

 protected:
  Score evaluate(const Cluster&, Group& g, const Demand& d, const Placement& p) override {
    const auto& n = g.rep;
    if (d.num_gpu == 0) {
      return {};
    }
    int fully_free = 0;
    for (int k = 0; k < n.gpus; ++k) {
      fully_free += n.gpu_free[static_cast<std::size_t>(k)] == k_milli ? 1 : 0;
    }
    // 1. an already shared GPU (least free first); 2. free GPUs of a used node (fewest);
    // 3. an idle node (fewest GPUs).
    int use_free = 0;
    int shared_left = 0;
    for (int k = 0; k < p.ngpu; ++k) {
      const int f = n.gpu_free[static_cast<std::size_t>(p.gpu[static_cast<std::size_t>(k)])];
      use_free += f == k_milli ? 1 : 0;
      shared_left += f;
    }
    if (fully_free == n.gpus) {
      return {3000.0 + fully_free, 0, 0};
    }
    if (use_free > 0) {
      return {2000.0 + use_free, 0, 0};
    }
    return {1000 + shared_left / 10.0, 0, 0};
  }
};

// ---- the artifact's policies (pkg/simulator/plugin/*.go); scores negated (lower is better) ----

// int64(x) in Go (truncation) when the artifact's integer scores are on.
double k8s_score(double x, bool int_scores) {
  return int_scores ? std::trunc(x) : x;
}

// The artifact's GPU choice for a share ("best": the GPU with the least free that fits, the
// first by index among equals; open_gpu_share.go:268-286): prefer less free.
double best_fit_gpu(const NodeState& n, const Placement& p) {
  return p.ngpu == 1 ? n.gpu_free[static_cast<std::size_t>(p.gpu[0])] : 0;
}

constexpr double k_max_spec_cpu = 128000;  // open-gpu-share/utils/const.go:15
constexpr double k_max_spec_gpu = 8000;    // open-gpu-share/utils/const.go:17

class ArtifactBestFit final : public GroupedPolicy {
 public:
  explicit ArtifactBestFit(const PolicyOptions& o)
      : GroupedPolicy(ties_of(o), o.node_rank), m_int(o.sw.int_scores) {}
  [[nodiscard]] std::string name() const override { return "bestfit"; }

 protected:
  // best_fit_score.go:66-97: (1 - Σ 0.5 (free - request) / max spec) * 100 over CPU and total
  // GPU, truncated; NormalizeScore (min-max over the nodes) keeps the order and the ties.
  Score evaluate(const Cluster&, Group& g, const Demand& d, const Placement& p) override {
    const auto& n = g.rep;
    double s = 0;
    s += static_cast<double>(n.cpu_free - d.cpu) / k_max_spec_cpu * 0.5;
    s += static_cast<double>(n.gpu_free_total() - d.gpu_total()) / k_max_spec_gpu * 0.5;
    return {-k8s_score((1.0 - s) * 100, m_int), 0, best_fit_gpu(n, p)};
  }

 private:
  bool m_int;
};

class ArtifactDotProduct final : public GroupedPolicy {
 public:
  explicit ArtifactDotProduct(const PolicyOptions& o)
      : GroupedPolicy(ties_of(o), o.node_rank), m_int(o.sw.int_scores) {}
  [[nodiscard]] std::string name() const override { return "dotprod"; }

 protected:
  // dot_product_score.go:64-100 with -dimext merge -norm max (utils.go:1259-1327): (free CPU,
  // total free GPU) . (CPU, total GPU) each / (128 CPUs, 8 GPUs), halved; 100 (1 - that).
  Score evaluate(const Cluster&, Group& g, const Demand& d, const Placement& p) override {
    const auto& n = g.rep;
    double dot = 0;
    dot += static_cast<double>(n.cpu_free) / k_max_spec_cpu *
           (static_cast<double>(d.cpu) / k_max_spec_cpu);
    dot += static_cast<double>(n.gpu_free_total()) / k_max_spec_gpu *
           (static_cast<double>(d.gpu_total()) / k_max_spec_gpu);
    const double score = 1 - dot / 2;
    return {-k8s_score(100 * score, m_int), 0, best_fit_gpu(n, p)};
  }

 private:
  bool m_int;
};

class ArtifactClustering final : public GroupedPolicy {
 public:
  explicit ArtifactClustering(const PolicyOptions& o) : GroupedPolicy(ties_of(o), o.node_rank) {}
  [[nodiscard]] std::string name() const override { return "clustering"; }

 protected:
  // gpu_clustering_score.go:32-56: nodes holding only pods of this pod's kind (75..100), of
  // several kinds including it (50..75), idle of GPU pods (25..50), other kinds (0..25); within
  // a tier the fuller node (25 (8000 - free) / 8000, integer). CPU-only pods score 0.
  Score evaluate(const Cluster&, Group& g, const Demand& d, const Placement& p) override {
    const auto& n = g.rep;
    const auto bit = d.kind_bit();
    if (bit == 0) {
      return {0, 0, best_fit_gpu(n, p)};
    }
    const std::int64_t fill = 25 * (8000 - static_cast<std::int64_t>(n.gpu_free_total())) / 8000;
    std::int64_t tier = 0;
    if ((n.kinds & bit) != 0) {
      tier = n.kinds == bit ? 75 : 50;
    } else {
      tier = n.kinds == 0 ? 25 : 0;
    }
    return {-static_cast<double>(fill + tier), 0, best_fit_gpu(n, p)};
  }
  std::uint32_t group_extra(const Cluster& c, int i) const override {
    return c.nodes[static_cast<std::size_t>(i)].kinds;
  }
};

class ArtifactPacking final : public GroupedPolicy {
 public:
  explicit ArtifactPacking(const PolicyOptions& o) : GroupedPolicy(ties_of(o), o.node_rank) {}
  [[nodiscard]] std::string name() const override { return "packing"; }

 protected:
  // gpu_packing_score.go:71-117 (integer tiers): an idle node 33 - its GPUs; a node in use
  // whose idle GPUs the pod needs 50 - those GPUs (at least 33); an already shared GPU
  // 100 - (free %)/10 (at least 50). CPU-only pods score 0 everywhere.
  Score evaluate(const Cluster&, Group& g, const Demand& d, const Placement& p) override {
    const auto& n = g.rep;
    if (d.num_gpu == 0) {
      return {0, 0, 0};
    }
    int fully_free = 0;
    for (int k = 0; k < n.gpus; ++k) {
      fully_free += n.gpu_free[static_cast<std::size_t>(k)] == k_milli ? 1 : 0;
    }
    if (fully_free == n.gpus) {
      return {-static_cast<double>(std::max(33 - fully_free, fully_free)), 0, best_fit_gpu(n, p)};
    }
    // The GPUs it would use: the ones with least free first that fit (the chosen share GPU is
    // the best-fit one too).
    // Insertion sort of at most k_max_gpus values (std::sort on a prefix of the array trips
    // gcc 12's -Warray-bounds at -O2).
    std::array<int, k_max_gpus> f = n.gpu_free;
    for (std::size_t i = 1; i < static_cast<std::size_t>(n.gpus); ++i) {
      for (std::size_t j = i; j > 0 && f[j - 1] > f[j]; --j) {
        std::swap(f[j - 1], f[j]);
      }
    }
    int need = d.num_gpu;
    int use_free = 0;
    std::int64_t ratio = 0;
    for (int k = 0; k < n.gpus && need > 0; ++k) {
      if (d.milli <= f[static_cast<std::size_t>(k)]) {
        --need;
        use_free += f[static_cast<std::size_t>(k)] == k_milli ? 1 : 0;
        ratio += static_cast<std::int64_t>(f[static_cast<std::size_t>(k)]) * 100 / k_milli;
      }
    }
    if (use_free > 0) {
      return {-static_cast<double>(std::max(50 - use_free, 33)), 0, best_fit_gpu(n, p)};
    }
    return {-static_cast<double>(std::max<std::int64_t>(100 - ratio / 10, 50)), 0,
            best_fit_gpu(n, p)};
  }
};

// FGD (fgd_score.go:62-85): the placement whose node's fragmentation F_n(M) grows least,
// scored int64(sigmoid((F before - F after) / 1000) * 100) with the artifact's integer scores;
// a share takes the first GPU with the best score.
// colo, in the artifact's formulas, adds a look-ahead to FGD's one-step measure: each GPU's
// expected eventual waste W(free) if typical pods (M's per-GPU sizes, by frequency) kept
// arriving and each were placed on it while it fits (W(f) = f when nothing in M fits, else the
// mean of W(f - s) over the fitting sizes s). It scores F + a W (a calibrated per trace; a = 0
// is FGD), otherwise FGD's integer score and ties. In colo's exact model it breaks FGD's ties
// by packing (the node left with the least free GPU, then CPU), keeping idle nodes whole.
class FgdPolicy final : public GroupedPolicy {
 public:
  FgdPolicy(std::vector<TypicalPod> target, bool colo, const PolicyOptions& o)
      : GroupedPolicy(colo && !o.sw.name_ties ? Ties::first : ties_of(o), o.node_rank),
        m_target(std::move(target)),
        m_colo(colo),
        m_artifact(o.sw.artifact_formulas),
        m_int(o.sw.int_scores),
        m_alpha(colo && o.sw.artifact_formulas ? o.colo_lookahead : 0),
        m_balance(colo && o.sw.artifact_formulas) {
    if (m_alpha != 0) {
      m_waste = eventual_waste(m_target);
    }
    if (m_balance) {
      m_cpu_per_milli = cpu_per_milli(m_target);
    }
  }
  [[nodiscard]] std::string name() const override { return m_colo ? "colo" : "fgd"; }

 protected:
  Score evaluate(const Cluster&, Group& g, const Demand& d, const Placement& p) override {
    if (std::isnan(g.cached)) {
      g.cached = frag(g.rep);
    }
    NodeState after = g.rep;
    after.cpu_free -= d.cpu;
    for (int k = 0; k < p.ngpu; ++k) {
      after.gpu_free[static_cast<std::size_t>(p.gpu[static_cast<std::size_t>(k)])] -= d.milli;
    }
    double grow = frag(after) - g.cached;
    if (m_alpha != 0) {
      for (int k = 0; k < p.ngpu; ++k) {
        const auto gi = static_cast<std::size_t>(p.gpu[static_cast<std::size_t>(k)]);
        grow += m_alpha * (m_waste[static_cast<std::size_t>(after.gpu_free[gi])] -
                           m_waste[static_cast<std::size_t>(g.rep.gpu_free[gi])]);
      }
    }
    if (m_artifact) {
      // colo: among equal scores, the placement that brings the node's CPU and GPU left
      // closest to the target workload's proportion (CPU-only pods go where CPU is spare).
      const double tie = m_balance ? imbalance(after) - imbalance(g.rep) : 0;
      return {-k8s_score(1.0 / (1.0 + std::exp(grow / 1000)) * 100, m_int), tie, 0};
    }
    const double tie =
        m_colo ? after.gpu_free_total() * 1e9 + static_cast<double>(after.cpu_free) : 0;
    return {grow, tie, 0};
  }

 private:
  static std::vector<double> eventual_waste(const std::vector<TypicalPod>& target) {
    std::vector<std::pair<int, double>> sizes;  // per-GPU milli, weight (GPUs asked x share)
    for (const auto& t : target) {
      if (t.demand.num_gpu > 0) {
        sizes.emplace_back(t.demand.milli, t.p * t.demand.num_gpu);
      }
    }
    std::vector<double> w(k_milli + 1, 0);
    for (int f = 0; f <= k_milli; ++f) {
      double fit = 0;
      double acc = 0;
      for (const auto& [s, p] : sizes) {
        if (s <= f) {
          fit += p;
          acc += p * w[static_cast<std::size_t>(f - s)];
        }
      }
      w[static_cast<std::size_t>(f)] = fit > 0 ? acc / fit : f;
    }
    return w;
  }
  // CPU (milli) per milli-GPU the target workload asks for, CPU-only pods included: the
  // proportion in which a node's free resources are of most use to the pods still to come.
  static double cpu_per_milli(const std::vector<TypicalPod>& target) {
    double cpu = 0;
    double gpu = 0;
    for (const auto& t : target) {
      cpu += t.p * static_cast<double>(t.demand.cpu);
      gpu += t.p * t.demand.gpu_total();
    }
    return gpu > 0 ? cpu / gpu : 0;
  }
  // How far a node's free CPU is from what its free GPU needs in that proportion (CPU milli).
  [[nodiscard]] double imbalance(const NodeState& n) const {
    return std::fabs(static_cast<double>(n.cpu_free) - m_cpu_per_milli * n.gpu_free_total());
  }
  double frag(const NodeState& n) {
    const auto k = key_of(n);
    if (auto it = m_memo.find(k); it != m_memo.end()) {
      return it->second;
    }
    const double f = node_fragmentation(n, m_target);
    m_memo.emplace(k, f);
    return f;
  }

  std::vector<TypicalPod> m_target;
  bool m_colo;
  bool m_artifact;
  bool m_int;
  double m_alpha;
  bool m_balance;               // colo in the artifact's formulas: the CPU/GPU balance tie-break
  double m_cpu_per_milli = 0;   // the target workload's CPU per milli-GPU
  std::vector<double> m_waste;  // W(free milli), colo's look-ahead
  std::unordered_map<Key, double, KeyHash> m_memo;
};

// The artifact's Random (random_score.go:42-68, open_gpu_share.go:308-326): a feasible node
// drawn with Go's generator (rand.Intn over the feasible nodes, here in node order; the
// artifact's order comes from parallel filtering and is not reproducible), and for a share a
// fitting GPU by reservoir sampling (rand.Intn(k) == 0 for the k-th fitting GPU).
class ArtifactRandom final : public Policy {
 public:
  explicit ArtifactRandom(GoRand* go) : m_go(go) {}
  [[nodiscard]] std::string name() const override { return "random"; }
  Placement place(const Cluster& c, const Demand& d, std::mt19937_64& rng) override {
    m_feasible.clear();
    for (int i = 0; i < static_cast<int>(c.nodes.size()); ++i) {
      if (c.fits(c.nodes[static_cast<std::size_t>(i)], d)) {
        m_feasible.push_back(i);
      }
    }
    if (m_feasible.empty()) {
      return {};
    }
    auto draw = [&](int n) {
      return m_go != nullptr ? m_go->intn(n) : std::uniform_int_distribution<int>(0, n - 1)(rng);
    };
    const int i = m_feasible[static_cast<std::size_t>(draw(static_cast<int>(m_feasible.size())))];
    const auto& n = c.nodes[static_cast<std::size_t>(i)];
    Placement p;
    p.node = i;
    if (d.num_gpu == 1 && d.milli < k_milli) {
      int count = 0;
      for (int g = 0; g < n.gpus; ++g) {
        if (c.gpu_ok(n, g, d) && draw(++count) == 0) {
          p.ngpu = 1;
          p.gpu[0] = g;
        }
      }
      return p;
    }
    for (int g = 0; g < n.gpus && p.ngpu < d.num_gpu; ++g) {
      if (c.gpu_ok(n, g, d)) {
        p.gpu[static_cast<std::size_t>(p.ngpu++)] = g;
      }
    }
    return p;
  }

 private:
  GoRand* m_go;
  std::vector<int> m_feasible;
};

}  // namespace

std::vector<std::string> policy_names() {
  return {"random", "firstfit", "bestfit", "dotprod", "clustering", "packing", "fgd", "colo"};
}

std::vector<std::string> default_policies(Semantics s) {
  if (s == Semantics::exact) {
    return policy_names();
  }
  return {"random", "bestfit", "dotprod", "clustering", "packing", "fgd", "colo"};
}

Result<std::unique_ptr<Policy>> make_policy(const std::string& name, std::vector<TypicalPod> target,
                                            double colo_gpu_weight) {
  PolicyOptions o;
  o.colo_gpu_weight = colo_gpu_weight;
  return make_policy(name, std::move(target), o);
}

Result<std::unique_ptr<Policy>> make_policy(const std::string& name, std::vector<TypicalPod> target,
                                            const PolicyOptions& o) {
  using P = std::unique_ptr<Policy>;
  const bool art = o.sw.artifact_formulas;
  if (name == "random") {
    return art ? P(std::make_unique<ArtifactRandom>(o.go)) : P(std::make_unique<RandomPolicy>(o));
  }
  if (name == "firstfit") {
    return P(std::make_unique<FirstFitPolicy>());
  }
  if (name == "bestfit") {
    return art ? P(std::make_unique<ArtifactBestFit>(o)) : P(std::make_unique<BestFitPolicy>(o));
  }
  if (name == "dotprod") {
    return art ? P(std::make_unique<ArtifactDotProduct>(o))
               : P(std::make_unique<DotProductPolicy>(o));
  }
  if (name == "clustering") {
    return P(std::make_unique<ArtifactClustering>(o));
  }
  if (name == "packing") {
    return art ? P(std::make_unique<ArtifactPacking>(o)) : P(std::make_unique<PackingPolicy>(o));
  }
  if (name == "colo" && o.colo_gpu_weight != 0) {
    double sum = 0;
    for (auto& t : target) {
      t.p *= std::pow(static_cast<double>(std::max(1, t.demand.gpu_total())), o.colo_gpu_weight);
      sum += t.p;
    }
    for (auto& t : target) {
      t.p = sum > 0 ? t.p / sum : t.p;
    }
  }
  if (name == "fgd" || name == "colo") {
    return P(std::make_unique<FgdPolicy>(std::move(target), name == "colo", o));
  }
  std::string known;
  for (const auto& n : policy_names()) {
    known += (known.empty() ? "" : ", ") + n;
  }
  return fail(ErrorCode::invalid_argument,
              fmt::format("unknown policy '{}' (known: {})", name, known));
}

}  // namespace colo::csim
