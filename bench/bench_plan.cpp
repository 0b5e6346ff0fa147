// colo plan's search speed (issue 13: 16 jobs onto 4 GPUs < 1 s, 64 jobs onto 16 GPUs < 10 s on
// 2 cores) and the interference model's error on the committed observations (fitted set and
// held-out set). Prints measured times next to the targets; committed output in bench/results.
#include <fmt/format.h>

#include <chrono>
#include <fstream>
#include <sstream>

#include "gpu/mig/mig_profiles.hpp"
#include "plan/model.hpp"
#include "plan/planner.hpp"

using namespace colo;
using namespace colo::plan;

namespace {

constexpr double k_gib = 1024.0 * 1024 * 1024;

// Deterministic synthetic profiles: a spread of GPU demands, knees and memory (LCG).
std::vector<PlanJob> jobs(int n) {
  std::vector<PlanJob> out;
  std::uint64_t s = 12345;
  auto next = [&] {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<double>(s >> 11) / 9007199254740992.0;
  };
  for (int i = 0; i < n; ++i) {
    PlanJob j;
    j.job.name = fmt::format("job{}", i);
    j.job.workload = fmt::format("w{}", i);
    auto& p = j.profile;
    p.workload = j.job.workload;
    p.gpu_model = "NVIDIA H200";
    const double knee = 0.2 + 0.8 * next();
    for (double sh : {0.1, 0.2, 0.3, 0.5, 0.7, 1.0}) {
      p.mps_curve.push_back({sh, 1000.0 * std::min(1.0, sh / knee)});
    }
    p.gpu_util = 0.1 + 0.8 * next();
    p.sm_active = *p.gpu_util * (0.3 + 0.5 * next());
    p.dram_active = 0.2 * next();
    p.peak_mem_bytes = (2 + 40 * next()) * k_gib;
    if (i % 5 == 0) {
      j.job.max_slowdown = 2.0;
    }
    out.push_back(std::move(j));
  }
  return out;
}

std::vector<GpuSlot> gpus(int n) {
  std::vector<GpuSlot> out;
  for (int i = 0; i < n; ++i) {
    GpuSlot g;
    g.index = i;
    g.model = "NVIDIA H200";
    g.memory_bytes = static_cast<std::uint64_t>(141 * k_gib);
    g.sms = 132;
    g.mig_table = *mig_profiles_for("NVIDIA H200");
    out.push_back(std::move(g));
  }
  return out;
}

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

int main() {
  for (auto [n, g, target] : {std::tuple{16, 4, 1.0}, std::tuple{64, 16, 10.0}}) {
    const auto t0 = std::chrono::steady_clock::now();
    auto p = make_plan(jobs(n), gpus(g), PlanOptions{});
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!p) {
      fmt::print("plan {} jobs onto {} GPUs failed: {}\n", n, g, p.error().what());
      return 1;
    }
    fmt::print(
        "plan {:>2} jobs onto {:>2} GPUs: {:.3f} s (target < {:g} s: {}), aggregate {:.2f}, "
        "{} groups\n",
        n, g, s, target, s < target ? "met" : "NOT met", p->aggregate, p->groups.size());
  }
  const std::string dir = COLO_SOURCE_DIR "/bench/results/plan-fit/";
  auto fit = observations_from_csv(read(dir + "fit.csv"));
  auto test = observations_from_csv(read(dir + "test.csv"));
  if (!fit || !test) {
    fmt::print("observations missing under {}\n", dir);
    return 1;
  }
  const auto p = fit_model(*fit);
  fmt::print(
      "model fit on {} groups: C_ts {:.2f}, C_mps {:.2f}, C_bw {:.2f}, o_ts {:.4f}, o_mps "
      "{:.4f}\n",
      fit->size(), p.ts_capacity, p.mps_capacity, p.bw_capacity, p.ts_overhead, p.mps_overhead);
  fmt::print(
      "aggregate MAPE: fitted set {:.1f}% ({} groups), held-out set {:.1f}% ({} groups); "
      "uncalibrated model (capacities 1, no overheads): {:.1f}% / {:.1f}%\n",
      100 * aggregate_mape(*fit, p), fit->size(), 100 * aggregate_mape(*test, p), test->size(),
      100 * aggregate_mape(*fit, ModelParams{}), 100 * aggregate_mape(*test, ModelParams{}));
  for (const auto& o : *test) {
    const auto [a, m] = aggregates(o, p);
    fmt::print("  held out: {:<58} predicted {:.2f}  measured {:.2f}  error {:+.1f}%\n", o.label, a,
               m, 100 * (a - m) / m);
  }
  // The uncapped-MPS weights, fitted on the first H200 validation's mixes, tested on later ones.
  auto mfit = observations_from_csv(read(dir + "mixes-fit.csv"));
  auto mtest = observations_from_csv(read(dir + "mixes-test.csv"));
  if (!mfit || !mtest) {
    fmt::print("mix observations missing under {}\n", dir);
    return 1;
  }
  const auto w = fit_mps_weights(*mfit, p);
  fmt::print("MPS weights fit on {} mix groups: g {:.2f}, k {:.2f}\n", mfit->size(),
             w.mps_weight_exp, w.mps_occupancy_weight);
  auto only = [](const std::vector<Observation>& obs, Mechanism m) {
    std::vector<Observation> out;
    for (const auto& o : obs) {
      if (o.mechanism == m) {
        out.push_back(o);
      }
    }
    return out;
  };
  for (const auto& [name, set] : {std::pair{"fitted mixes", only(*mfit, Mechanism::mps)},
                                  std::pair{"held-out mixes", only(*mtest, Mechanism::mps)}}) {
    fmt::print(
        "uncapped MPS, {} ({} groups): per-member mean absolute error {:.3f} weighted, {:.3f} "
        "common stretch; aggregate MAPE {:.1f}% weighted, {:.1f}% common stretch\n",
        name, set.size(), member_mae(set, w), member_mae(set, p), 100 * aggregate_mape(set, w),
        100 * aggregate_mape(set, p));
  }
  for (const auto& o : only(*mtest, Mechanism::mps)) {
    const auto pw = predict(o.mechanism, o.members, w);
    const auto pc = predict(o.mechanism, o.members, p);
    std::string row;
    for (std::size_t i = 0; i < o.members.size(); ++i) {
      row += fmt::format(" {:.2f}/{:.2f}/{:.2f}", pw.speed[i], pc.speed[i], o.measured_speed[i]);
    }
    fmt::print("  held out: {:<44} weighted/common/measured:{}\n", o.label, row);
  }
  return 0;
}
