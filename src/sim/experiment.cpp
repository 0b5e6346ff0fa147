#include "sim/experiment.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <limits>
#include <queue>
#include <tuple>

#include "sim/throughput.hpp"

namespace colo::csim {
namespace {

double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double cluster_frag(const Cluster& c, const std::vector<TypicalPod>& target) {
  double f = 0;
  for (const auto& n : c.nodes) {
    f += node_fragmentation(n, target);
  }
  return f;
}

double pct(double milli, const Cluster& c) {
  return c.gpu_capacity > 0 ? 100.0 * milli / static_cast<double>(c.gpu_capacity) : 0;
}

}  // namespace

std::string pod_type(const TracePod& p) {
  if (p.num_gpu == 0) {
    return "cpu";
  }
  if (p.num_gpu == 1 && p.gpu_milli < k_milli) {
    return "share";
  }
  switch (p.num_gpu) {
    case 1:
      return "1gpu";
    case 2:
      return "2gpu";
    case 4:
      return "4gpu";
    case 8:
      return "8gpu";
    default:
      return "other";
  }
}

Result<std::vector<TracePod>> resample(const std::vector<TracePod>& pods, double share_frac,
                                       double multi_frac, std::uint64_t seed, double cpu_frac) {
  std::vector<const TracePod*> cpu, share, single, multi;
  for (const auto& p : pods) {
    const auto t = pod_type(p);
    (t == "cpu" ? cpu : t == "share" ? share : t == "1gpu" ? single : multi).push_back(&p);
  }
  const double gpu_pods = static_cast<double>(share.size() + single.size() + multi.size());
  if (gpu_pods == 0) {
    return fail(ErrorCode::invalid_argument, "the trace has no GPU pods to resample");
  }
  if (share_frac < 0) {
    share_frac = static_cast<double>(share.size()) / gpu_pods;
  }
  if (multi_frac < 0) {
    multi_frac = static_cast<double>(multi.size()) / gpu_pods;
  }
  if (share_frac + multi_frac > 1 + 1e-9) {
    return fail(
        ErrorCode::invalid_argument,
        fmt::format("share fraction {} + multi-GPU fraction {} exceed 1", share_frac, multi_frac));
  }
  const double single_frac = 1 - share_frac - multi_frac;
  for (const auto& [frac, cls, name] :
       {std::tuple{share_frac, &share, "GPU-share"}, std::tuple{multi_frac, &multi, "multi-GPU"},
        std::tuple{single_frac, &single, "single-GPU"}}) {
    if (frac > 0 && cls->empty()) {
      return fail(ErrorCode::invalid_argument,
                  fmt::format("the trace has no {} pods to draw {:.0f}% from", name, frac * 100));
    }
  }
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  if (cpu_frac < 0) {
    cpu_frac = static_cast<double>(cpu.size()) / static_cast<double>(pods.size());
  } else if (cpu_frac >= 1) {
    return fail(
        ErrorCode::invalid_argument,
        fmt::format("CPU-only fraction {} leaves no GPU pods (it must be below 1)", cpu_frac));
  } else if (cpu_frac > 0 && cpu.empty()) {
    return fail(ErrorCode::invalid_argument,
                fmt::format("the trace has no CPU-only pods to draw {:.0f}% from", cpu_frac * 100));
  }
  auto draw = [&](const std::vector<const TracePod*>& from) {
    return *from[std::uniform_int_distribution<std::size_t>(0, from.size() - 1)(rng)];
  };
  std::vector<TracePod> out;
  out.reserve(pods.size());
  for (std::size_t i = 0; i < pods.size(); ++i) {
    if (!cpu.empty() && u(rng) < cpu_frac) {
      out.push_back(draw(cpu));
      continue;
    }
    const double x = u(rng);
    out.push_back(draw(x < share_frac ? share : x < share_frac + multi_frac ? multi : single));
  }
  return out;
}

namespace {}  // namespace

std::string semantics_label(const SimSwitches& sw) {
  for (const auto sem : {Semantics::artifact, Semantics::exact}) {
    const auto d = switches_for(sem);
    if (d.int_scores == sw.int_scores && d.name_ties == sw.name_ties &&
        d.artifact_formulas == sw.artifact_formulas && d.target_cpu_pods == sw.target_cpu_pods &&
        d.target_top_pct == sw.target_top_pct && d.artifact_workload == sw.artifact_workload &&
        d.bin_metric == sw.bin_metric) {
      return semantics_name(sem);
    }
  }
  return "custom";
}

namespace {

bool has_gpu_pod(const std::vector<TracePod>& pods) {
  return std::any_of(pods.begin(), pods.end(),
                     [](const TracePod& p) { return p.num_gpu > 0 && p.gpu_milli > 0; });
}

// Python's round(x) (half to even) and round(x, 2), as the artifact's merge script
// (experiments/analysis/merge_alloc_discrete.py:96-100).
double round_even(double x) {
  return std::nearbyint(x);
}
double round2(double x) {
  return std::round(x * 100) / 100;
}

// The artifact's metric: per event (a pod submitted), its request rounded to a whole % of
// capacity picks a bin; a bin's value is the mean over its events of the allocation rounded to
// 0.01 % (or over the neighbour bins' events when it has none).
class BinMetric {
 public:
  void add(double arrived_pct, double alloc_pct) {
    const auto b = static_cast<int>(round_even(arrived_pct));
    if (b < 0) {
      return;
    }
    if (static_cast<std::size_t>(b) >= m_sum.size()) {
      m_sum.resize(static_cast<std::size_t>(b) + 1, 0);
      m_n.resize(static_cast<std::size_t>(b) + 1, 0);
    }
    m_sum[static_cast<std::size_t>(b)] += round2(alloc_pct);
    ++m_n[static_cast<std::size_t>(b)];
  }
  // NaN when neither the bin nor its neighbours saw an event.
  [[nodiscard]] double value(int b) const {
    auto at = [&](int k, std::vector<double> const& v) {
      return k >= 0 && static_cast<std::size_t>(k) < v.size() ? v[static_cast<std::size_t>(k)]
                                                              : 0.0;
    };
    const std::vector<double> n(m_n.begin(), m_n.end());
    if (at(b, n) > 0) {
      return round2(at(b, m_sum) / at(b, n));
    }
    const double cnt = at(b - 1, n) + at(b + 1, n);
    return cnt > 0 ? round2((at(b - 1, m_sum) + at(b + 1, m_sum)) / cnt)
                   : std::numeric_limits<double>::quiet_NaN();
  }

