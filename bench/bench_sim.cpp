// colo sim speed and quality on the Alibaba trace (../shared/data/alibaba-gpu-v2023):
//   1. one inflate run to 130% per policy (FGD target: < 2 s on the 2-core dev machine);
//   2. colo vs FGD over 10 seeds on the default trace and two resampled variants (paired
//      per seed: colo's policy must allocate more on average);
//   3. replay of the full trace per policy (target < 5 s);
//   4. scaling: FGD inflate time on the node list replicated k times (up to k = argv[1], default
//      16 = 99,392 GPUs), pods scaled with it.
#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <string>

#include "report/stats.hpp"
#include "sim/experiment.hpp"

using namespace colo::csim;  // NOLINT

int main(int argc, char** argv) {
  const std::string dir = COLO_SHARED_DIR "/data/alibaba-gpu-v2023/";
  auto nodes = load_nodes(dir + "openb_node_list_all_node.csv");
  auto pods = load_pods(dir + "openb_pod_list_default.csv");
  if (!nodes || !pods) {
    fmt::print(stderr, "{}\n", !nodes ? nodes.error().what() : pods.error().what());
    return 1;
  }
  const int max_k = argc > 1 ? std::atoi(argv[1]) : 16;
  fmt::print("1. one inflate run to 130% (seed 1), wall time and GPU allocated\n");
  for (const auto& p : policy_names()) {
    auto r = inflate(*nodes, *pods, p, 1.3, 1);
    fmt::print(
        "  {:<9} {:6.2f} s  {:6.2f}% allocated{}\n", p, r->seconds, r->allocated_pct,
        p == "fgd" ? fmt::format("  (target < 2 s: {})", r->seconds < 2 ? "met" : "NOT met") : "");
  }
  fmt::print("\n2. colo vs FGD, GPU allocated at 130% load, 10 seeds (paired)\n");
  struct Variant {
    const char* name;
    double share;
    double multi;
  };
  for (const auto& v :
       {Variant{"default trace", -1, -1}, Variant{"70% of GPU pods shares", 0.7, -1},
        Variant{"5% of GPU pods multi-GPU", -1, 0.05},
        Variant{"30% shares, 10% multi-GPU", 0.3, 0.1}}) {
    auto tr = v.share < 0 && v.multi < 0 ? *pods : *resample(*pods, v.share, v.multi, 1);
    std::vector<double> f;
    std::vector<double> c;
    std::vector<double> diff;
    int wins = 0;
    for (std::uint64_t s = 1; s <= 10; ++s) {
      f.push_back(inflate(*nodes, tr, "fgd", 1.3, s)->allocated_pct);
      c.push_back(inflate(*nodes, tr, "colo", 1.3, s)->allocated_pct);
      diff.push_back(c.back() - f.back());
      wins += c.back() > f.back() ? 1 : 0;
    }
    const auto d = colo::stat_of(diff);
    fmt::print(
        "  {:<28} fgd {:6.2f}%  colo {:6.2f}%  colo - fgd {:+.3f} ± {:.3f} pp (95% CI), "
        "colo ahead in {}/10 seeds: {}\n",
        v.name, colo::stat_of(f).mean, colo::stat_of(c).mean, d.mean, d.ci95_half, wins,
        d.mean > 0 ? "colo allocates more" : "colo does NOT allocate more");
  }
  fmt::print("\n3. replay of the full trace (8152 pods as recorded)\n");
  for (const auto& p : policy_names()) {
    auto r = replay(*nodes, *pods, p, 1);
    fmt::print("  {:<9} {:6.2f} s  scheduled {} completed {} (target < 5 s: {})\n", p, r->seconds,
               r->scheduled, r->completed, r->seconds < 5 ? "met" : "NOT met");
  }
  fmt::print("\n4. scaling: FGD inflate to 130% on the node list replicated k times\n");
  for (int k = 1; k <= max_k; k *= 2) {
    std::vector<TraceNode> big;
    for (int i = 0; i < k; ++i) {
      for (auto n : *nodes) {
        n.name += "-" + std::to_string(i);
        big.push_back(n);
      }
    }
    auto r = inflate(big, *pods, "fgd", 1.3, 1);
    std::int64_t gpus = 0;
    for (const auto& n : big) {
      gpus += n.gpus;
    }
    fmt::print("  k={:<3} {:6} nodes {:7} GPUs  {:8.2f} s  {:6.2f}% allocated\n", k, big.size(),
               gpus, r->seconds, r->allocated_pct);
  }
  return 0;
}
