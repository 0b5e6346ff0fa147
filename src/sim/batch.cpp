#include "sim/batch.hpp"

#include "sim/bound.hpp"

#include <algorithm>
#include <atomic>
#include <map>
#include <thread>

namespace colo::csim {

Result<std::vector<SimRun>> run_batch(const std::vector<TraceNode>& nodes,
                                      const std::vector<TracePod>& pods, const SimSpec& spec,
                                      const SimContext& ctx, unsigned threads) {
  struct Job {
    std::string policy;
    Mechanism mech = Mechanism::fractional;
    std::uint64_t seed = 0;
    Result<SimRun> result = fail(ErrorCode::internal, "not run");
  };
  std::vector<Job> jobs;
  const auto mechanisms =
      spec.mode == "inflate" ? spec.mechanisms : std::vector<Mechanism>{Mechanism::fractional};
  for (const auto& name : spec.policies) {
    for (const auto m : mechanisms) {
      for (int k = 0; k < spec.repeat; ++k) {
        jobs.push_back({name, m, spec.seed + static_cast<std::uint64_t>(k)});
      }
    }
  }
  // One inflate run's options (the policy apart).
  auto options_of = [&spec](std::uint64_t seed, Mechanism m) {
    InflateOptions o;
    o.load = spec.load;
    o.seed = seed;
    o.sw = spec.sw;
    o.mech = spec.mech;
    o.mech.kind = m;
    o.job = spec.job;
    return o;
  };
  std::atomic<std::size_t> next{0};
  auto worker = [&] {
    for (std::size_t j = next++; j < jobs.size(); j = next++) {
      auto& job = jobs[j];
      SimRun run;
      run.ctx = ctx;
      if (spec.mode == "inflate") {
        auto r = inflate(nodes, pods, job.policy, options_of(job.seed, job.mech));
        if (!r) {
          job.result = fail(r.error());
          continue;
        }
        run.inflate = std::move(*r);
      } else {
        auto r = replay(nodes, pods, job.policy, job.seed, spec.load, spec.sw);
        if (!r) {
          job.result = fail(r.error());
          continue;
        }
        run.replay = std::move(*r);
      }
      job.result = std::move(run);
    }
  };
  if (threads == 0) {
    threads = std::max(1U, std::thread::hardware_concurrency());
  }
  threads = std::max(1U, std::min<unsigned>(threads, static_cast<unsigned>(jobs.size())));
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t) {
    pool.emplace_back(worker);
  }
  for (auto& t : pool) {
    t.join();
  }
  std::vector<SimRun> out;
  // Headroom: one bound per (seed, mechanism), whatever the policy (the pods are the same).
  std::map<std::pair<std::uint64_t, Mechanism>, double> bounds;
  for (auto& job : jobs) {
    if (!job.result) {
      return fail(job.result.error());
    }
    if (job.result->inflate) {
      const auto key = std::make_pair(job.seed, job.mech);
      if (!bounds.contains(key)) {
        auto b = inflate_bound(nodes, pods, options_of(job.seed, job.mech));
        if (!b) {
          return fail(b.error());
        }
        bounds[key] = b->bound_pct;
      }
      job.result->inflate->bound_pct = bounds[key];
    }
    out.push_back(std::move(*job.result));
  }
  return out;
}

}  // namespace colo::csim
