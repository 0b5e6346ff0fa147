#include "sim/bound.hpp"

#include <algorithm>
#include <limits>
#include <map>
#include <random>
#include <tuple>

#include "sim/gorand.hpp"

namespace colo::csim {

namespace {

struct Class {
  double cpu = 0;  // pooled capacity of the class
  double mem = 0;
  double gpu = 0;
  std::int64_t node_cpu = 0;  // one node's
  std::int64_t node_mem = 0;
  int node_gpus = 0;
  int model = -1;
};

struct PodGroup {
  double n = 0;  // pods with this demand
  double cpu = 0;
  double mem = 0;
  double gpu = 0;
  std::vector<int> classes;  // the classes one of whose nodes could hold it
};

// Multipliers of one class.
struct Dual {
  double lambda = 0;
  double mu = 1;
  double nu = 0;
};

double value(const PodGroup& p, const Dual& d) {
  return p.gpu * (1 - d.mu) - d.lambda * p.cpu - d.nu * p.mem;
}

// Minimises a convex function of one variable on [lo, hi] (ternary search).
template <typename F>
double argmin(F f, double lo, double hi) {
  for (int it = 0; it < 60; ++it) {
    const double a = lo + (hi - lo) / 3;
    const double b = hi - (hi - lo) / 3;
    if (f(a) <= f(b)) {
      hi = b;
    } else {
      lo = a;
    }
  }
  return (lo + hi) / 2;
}

}  // namespace

AllocationBound allocation_bound(const Cluster& c, const std::vector<Demand>& pods) {
  AllocationBound out;
  const double cap = static_cast<double>(c.gpu_capacity);
  if (cap <= 0) {
    return out;
  }
  std::map<std::tuple<int, int, std::int64_t, std::int64_t>, int> class_of;
  std::vector<Class> classes;
  for (std::size_t i = 0; i < c.nodes.size(); ++i) {
    const auto& n = c.nodes[i];
    if (n.gpus == 0) {
      continue;  // holds no GPU pod
    }
    const auto key = std::make_tuple(n.model, n.gpus, c.spec[i].cpu_milli, c.spec[i].memory_mib);
    auto [it, fresh] = class_of.emplace(key, static_cast<int>(classes.size()));
    if (fresh) {
      classes.push_back({0, 0, 0, c.spec[i].cpu_milli, c.spec[i].memory_mib, n.gpus, n.model});
    }
    auto& k = classes[static_cast<std::size_t>(it->second)];
    k.cpu += static_cast<double>(c.spec[i].cpu_milli);
    k.mem += static_cast<double>(c.spec[i].memory_mib);
    k.gpu += static_cast<double>(n.gpus) * k_milli;
  }
  std::map<std::tuple<std::int64_t, std::int64_t, int, int, std::uint32_t>, std::size_t> group_of;
  std::vector<PodGroup> groups;
  double requested = 0;
  for (const auto& d : pods) {
    requested += d.gpu_total();
    if (d.gpu_total() == 0) {
      continue;  // a CPU-only pod adds no GPU: leaving it out never lowers the optimum
    }
    const auto key = std::make_tuple(d.cpu, d.mem, d.num_gpu, d.milli, d.model_mask);
    auto [it, fresh] = group_of.emplace(key, groups.size());
    if (fresh) {
      PodGroup g;
      g.cpu = static_cast<double>(d.cpu);
      g.mem = static_cast<double>(d.mem);
      g.gpu = d.gpu_total();
      for (std::size_t k = 0; k < classes.size(); ++k) {
        const auto& cl = classes[k];
        const bool model =
            d.model_mask == 0 || (cl.model >= 0 && ((d.model_mask >> cl.model) & 1U) != 0);
        if (model && d.num_gpu <= cl.node_gpus && d.cpu <= cl.node_cpu && d.mem <= cl.node_mem &&
            d.milli <= k_milli) {
          g.classes.push_back(static_cast<int>(k));
        }
      }
      groups.push_back(std::move(g));
    }
    groups[it->second].n += 1;
  }
  out.requested_pct = 100 * requested / cap;
  std::vector<Dual> dual(classes.size());
  auto total = [&] {
    double b = 0;
    for (std::size_t k = 0; k < classes.size(); ++k) {
      b += dual[k].lambda * classes[k].cpu + dual[k].mu * classes[k].gpu +
           dual[k].nu * classes[k].mem;
    }
    for (const auto& g : groups) {
      double best = 0;
      for (const int k : g.classes) {
        best = std::max(best, value(g, dual[static_cast<std::size_t>(k)]));
      }
      b += g.n * best;
    }
    return b;
  };
  // Upper ends of the searches: beyond them a class's terms are all 0 (more only adds cost).
  double lambda_hi = 0;
  double nu_hi = 0;
  for (const auto& g : groups) {
    lambda_hi = std::max(lambda_hi, g.cpu > 0 ? g.gpu / g.cpu : 0);
    nu_hi = std::max(nu_hi, g.mem > 0 ? g.gpu / g.mem : 0);
  }
  std::vector<double> others(groups.size());
  for (int round = 0; round < 4; ++round) {
    for (std::size_t k = 0; k < classes.size(); ++k) {
      // The best term of each pod group over the other classes, then one coordinate at a time.
      for (std::size_t i = 0; i < groups.size(); ++i) {
        double best = 0;
        for (const int j : groups[i].classes) {
          if (static_cast<std::size_t>(j) != k) {
            best = std::max(best, value(groups[i], dual[static_cast<std::size_t>(j)]));
          }
        }
        others[i] = best;
      }
      auto part = [&](const Dual& d) {
        double b = d.lambda * classes[k].cpu + d.mu * classes[k].gpu + d.nu * classes[k].mem;
        for (std::size_t i = 0; i < groups.size(); ++i) {
          const auto& g = groups[i];
          const bool fits =
              std::find(g.classes.begin(), g.classes.end(), static_cast<int>(k)) != g.classes.end();
          b += g.n * std::max(others[i], fits ? value(g, d) : 0.0);
        }
        return b;
      };
      auto& d = dual[k];
      d.mu = argmin([&](double x) { return part({d.lambda, x, d.nu}); }, 0, 1);
      d.lambda = argmin([&](double x) { return part({x, d.mu, d.nu}); }, 0, lambda_hi);
      d.nu = argmin([&](double x) { return part({d.lambda, d.mu, x}); }, 0, nu_hi);
    }
  }
  // Every evaluated point is a valid bound; so are the capacity and the request.
  const double b = std::min({total(), cap, requested});
  out.bound_pct = 100 * b / cap;
  return out;
}

Result<std::vector<Demand>> inflate_pods(const std::vector<TraceNode>& nodes,
                                         const std::vector<TracePod>& pods,
                                         const InflateOptions& opt) {
  if (pods.empty()) {
    return fail(ErrorCode::invalid_argument, "the pod trace is empty");
  }
  Cluster c(nodes);
  if (auto m = c.set_mechanism(opt.mech); !m) {
    return fail(m.error());
  }
  std::vector<Demand> out;
  if (opt.sw.artifact_workload) {
    GoRand go(static_cast<std::int64_t>(opt.seed));
    for (const auto i : artifact_workload(pods, c.gpu_capacity, opt.load, go)) {
      out.push_back(c.demand_of(pods[i]));
    }
    return out;
  }
  // As inflate's draws: with replacement until the request reaches the load.
  std::mt19937_64 rng(opt.seed);
  std::uniform_int_distribution<std::size_t> pick(0, pods.size() - 1);
  const double goal = opt.load * static_cast<double>(c.gpu_capacity);
  double requested = 0;
  while (requested < goal) {
    out.push_back(c.demand_of(pods[pick(rng)]));
    requested += out.back().gpu_total();
  }
  return out;
}

Result<AllocationBound> inflate_bound(const std::vector<TraceNode>& nodes,
                                      const std::vector<TracePod>& pods,
                                      const InflateOptions& opt) {
  auto demands = inflate_pods(nodes, pods, opt);
  if (!demands) {
    return fail(demands.error());
  }
  Cluster c(nodes);
  if (auto m = c.set_mechanism(opt.mech); !m) {
    return fail(m.error());
  }
  return allocation_bound(c, *demands);
}

}  // namespace colo::csim
