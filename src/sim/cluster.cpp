#include "sim/cluster.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

namespace colo::csim {

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
  return model_ok(n, d) && gpus_with(n, d.milli) >= d.num_gpu;
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
    // One GPU: each distinct free amount that fits is one choice.
    std::array<bool, k_milli + 1> seen{};
    for (int g = 0; g < n.gpus; ++g) {
      const int f = n.gpu_free[static_cast<std::size_t>(g)];
      if (f >= d.milli && !seen[static_cast<std::size_t>(f)]) {
        seen[static_cast<std::size_t>(f)] = true;
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
    if (n.gpu_free[static_cast<std::size_t>(g)] >= d.milli) {
      p.gpu[static_cast<std::size_t>(p.ngpu++)] = g;
    }
  }
  out.push_back(p);
}

void Cluster::apply(const Placement& pl, const Demand& d, int sign) {
  auto& n = nodes[static_cast<std::size_t>(pl.node)];
  n.cpu_free -= sign * d.cpu;
  n.mem_free -= sign * d.mem;
  for (int k = 0; k < pl.ngpu; ++k) {
    n.gpu_free[static_cast<std::size_t>(pl.gpu[static_cast<std::size_t>(k)])] -= sign * d.milli;
  }
  m_gpu_alloc += static_cast<std::int64_t>(sign) * d.milli * pl.ngpu;
}

double node_fragmentation(const NodeState& n, const std::vector<TypicalPod>& target) {
  const int total = n.gpu_free_total();
  if (total == 0) {
    return 0;
  }
  double f = 0;
  for (const auto& t : target) {
    const auto& d = t.demand;
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
  std::map<std::tuple<std::int64_t, int, int, std::uint32_t>, double> count;
  double total = 0;
  for (const auto& p : pods) {
    if (p.num_gpu == 0) {
      continue;  // as the authors' default: only GPU pods make the target workload
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
    out.push_back({d, n / total});
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
        if (n.gpu_free[static_cast<std::size_t>(g)] >= d.milli) {
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

// Node states as a hashable key for the fragmentation memo (memory does not enter it).
struct Key {
  std::uint64_t a = 0;
  std::uint64_t b = 0;
  bool operator==(const Key& o) const { return a == o.a && b == o.b; }
};
struct KeyHash {
  std::size_t operator()(const Key& k) const { return k.a * 0x9E3779B97F4A7C15ULL ^ k.b; }
};
Key key_of(const NodeState& n) {
  std::array<int, k_max_gpus> f = n.gpu_free;
  for (int i = 1; i < n.gpus; ++i) {  // insertion sort of at most 8 values
    for (int j = i; j > 0 && f[static_cast<std::size_t>(j - 1)] > f[static_cast<std::size_t>(j)];
         --j) {
      std::swap(f[static_cast<std::size_t>(j - 1)], f[static_cast<std::size_t>(j)]);
    }
  }
  Key k;
  k.a = static_cast<std::uint64_t>(n.cpu_free) << 8 | static_cast<std::uint64_t>(n.model + 1);
  for (int g = 0; g < k_max_gpus; ++g) {
    k.b = k.b * 1031 +
          static_cast<std::uint64_t>(g < n.gpus ? f[static_cast<std::size_t>(g)] + 1 : 0);
  }
  return k;
}

// A node's state and capacity as a group key: nodes with equal keys are interchangeable for
// every scoring policy (same choices up to a GPU permutation, same scores).
struct GroupKey {
  Key k;
  std::int64_t mem = 0;
  std::int64_t cap_cpu = 0;
  bool operator==(const GroupKey& o) const {
    return k == o.k && mem == o.mem && cap_cpu == o.cap_cpu;
  }
};
struct GroupKeyHash {
  std::size_t operator()(const GroupKey& g) const {
    return KeyHash{}(g.k) ^ static_cast<std::size_t>(g.mem) * 0xC2B2AE3D27D4EB4FULL ^
           static_cast<std::size_t>(g.cap_cpu) * 0x165667B19E3779F9ULL;
  }
};

// Every policy but firstfit scores each feasible placement (lower is better) and takes the
// best; exact ties are broken uniformly at random over (node, placement) pairs, as the
// Kubernetes scheduler picks among equal nodes, or, for a policy with deterministic ties, by
// its secondary score (then the first such group's first node).
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
    double best_second = std::numeric_limits<double>::infinity();
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
      if (m_deterministic_ties) {
        if (e.primary < best - 1e-9 ||
            (std::fabs(e.primary - best) <= 1e-9 && e.secondary < best_second)) {
          best = e.primary;
          best_second = e.secondary;
          pick_g = g;
        }
        continue;
      }
      const auto weight = static_cast<std::uint64_t>(grp.members.size()) * e.n_tied;
      if (e.primary < best - 1e-9) {
        best = e.primary;
        tied_weight = weight;
        pick_g = g;
      } else if (std::fabs(e.primary - best) <= 1e-9) {
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
    std::size_t choice = 0;
    std::size_t m = 0;
    if (!m_deterministic_ties) {
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
  explicit GroupedPolicy(bool deterministic_ties) : m_deterministic_ties(deterministic_ties) {}

  struct Group {
    GroupKey key;
    NodeState rep;
    int spec_node = -1;  // a member whose TraceNode describes the group's capacity
    std::vector<int> members;
    double cached = std::numeric_limits<double>::quiet_NaN();  // the policy's, per state
    std::uint32_t version = 0;  // changes whenever the slot holds a new state
  };
  // (primary, secondary) score of placing `d` as `p` (GPUs of g.rep) on a node of group `g`;
  // lower is better, secondary only breaks primary ties of deterministic-tie policies.
  virtual std::pair<double, double> evaluate(const Cluster& c, Group& g, const Demand& d,
                                             const Placement& p) = 0;

 private:
  // A group's best placements of one demand, valid while `version` is the group's.
  struct Scored {
    std::uint32_t version = 0;
    std::uint8_t n_tied = 0;  // placements tied at the best score; 0: the demand does not fit
    std::array<std::uint8_t, k_max_gpus> gpu{};  // one GPU demands: the tied GPUs of `rep`
    double primary = 0;
    double secondary = 0;
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

  static GroupKey group_key(const Cluster& c, int i) {
    const auto& n = c.nodes[static_cast<std::size_t>(i)];
    return {key_of(n), n.mem_free, c.spec[static_cast<std::size_t>(i)].cpu_milli};
  }

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
    e.primary = std::numeric_limits<double>::infinity();
    e.secondary = std::numeric_limits<double>::infinity();
    for (const auto& p : m_buf) {
      const auto [primary, secondary] = evaluate(c, grp, d, p);
      const auto gpu = static_cast<std::uint8_t>(p.ngpu == 1 ? p.gpu[0] : 0);
      if (primary < e.primary - 1e-9) {
        e.primary = primary;
        e.secondary = secondary;
        e.n_tied = 1;
        e.gpu[0] = gpu;
      } else if (std::fabs(primary - e.primary) <= 1e-9) {
        if (m_deterministic_ties) {
          if (secondary < e.secondary) {
            e.secondary = secondary;
            e.gpu[0] = gpu;
          }
        } else {
          e.gpu[e.n_tied++] = gpu;
        }
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
    auto& members = m_groups[static_cast<std::size_t>(g)].members;
    m_group_of[static_cast<std::size_t>(i)] = g;
    m_pos[static_cast<std::size_t>(i)] = members.size();
    members.push_back(i);
  }
  void remove(int i) {
    const int g = m_group_of[static_cast<std::size_t>(i)];
    auto& grp = m_groups[static_cast<std::size_t>(g)];
    const std::size_t pos = m_pos[static_cast<std::size_t>(i)];
    const int last = grp.members.back();
    grp.members[pos] = last;
    m_pos[static_cast<std::size_t>(last)] = pos;
    grp.members.pop_back();
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
      const int want = rep.gpu_free[static_cast<std::size_t>(p.gpu[0])];
      for (int g = 0; g < n.gpus; ++g) {
        if (n.gpu_free[static_cast<std::size_t>(g)] == want) {
          out.ngpu = 1;
          out.gpu[0] = g;
          break;
        }
      }
      return out;
    }
    for (int g = 0; g < n.gpus && out.ngpu < p.ngpu; ++g) {
      if (n.gpu_free[static_cast<std::size_t>(g)] >= d.milli) {
        out.gpu[static_cast<std::size_t>(out.ngpu++)] = g;
      }
    }
    return out;
  }

  bool m_deterministic_ties;
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

class RandomPolicy final : public GroupedPolicy {
 public:
  RandomPolicy() : GroupedPolicy(false) {}
  [[nodiscard]] std::string name() const override { return "random"; }

 protected:
  std::pair<double, double> evaluate(const Cluster&, Group&, const Demand&,
                                     const Placement&) override {
    return {0, 0};
  }
};

class BestFitPolicy final : public GroupedPolicy {
 public:
  BestFitPolicy() : GroupedPolicy(false) {}
  [[nodiscard]] std::string name() const override { return "bestfit"; }

 protected:
  std::pair<double, double> evaluate(const Cluster& c, Group& g, const Demand& d,
                                     const Placement& p) override {
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
    return {node_part + 1e-7 * gpu_part, 0};
  }

 private:
  std::int64_t m_cpu = 0;
};

class DotProductPolicy final : public GroupedPolicy {
 public:
  DotProductPolicy() : GroupedPolicy(false) {}
  [[nodiscard]] std::string name() const override { return "dotprod"; }

 protected:
  std::pair<double, double> evaluate(const Cluster& c, Group& g, const Demand& d,
                                     const Placement& p) override {
    const auto& n = g.rep;
    const auto& s = c.spec[static_cast<std::size_t>(g.spec_node)];
    // Tetris-style alignment of the node's free vector and the request, both normalized by
    // the node's capacity; the authors' baseline prefers the smallest product.
    const auto cap_cpu = static_cast<double>(std::max<std::int64_t>(1, s.cpu_milli));
    const double cap_gpu = std::max(1, s.gpus) * double{k_milli};
    const double gpu_free =
        p.ngpu == 1 ? n.gpu_free[static_cast<std::size_t>(p.gpu[0])] : n.gpu_free_total();
    return {(static_cast<double>(n.cpu_free) / cap_cpu) * (static_cast<double>(d.cpu) / cap_cpu) +
                (gpu_free / cap_gpu) * (d.gpu_total() / cap_gpu),
            0};
  }
};

class PackingPolicy final : public GroupedPolicy {
 public:
  PackingPolicy() : GroupedPolicy(false) {}
  [[nodiscard]] std::string name() const override { return "packing"; }

 protected:
  std::pair<double, double> evaluate(const Cluster&, Group& g, const Demand& d,
                                     const Placement& p) override {
    const auto& n = g.rep;
    if (d.num_gpu == 0) {
      return {0, 0};
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
      return {3000 + fully_free, 0};
    }
    if (use_free > 0) {
      return {2000 + use_free, 0};
    }
    return {1000 + shared_left / 10.0, 0};
  }
};

// FGD: the placement whose node's fragmentation grows least; ties at random. `colo` breaks
// FGD's ties by packing instead (the node left with the least free GPU, then CPU), keeping
// idle nodes whole for multi-GPU pods.
class FgdPolicy final : public GroupedPolicy {
 public:
  FgdPolicy(std::vector<TypicalPod> target, bool pack_ties)
      : GroupedPolicy(pack_ties), m_target(std::move(target)), m_pack(pack_ties) {}
  [[nodiscard]] std::string name() const override { return m_pack ? "colo" : "fgd"; }

 protected:
  std::pair<double, double> evaluate(const Cluster&, Group& g, const Demand& d,
                                     const Placement& p) override {
    if (std::isnan(g.cached)) {
      g.cached = frag(g.rep);
    }
    NodeState after = g.rep;
    after.cpu_free -= d.cpu;
    for (int k = 0; k < p.ngpu; ++k) {
      after.gpu_free[static_cast<std::size_t>(p.gpu[static_cast<std::size_t>(k)])] -= d.milli;
    }
    return {frag(after) - g.cached,
            after.gpu_free_total() * 1e9 + static_cast<double>(after.cpu_free)};
  }

 private:
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
  bool m_pack;
  std::unordered_map<Key, double, KeyHash> m_memo;
};

}  // namespace

std::vector<std::string> policy_names() {
  return {"random", "firstfit", "bestfit", "dotprod", "packing", "fgd", "colo"};
}

Result<std::unique_ptr<Policy>> make_policy(const std::string& name, std::vector<TypicalPod> target,
                                            double colo_gpu_weight) {
  if (name == "random") {
    return std::unique_ptr<Policy>(std::make_unique<RandomPolicy>());
  }
  if (name == "firstfit") {
    return std::unique_ptr<Policy>(std::make_unique<FirstFitPolicy>());
  }
  if (name == "bestfit") {
    return std::unique_ptr<Policy>(std::make_unique<BestFitPolicy>());
  }
  if (name == "dotprod") {
    return std::unique_ptr<Policy>(std::make_unique<DotProductPolicy>());
  }
  if (name == "packing") {
    return std::unique_ptr<Policy>(std::make_unique<PackingPolicy>());
  }
  if (name == "colo" && colo_gpu_weight != 0) {
    double sum = 0;
    for (auto& t : target) {
      t.p *= std::pow(static_cast<double>(t.demand.gpu_total()), colo_gpu_weight);
      sum += t.p;
    }
    for (auto& t : target) {
      t.p = sum > 0 ? t.p / sum : t.p;
    }
  }
  if (name == "fgd" || name == "colo") {
    return std::unique_ptr<Policy>(std::make_unique<FgdPolicy>(std::move(target), name == "colo"));
  }
  std::string known;
  for (const auto& n : policy_names()) {
    known += (known.empty() ? "" : ", ") + n;
  }
  return fail(ErrorCode::invalid_argument,
              fmt::format("unknown policy '{}' (known: {})", name, known));
}

}  // namespace colo::csim