 private:
  std::vector<double> m_sum;
  std::vector<int> m_n;
};

Result<InflateResult> inflate_with(const std::vector<TraceNode>& nodes,
                                   const std::vector<TracePod>& pods,
                                   const std::string& policy_name, const InflateOptions& opt,
                                   double colo_gpu_weight) {
  const auto t0 = std::chrono::steady_clock::now();
  const auto& sw = opt.sw;
  if (pods.empty()) {
    return fail(ErrorCode::invalid_argument, "the pod trace is empty");
  }
  if (!has_gpu_pod(pods)) {
    return fail(ErrorCode::invalid_argument,
                fmt::format("the pod trace has no GPU pods ({} pods, all CPU-only): inflate adds "
                            "pods until their GPU request reaches {:.0f}% of the GPU capacity",
                            pods.size(), opt.load * 100));
  }
  Cluster c(nodes);
  if (c.gpu_capacity == 0) {
    return fail(ErrorCode::invalid_argument, "the node trace has no GPU");
  }
  if (auto m = c.set_mechanism(opt.mech); !m) {
    return fail(m.error());
  }
  const auto target = typical_pods(c, pods, sw);
  GoRand go(static_cast<std::int64_t>(opt.seed));
  std::vector<std::size_t> order;
  if (sw.artifact_workload) {
    order = artifact_workload(pods, c.gpu_capacity, opt.load, go);
  }
  PolicyOptions po;
  po.sw = sw;
  po.go = &go;
  if (sw.artifact_formulas) {
    po.colo_lookahead = colo_gpu_weight;
  } else {
    po.colo_gpu_weight = colo_gpu_weight;
  }
  if (sw.name_ties) {
    po.node_rank = artifact_node_rank(nodes, go);
  }
  auto policy = make_policy(policy_name, target, po);
  if (!policy) {
    return fail(policy.error());
  }
  std::mt19937_64 rng(opt.seed);
  std::mt19937_64 tie_rng(opt.seed ^ 0x5bd1e995ULL);
  std::uniform_int_distribution<std::size_t> pick(0, pods.size() - 1);
  InflateResult r;
  r.policy = policy_name;
  r.semantics = semantics_label(sw);
  r.mechanism = mechanism_name(opt.mech.kind);
  r.mechanism_note = c.mechanism_note();
  r.seed = opt.seed;
  r.load = opt.load;
  const double goal = opt.load * static_cast<double>(c.gpu_capacity);
  const double gpus = static_cast<double>(c.gpu_capacity) / k_milli;
  double requested = 0;
  int next_pct = 1;
  BinMetric bins;
  std::size_t next = 0;
  // The next pod: the artifact's list in order, or a draw while the request is below the goal.
  auto next_pod = [&]() -> const TracePod* {
    if (sw.artifact_workload) {
      return next < order.size() ? &pods[order[next++]] : nullptr;
    }
    return requested < goal ? &pods[pick(rng)] : nullptr;
  };
  std::vector<double> frag_at;  // bin metric: fragmentation at each bin's first event
  while (const TracePod* p = next_pod()) {
    const auto d = c.demand_of(*p);
    const auto type = pod_type(*p);
    ++r.submitted[type];
    requested += d.gpu_total();
    const auto pl = (*policy)->place(c, d, tie_rng);
    if (pl.node >= 0) {
      c.apply(pl, d, +1);
      (*policy)->changed(c, pl.node);
      if (opt.mech.kind == Mechanism::mig && p->num_gpu == 1 && p->gpu_milli < k_milli) {
        ++(d.mig_profile >= 0 ? r.mig_served : r.mig_whole);
      }
    } else {
      ++r.unscheduled[type];
    }
    const double alloc = static_cast<double>(c.gpu_allocated());
    if (sw.bin_metric) {
      const double arrived_pct = requested / gpus / 10;
      bins.add(arrived_pct, alloc / gpus / 10);
      const auto b = static_cast<std::size_t>(std::max(0.0, round_even(arrived_pct)));
      while (frag_at.size() <= b) {
        frag_at.push_back(pct(cluster_frag(c, target), c));
      }
      continue;
    }
    while (next_pct <= static_cast<int>(pct(requested, c)) && requested <= goal + k_milli * 8.0) {
      r.curve.push_back({next_pct, pct(alloc, c), pct(cluster_frag(c, target), c)});
      ++next_pct;
    }
  }
  r.final_pct = pct(static_cast<double>(c.gpu_allocated()), c);
  r.allocated_pct = r.final_pct;
  r.blast_radius = c.blast_radius();
  r.job = opt.job;
  r.throughput = effective_throughput(c, opt.job, opt.mech.kind);
  r.throughput_ideal = effective_throughput(c, opt.job, Mechanism::fractional);
  if (sw.bin_metric) {
    const int last = static_cast<int>(std::lround(opt.load * 100));
    for (int b = 1; b <= last; ++b) {
      const double v = bins.value(b);
      if (!std::isnan(v)) {
        r.curve.push_back(
            {b, v, frag_at[std::min(frag_at.size() - 1, static_cast<std::size_t>(b))]});
      }
    }
    if (!r.curve.empty() && r.curve.back().requested_pct == last) {
      r.allocated_pct = r.curve.back().allocated_pct;
    }
  }
  r.seconds = since(t0);
  return r;
}

}  // namespace

std::vector<std::size_t> artifact_workload(const std::vector<TracePod>& pods,
                                           std::int64_t gpu_capacity, double load, GoRand& go) {
  std::vector<std::size_t> by_name(pods.size());
  for (std::size_t i = 0; i < pods.size(); ++i) {
    by_name[i] = i;
  }
  // By name, equal names in trace order (a stable sort; std::stable_sort pulls libstdc++'s
  // deprecated get_temporary_buffer, an error under clang -Werror).
  std::sort(by_name.begin(), by_name.end(), [&](std::size_t a, std::size_t b) {
    return pods[a].name != pods[b].name ? pods[a].name < pods[b].name : a < b;
  });
  (void)go.go_int();  // core.go:103 logs one rand.Int()
  std::vector<std::size_t> order = by_name;
  go.shuffle(static_cast<int>(order.size()), [&](int i, int j) {
    std::swap(order[static_cast<std::size_t>(i)], order[static_cast<std::size_t>(j)]);
  });
  auto total_of = [&](std::size_t i) {
    return static_cast<std::int64_t>(pods[i].num_gpu) * pods[i].gpu_milli;
  };
  std::int64_t total = 0;
  for (std::size_t i = 0; i < pods.size(); ++i) {
    total += total_of(i);
  }
  const double target = load * static_cast<double>(gpu_capacity);
  if (static_cast<double>(total) > target) {
    // tuneDownPods: drop random pods until the request is within the load.
    while (static_cast<double>(total) > target && !order.empty()) {
      const auto k = static_cast<std::size_t>(go.intn(static_cast<int>(order.size())));
      total -= total_of(order[k]);
      order.erase(order.begin() + static_cast<std::ptrdiff_t>(k));
    }
  } else if (static_cast<double>(total) < target) {
    // tuneUpPods: draw from the name-sorted trace until the next draw's per-GPU request
    // (sic: MilliGpu, not the pod's total, simulator.go:1130) would pass the load.
    for (;;) {
      const std::size_t k =
          by_name[static_cast<std::size_t>(go.intn(static_cast<int>(pods.size())))];
      if (static_cast<double>(total + static_cast<std::int64_t>(pods[k].gpu_milli) *
                                          (pods[k].num_gpu > 0 ? 1 : 0)) > target) {
        break;
      }
      total += total_of(k);
      order.push_back(k);
    }
  }
  return order;
}

std::vector<int> artifact_node_rank(const std::vector<TraceNode>& nodes, GoRand& go) {
  const auto n = nodes.size();
  std::vector<std::size_t> by_name(n);
  for (std::size_t i = 0; i < n; ++i) {
    by_name[i] = i;
  }
  std::sort(by_name.begin(), by_name.end(),
            [&](std::size_t a, std::size_t b) { return nodes[a].name < nodes[b].name; });
  const auto perm = go.perm(static_cast<int>(n));
  std::vector<std::string> prefixed(n);
  for (std::size_t k = 0; k < n; ++k) {
    prefixed[by_name[k]] = fmt::format("{:04d}-{}", perm[k], nodes[by_name[k]].name);
  }
  std::vector<std::size_t> idx(n);
  for (std::size_t i = 0; i < n; ++i) {
    idx[i] = i;
  }
  std::sort(idx.begin(), idx.end(),
            [&](std::size_t a, std::size_t b) { return prefixed[a] < prefixed[b]; });
  std::vector<int> rank(n);
  for (std::size_t r = 0; r < n; ++r) {
    rank[idx[r]] = static_cast<int>(r);
  }
  return rank;
}

Result<double> calibrate_colo(const std::vector<TraceNode>& nodes,
                              const std::vector<TracePod>& pods, std::uint64_t seed,
                              const SimSwitches& sw, const MechanismOptions& mech) {
  // Candidates, first = FGD's own (kept on ties): exact model the GPU weight w, artifact
  // formulas the look-ahead weight a.
  const std::vector<double> candidates = sw.artifact_formulas
                                             ? std::vector<double>{0.0, 0.5, 0.75, 1.0}
                                             : std::vector<double>{0, 0.5, -0.5};
  double best_w = 0;
  double best = -1;
  for (const double w : candidates) {
    double sum = 0;
    for (std::uint64_t k = 1; k <= 2; ++k) {
      InflateOptions o;
      o.sw = sw;
      o.mech = mech;
      o.seed = 1'000'003ULL * (seed + 1) + k;
      auto r = inflate_with(nodes, pods, "colo", o, w);
      if (!r) {
        return fail(r.error());
      }
      sum += r->allocated_pct;
    }
    if (sum > best + 1e-9) {
      best = sum;
      best_w = w;
    }
  }
  return best_w;
}

Result<InflateResult> inflate(const std::vector<TraceNode>& nodes,
                              const std::vector<TracePod>& pods, const std::string& policy_name,
                              double load, std::uint64_t seed) {
  InflateOptions o;
  o.load = load;
  o.seed = seed;
  o.sw = switches_for(Semantics::exact);
  return inflate(nodes, pods, policy_name, o);
}

Result<InflateResult> inflate(const std::vector<TraceNode>& nodes,
                              const std::vector<TracePod>& pods, const std::string& policy_name,
                              const InflateOptions& opt) {
  if (auto j = check_job(opt.job); !j) {
    return fail(j.error());
  }
  if (policy_name != "colo") {
    return inflate_with(nodes, pods, policy_name, opt, 0);
  }
  const auto t0 = std::chrono::steady_clock::now();
  auto w = calibrate_colo(nodes, pods, opt.seed, opt.sw, opt.mech);
  if (!w) {
    return fail(w.error());
  }
  auto r = inflate_with(nodes, pods, policy_name, opt, *w);
  if (r) {
    r->colo_gpu_weight = *w;
    r->seconds = since(t0);
  }
  return r;
}

Result<ReplayResult> replay(const std::vector<TraceNode>& nodes, const std::vector<TracePod>& pods,
                            const std::string& policy_name, std::uint64_t seed, double load,
                            const SimSwitches& sw) {
  if (!(load > 0)) {
    return fail(ErrorCode::invalid_argument, "replay load must be positive");
  }
  if (std::any_of(pods.begin(), pods.end(), [](const TracePod& p) { return !p.timed; })) {
    return fail(ErrorCode::invalid_argument,
                "replay needs the pods' creation_time and deletion_time columns; this trace has "
                "none (use --mode inflate)");
  }
  auto arrival = [&](std::size_t i) { return static_cast<double>(pods[i].creation); };
  const auto t0 = std::chrono::steady_clock::now();
  Cluster c(nodes);
  const auto target = typical_pods(c, pods, sw);
  std::optional<double> w;
  if (policy_name == "colo") {
    auto cw = calibrate_colo(nodes, pods, seed, sw);
    if (!cw) {
      return fail(cw.error());
    }
    w = *cw;
  }
  GoRand go(static_cast<std::int64_t>(seed));
  PolicyOptions po;
  po.sw = sw;
  po.go = &go;
  (sw.artifact_formulas ? po.colo_lookahead : po.colo_gpu_weight) = w.value_or(0.0);
  if (sw.name_ties) {
    po.node_rank = artifact_node_rank(nodes, go);
  }
  auto policy = make_policy(policy_name, target, po);
  if (!policy) {
    return fail(policy.error());
  }
  std::mt19937_64 rng(seed);
  ReplayResult r;
  r.policy = policy_name;
  r.seed = seed;
  r.colo_gpu_weight = w;
  std::vector<std::size_t> order;
  std::mt19937_64 copies_rng(seed ^ 0x9e3779b97f4a7c15ULL);
  std::uniform_real_distribution<double> u01(0, 1);
  for (std::size_t i = 0; i < pods.size(); ++i) {
    if (pods[i].deletion <= pods[i].creation) {
      ++r.skipped;
      continue;
    }
    auto n = static_cast<int>(std::floor(load));
    n += u01(copies_rng) < load - std::floor(load) ? 1 : 0;
    for (int k = 0; k < n; ++k) {
      order.push_back(i);
    }
  }
  r.pods = static_cast<int>(order.size());
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return arrival(a) != arrival(b) ? arrival(a) < arrival(b) : a < b;
  });
  struct Running {
    double end;
    std::size_t pod;
    Placement pl;
    bool operator>(const Running& o) const { return end > o.end || (end == o.end && pod > o.pod); }
  };
  std::priority_queue<Running, std::vector<Running>, std::greater<>> running;
  std::vector<std::size_t> pending;
  std::vector<double> delays;
  std::vector<double> jcts;  // queueing delay + run time, per scheduled pod
  std::vector<std::pair<double, double>> util;
  std::size_t next = 0;
  auto try_pending = [&](double now) {
    std::vector<Demand> failed;  // demands that did not fit in this pass
    std::vector<std::size_t> still;
    for (auto i : pending) {
      const auto d = c.demand_of(pods[i]);
      const bool dominated = std::any_of(failed.begin(), failed.end(), [&](const Demand& f) {
        return d.cpu >= f.cpu && d.mem >= f.mem && d.num_gpu >= f.num_gpu && d.milli >= f.milli &&
               d.model_mask == f.model_mask;
      });
      Placement pl;
      if (!dominated) {
        pl = (*policy)->place(c, d, rng);
      }
      if (pl.node < 0) {
        if (!dominated) {
          failed.push_back(d);
        }
        still.push_back(i);
        continue;
      }
      c.apply(pl, d, +1);
      (*policy)->changed(c, pl.node);
      ++r.scheduled;
      const auto run_s = static_cast<double>(pods[i].deletion - pods[i].creation);
      delays.push_back(now - arrival(i));
      jcts.push_back(delays.back() + run_s);
      running.push({now + run_s, i, pl});
    }
    pending.swap(still);
  };
  const double first_arrival = order.empty() ? 0 : arrival(order.front());
  while (next < order.size() || !running.empty()) {
    const double t_arrive =
        next < order.size() ? arrival(order[next]) : std::numeric_limits<double>::infinity();
    const double t_end =
        running.empty() ? std::numeric_limits<double>::infinity() : running.top().end;
    const double now = std::min(t_arrive, t_end);
    bool freed = false;
    while (!running.empty() && running.top().end <= now) {
      const auto done = running.top();
      running.pop();
      c.apply(done.pl, c.demand_of(pods[done.pod]), -1);
      (*policy)->changed(c, done.pl.node);
      ++r.completed;
      r.makespan_s = std::max(r.makespan_s, done.end - first_arrival);
      freed = true;
    }
    bool arrived = false;
    while (next < order.size() && arrival(order[next]) <= now) {
      pending.push_back(order[next++]);
      arrived = true;
    }
    if ((freed || arrived) && !pending.empty()) {
      try_pending(now);
    }
    util.emplace_back(now, pct(static_cast<double>(c.gpu_allocated()), c));
  }
  r.never_scheduled = static_cast<int>(pending.size());
  // (mean, median, p99) of v, sorted in place; zeros when empty.
  auto summary = [](std::vector<double>& v) {
    std::array<double, 3> out{};
    if (v.empty()) {
      return out;
    }
    double sum = 0;
    for (double x : v) {
      sum += x;
    }
    std::sort(v.begin(), v.end());
    out = {sum / static_cast<double>(v.size()), v[v.size() / 2],
           v[std::min(v.size() - 1, v.size() * 99 / 100)]};
    return out;
  };
  const auto ds = summary(delays);
  r.delay_mean_s = ds[0];
  r.delay_p50_s = ds[1];
  r.delay_p99_s = ds[2];
  const auto js = summary(jcts);
  r.jct_mean_s = js[0];
  r.jct_p99_s = js[2];
  // 200 equal time bins from the first to the last event, each the peak allocation in it (a
  // bin without events holds the allocation carried over from before).
  if (!util.empty()) {
    constexpr int k_bins = 200;
    const double t_first = util.front().first;
    const double width = std::max(1e-9, (util.back().first - t_first) / k_bins);
    double carried = util.front().second;
    std::size_t i = 0;
    for (int b = 0; b < k_bins; ++b) {
      const double end = t_first + width * (b + 1);
      double peak = carried;
      while (i < util.size() && (util[i].first < end || b == k_bins - 1)) {
        peak = std::max(peak, util[i].second);
        carried = util[i].second;
        ++i;
      }
      r.utilization.emplace_back(t_first + width * b, peak);
    }
  }
  r.seconds = since(t0);
  return r;
}

}  // namespace colo::csim
