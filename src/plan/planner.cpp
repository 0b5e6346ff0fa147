#include "plan/planner.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <unordered_map>

namespace colo::plan {
namespace {

constexpr double k_eps = 1e-9;
constexpr double k_knee_speed = 0.95;  // a job's "knee": the smallest share keeping 95% speed
constexpr int k_max_mig_members = 7;

double gib(double bytes) {
  return bytes / (1024.0 * 1024.0 * 1024.0);
}

// Smallest integer thread % whose speed on the curve is >= target.
int min_percent(const Profile& p, double target) {
  for (int t = 1; t <= 100; ++t) {
    if (p.speed_at(t / 100.0) >= target - k_eps) {
      return t;
    }
  }
  return 100;
}

// Why a candidate was refused, ordered: the first category that refused a better candidate is
// the group's binding constraint.
struct Refusal {
  std::string category;  // memory | SLO | isolation
  std::string message;
};

struct Candidate {
  GroupPlan plan;
  std::optional<Refusal> refused;
};

struct SlotClass {
  GpuSlot slot;
  std::vector<std::vector<const MigProfile*>> layouts;  // placeable multisets, largest first
};

std::vector<std::vector<const MigProfile*>> mig_layouts(const std::vector<MigProfile>& table) {
  std::vector<const MigProfile*> ps;
  for (const auto& p : table) {
    if (p.name.find('+') == std::string::npos) {  // media-extension variants add nothing here
      ps.push_back(&p);
    }
  }
  std::sort(ps.begin(), ps.end(), [](const auto* a, const auto* b) {
    return std::tie(b->sm_slices, b->mem_slices, a->name) <
           std::tie(a->sm_slices, a->mem_slices, b->name);
  });
  std::vector<std::vector<const MigProfile*>> out;
  std::vector<const MigProfile*> cur;
  // Multisets as non-increasing index sequences.
  auto rec = [&](auto&& self, std::size_t from) -> void {
    if (!cur.empty()) {
      std::vector<std::string> names;
      for (const auto* p : cur) {
        names.push_back(p->name);
      }
      if (!place_mig_layout(table, names)) {
        return;  // a superset of an unplaceable layout cannot place either
      }
      out.push_back(cur);
    }
    if (cur.size() >= static_cast<std::size_t>(k_max_mig_members)) {
      return;
    }
    for (std::size_t i = from; i < ps.size(); ++i) {
      cur.push_back(ps[i]);
      self(self, i);
      cur.pop_back();
    }
  };
  rec(rec, 0);
  return out;
}

class Planner {
 public:
  Planner(const std::vector<PlanJob>& jobs, const std::vector<GpuSlot>& gpus,
          const PlanOptions& opts)
      : m_jobs(jobs), m_opts(opts) {
    std::map<std::string, int> classes;
    for (const auto& g : gpus) {
      const std::string k =
          fmt::format("{}|{}|{}|{}", g.model, g.memory_bytes, g.sms, g.mig_enabled);
      auto [it, added] = classes.try_emplace(k, static_cast<int>(m_classes.size()));
      if (added) {
        m_classes.push_back({g, mig_layouts(g.mig_table)});
      }
      m_slot_class.push_back(it->second);
      m_slots.push_back(g);
    }
    for (const auto& j : jobs) {
      m_knee.push_back(min_percent(j.profile, k_knee_speed));
    }
  }

  Result<Plan> run();

  // Best candidate for the jobs of `mask` on a GPU of class `cls`, cached.
  const Candidate& evaluate(int cls, std::uint64_t mask);

 private:
  [[nodiscard]] std::vector<std::size_t> members_of(std::uint64_t mask) const {
    std::vector<std::size_t> out;
    for (std::size_t i = 0; i < m_jobs.size(); ++i) {
      if ((mask >> i) & 1U) {
        out.push_back(i);
      }
    }
    return out;
  }
  [[nodiscard]] double bound_of(const Job& j) const {
    if (j.max_slowdown) {
      return *j.max_slowdown;
    }
    return m_opts.max_slowdown.value_or(1e300);
  }
  Candidate build(const SlotClass& c, const std::vector<std::size_t>& idx, Mechanism m,
                  const std::vector<double>& shares, const std::vector<const MigProfile*>& mig);
  Candidate best_of(const SlotClass& c, const std::vector<std::size_t>& idx);
  Candidate* best_for(const SlotClass& c, const std::vector<std::size_t>& idx,
                      std::vector<Candidate>& all);

  const std::vector<PlanJob>& m_jobs;
  PlanOptions m_opts;
  std::vector<SlotClass> m_classes;
  std::vector<int> m_slot_class;
  std::vector<GpuSlot> m_slots;
  std::vector<int> m_knee;
  std::vector<std::unordered_map<std::uint64_t, Candidate>> m_cache;
};

Candidate Planner::build(const SlotClass& c, const std::vector<std::size_t>& idx, Mechanism m,
                         const std::vector<double>& shares,
                         const std::vector<const MigProfile*>& mig) {
  Candidate out;
  auto& g = out.plan;
  g.gpu_model = c.slot.model;
  g.mechanism = m;
  g.memory_capacity = c.slot.memory_bytes;
  std::vector<Member> members;
  for (std::size_t k = 0; k < idx.size(); ++k) {
    const auto& pj = m_jobs[idx[k]];
    const auto& p = pj.profile;
    Member mb;
    mb.gpu_busy = p.gpu_util.value_or(p.sm_active.value_or(1.0));
    mb.sm_active = p.sm_active.value_or(mb.gpu_busy);
    mb.dram = p.dram_active.value_or(0.0);
    mb.occupancy = p.sm_occupancy.value_or(0.0);
    const double share = shares.empty() ? 1.0 : shares[k];
    mb.speed_cap = m == Mechanism::green ? p.green_speed_at(share) : p.speed_at(share);
    members.push_back(mb);
    JobPlacement jp;
    jp.job = pj.job.name;
    jp.workload = pj.job.workload;
    jp.share = share;
    jp.peak_mem_bytes = p.peak_mem_bytes;
    if (m == Mechanism::mps_limits || m == Mechanism::mig_equivalent) {
      jp.thread_percent = static_cast<int>(std::lround(share * 100));
    }
    if (m == Mechanism::green) {
      jp.green_sms = static_cast<int>(std::lround(share * c.slot.sms));
    }
    if (!mig.empty()) {
      jp.mig_profile = mig[k]->name;
    }
    g.jobs.push_back(jp);
    g.memory_bytes = m == Mechanism::sequential ? std::max(g.memory_bytes, p.peak_mem_bytes)
                                                : g.memory_bytes + p.peak_mem_bytes;
  }
  const auto pr = predict(m, members, m_opts.params);
  for (std::size_t k = 0; k < idx.size(); ++k) {
    auto& jp = g.jobs[k];
    const auto& pj = m_jobs[idx[k]];
    jp.speed = pr.speed[k];
    // One at a time, a job runs at full speed while it runs (its speed is its share of the
    // GPU's time): its rate and slowdown are those of the job alone; it waits instead.
    const double running = m == Mechanism::sequential ? 1.0 : jp.speed;
    jp.throughput = running * pj.profile.solo_throughput();
    jp.slowdown = running > 0 ? 1.0 / running : 1e300;
    if (pj.profile.latency_ms) {
      // A step's latency grows as its rate falls; one at a time, a job's steps are not slowed.
      jp.latency_ms = *pj.profile.latency_ms / (m == Mechanism::sequential ? 1.0 : jp.speed);
    }
    g.aggregate += jp.speed;
  }
  g.binding = pr.bound == Bound::bandwidth ? "bandwidth" : pr.bound == Bound::sms ? "SMs" : "none";
  g.blast_radius = (m == Mechanism::mps || m == Mechanism::mps_limits ||
                    m == Mechanism::mig_equivalent || m == Mechanism::green)
                       ? static_cast<int>(idx.size())
                       : 1;
  // Constraints.
  auto refuse = [&](std::string cat, std::string msg) {
    if (!out.refused) {
      out.refused = Refusal{std::move(cat), std::move(msg)};
    }
  };
  if (m == Mechanism::mig || m == Mechanism::mig_equivalent) {
    // MIG-equivalent limits each client's memory to its profile's too (colo run's guard).
    for (std::size_t k = 0; k < idx.size(); ++k) {
      if (g.jobs[k].peak_mem_bytes > static_cast<double>(mig[k]->memory_bytes)) {
        refuse("memory", fmt::format("job '{}' needs {:.1f} GiB, MIG {} has {:.1f} GiB",
                                     g.jobs[k].job, gib(g.jobs[k].peak_mem_bytes), mig[k]->name,
                                     gib(static_cast<double>(mig[k]->memory_bytes))));
      }
    }
  } else if (g.memory_bytes > static_cast<double>(c.slot.memory_bytes)) {
    std::string who;
    for (const auto& jp : g.jobs) {
      who += fmt::format("{}{} {:.1f}", who.empty() ? "" : " + ", jp.job, gib(jp.peak_mem_bytes));
    }
    refuse("memory", fmt::format("peak memory {} = {:.1f} GiB exceeds {} ({:.1f} GiB)", who,
                                 gib(g.memory_bytes), c.slot.model,
                                 gib(static_cast<double>(c.slot.memory_bytes))));
  }
  for (std::size_t k = 0; k < idx.size(); ++k) {
    const auto& j = m_jobs[idx[k]].job;
    const auto& jp = g.jobs[k];
    if (idx.size() > 1 && j.isolation != Isolation::none) {
      const bool faults_shared = g.blast_radius > 1;
      const bool memory_shared = m == Mechanism::timeslice || faults_shared;
      if ((j.isolation == Isolation::fault && faults_shared) ||
          (j.isolation == Isolation::memory && memory_shared)) {
        refuse("isolation", fmt::format("job '{}' asks for {} isolation, which {} does not give",
                                        j.name, to_string(j.isolation), to_string(m)));
      }
    }
    if (jp.slowdown > bound_of(j) + k_eps) {
      refuse("SLO", fmt::format("job '{}' would slow down {:.2f}x, above its bound {:.2f}x", j.name,
                                jp.slowdown, bound_of(j)));
    }
    if (j.min_throughput && jp.throughput < *j.min_throughput - k_eps) {
      refuse("SLO", fmt::format("job '{}' would run at {:.6g} samples/s, below its "
                                "min_throughput {:.6g}",
                                j.name, jp.throughput, *j.min_throughput));
    }
    if (j.latency_slo_ms && jp.latency_ms && *jp.latency_ms > *j.latency_slo_ms + k_eps) {
      refuse("SLO", fmt::format("job '{}' would see {:.3g} ms per step, above its latency_slo "
                                "{:.3g} ms",
                                j.name, *jp.latency_ms, *j.latency_slo_ms));
    }
  }
  return out;
}

Candidate* Planner::best_for(const SlotClass& c, const std::vector<std::size_t>& idx,
                             std::vector<Candidate>& all) {
  const std::size_t n = idx.size();
  if (n == 1) {
    all.push_back(build(c, idx, Mechanism::solo, {}, {}));
  } else if (!c.slot.mig_enabled) {  // a GPU in MIG mode runs MIG instances only
    all.push_back(build(c, idx, Mechanism::timeslice, {}, {}));
    all.push_back(build(c, idx, Mechanism::mps, {}, {}));
    // MPS limits: equal caps, and caps proportional to each job's knee (sum 100%).
    std::vector<double> equal(n, std::floor(100.0 / static_cast<double>(n)) / 100.0);
    all.push_back(build(c, idx, Mechanism::mps_limits, equal, {}));
    double knees = 0;
    for (auto i : idx) {
      knees += m_knee[i];
    }
    std::vector<double> prop;
    for (auto i : idx) {
      prop.push_back(std::max(1.0, std::floor(100.0 * m_knee[i] / knees)) / 100.0);
    }
    all.push_back(build(c, idx, Mechanism::mps_limits, prop, {}));
    // Green contexts where every job supports them: SM counts in multiples of the granularity.
    const bool green = std::all_of(
        idx.begin(), idx.end(), [&](std::size_t i) { return m_jobs[i].profile.supports_green(); });
    const int gran = std::max(1, m_opts.green_sm_granularity);
    if (green && c.slot.sms >= gran * static_cast<int>(n)) {
      std::vector<double> sh;
      const int units = c.slot.sms / gran;
      int used = 0;
      for (auto i : idx) {
        const int u = std::max(1, static_cast<int>(std::floor(units * m_knee[i] / knees)));
        used += u;
        sh.push_back(static_cast<double>(u * gran) / c.slot.sms);
      }
      if (used <= units) {
        all.push_back(build(c, idx, Mechanism::green, sh, {}));
      }
    }
  }
  if (n > 1) {
    // MIG layouts (or their MPS equivalents): the largest instance to the largest knee.
    if (!c.layouts.empty() && n <= static_cast<std::size_t>(k_max_mig_members)) {
      std::vector<std::size_t> order(n);
      std::iota(order.begin(), order.end(), 0);
      std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return std::tie(m_knee[idx[b]], a) < std::tie(m_knee[idx[a]], b);  // knee desc, stable
      });
      const Mechanism mm = c.slot.mig_enabled ? Mechanism::mig : Mechanism::mig_equivalent;
      const int slices = mig_sm_slices(c.slot.mig_table);
      // Layouts are ranked by their isolated speeds (instances that hold each job's memory);
      // only the best is built and checked in full (contention, constraints).
      std::vector<const MigProfile*> best_per;
      std::vector<double> best_sh;
      double best_score = -1;
      for (const auto& layout : c.layouts) {
        if (layout.size() != n) {
          continue;
        }
        std::vector<const MigProfile*> per(n);
        std::vector<double> sh(n);
        double score = 0;
        for (std::size_t k = 0; k < n; ++k) {
          const std::size_t at = order[k];
          per[at] = layout[k];
          const auto eq = mps_equivalent(*layout[k], c.slot.sms);
          sh[at] = mm == Mechanism::mig || c.slot.sms <= 0
                       ? static_cast<double>(layout[k]->sm_slices) / slices
                       : eq.thread_percent / 100.0;
          const auto& prof = m_jobs[idx[at]].profile;
          score += prof.peak_mem_bytes <= static_cast<double>(layout[k]->memory_bytes)
                       ? prof.speed_at(sh[at])
                       : -1.0;
        }
        if (score > best_score + k_eps) {
          best_score = score;
          best_per = per;
          best_sh = sh;
        }
      }
      if (!best_per.empty()) {
        all.push_back(build(c, idx, mm, best_sh, best_per));
      }
    }
    all.push_back(build(c, idx, Mechanism::sequential, {}, {}));
  }
  Candidate* best = nullptr;
  for (auto& cand : all) {
    if (!cand.refused && (!best || cand.plan.aggregate > best->plan.aggregate + k_eps)) {
      best = &cand;
    }
  }
  return best;
}

Candidate Planner::best_of(const SlotClass& c, const std::vector<std::size_t>& idx) {
  std::vector<Candidate> all;
  Candidate* best = best_for(c, idx, all);
  if (!best) {
    // Nothing fits: the refusal of the candidate that would have been best.
    const Candidate* top = &all.front();
    for (const auto& cand : all) {
      if (cand.plan.aggregate > top->plan.aggregate + k_eps) {
        top = &cand;
      }
    }
    return *top;
  }
  Candidate out = *best;
  // The binding constraint: what refused a candidate predicted to do better, else the model's.
  const Refusal* binding = nullptr;
  const Candidate* beaten = nullptr;
  for (const auto& cand : all) {
    if (cand.refused && cand.plan.aggregate > best->plan.aggregate + k_eps &&
        (!beaten || cand.plan.aggregate > beaten->plan.aggregate)) {
      beaten = &cand;
      binding = &*cand.refused;
    }
  }
  auto& g = out.plan;
  auto as_alternative = [](const char* name, const Candidate& cand) {
    return Alternative{name,
                       cand.plan.mechanism,
                       cand.plan.jobs,
                       cand.plan.aggregate,
                       cand.refused ? cand.refused->message : std::string(),
                       cand.refused ? cand.refused->category : std::string()};
  };
  if (idx.size() > 1 && !c.slot.mig_enabled) {
    // best_for's first three candidates are the simple rules, in this order.
    const char* rules[] = {"always time-slice", "always uncapped MPS", "equal MPS caps"};
    for (std::size_t r = 0; r < 3 && r < all.size(); ++r) {
      g.alternatives.push_back(as_alternative(rules[r], all[r]));
    }
  }
  if (idx.size() > 1) {
    for (std::size_t r = c.slot.mig_enabled ? 0 : 3; r < all.size(); ++r) {
      const auto m = all[r].plan.mechanism;
      if (m == Mechanism::sequential || m == Mechanism::solo) {
        continue;
      }
      const char* name = m == Mechanism::mps_limits       ? "knee-proportional MPS caps"
                         : m == Mechanism::green          ? "green SM split"
                         : m == Mechanism::mig            ? "MIG layout"
                         : m == Mechanism::mig_equivalent ? "MIG-equivalent caps"
                                                          : to_string(m);
      g.others.push_back(as_alternative(name, all[r]));
    }
  }
  if (binding) {
    g.binding = binding->category;
    g.why = fmt::format("{} (predicted {:.2f}) refused: {}", to_string(beaten->plan.mechanism),
                        beaten->plan.aggregate, binding->message);
  } else if (g.mechanism == Mechanism::solo) {
    g.why = "alone on the GPU";
  } else {
    g.why = fmt::format("best predicted aggregate of {} candidates", all.size());
  }
  if (g.mechanism == Mechanism::sequential) {
    g.why =
        "do not collocate: every sharing mechanism is predicted below running the jobs one "
        "at a time" +
        (binding ? std::string("; ") + g.why : std::string());
  }
  return out;
}

const Candidate& Planner::evaluate(int cls, std::uint64_t mask) {
  auto& cache = m_cache[static_cast<std::size_t>(cls)];
  if (auto it = cache.find(mask); it != cache.end()) {
    return it->second;
  }
  Candidate c;
  if (mask == 0) {
    c.plan.aggregate = 0;
  } else {
    c = best_of(m_classes[static_cast<std::size_t>(cls)], members_of(mask));
  }
  return cache.emplace(mask, std::move(c)).first->second;
}

Result<Plan> Planner::run() {
  m_cache.assign(m_classes.size(), {});
  const std::size_t n = m_jobs.size();
  const std::size_t g = m_slots.size();
  if (n == 0 || g == 0) {
    return fail(ErrorCode::invalid_argument, n == 0 ? "no jobs to plan" : "no GPUs to plan onto");
  }
  if (n > k_max_jobs) {
    return fail(ErrorCode::invalid_argument,
                fmt::format("{} jobs; a plan places at most {}", n, k_max_jobs));
  }
  auto feasible = [&](std::size_t gpu, std::uint64_t mask) -> const Candidate& {
    return evaluate(m_slot_class[gpu], mask);
  };
  // Every job must fit some GPU alone.
  for (std::size_t i = 0; i < n; ++i) {
    const Candidate* why = nullptr;
    bool ok = false;
    for (std::size_t s = 0; s < g && !ok; ++s) {
      const auto& c = feasible(s, std::uint64_t{1} << i);
      ok = !c.refused;
      why = &c;
    }
    if (!ok) {
      return fail(ErrorCode::invalid_argument,
                  fmt::format("job '{}' fits no GPU even alone: {}", m_jobs[i].job.name,
                              why->refused->message));
    }
  }
  // Greedy: the largest jobs (memory) first, each where it adds the most.
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    // Peak memory descending, file order among equals (no std::stable_sort: clang -Werror).
    return std::tie(m_jobs[b].profile.peak_mem_bytes, a) <
           std::tie(m_jobs[a].profile.peak_mem_bytes, b);
  });
  std::vector<std::uint64_t> masks(g, 0);
  for (auto i : order) {
    const std::uint64_t bit = std::uint64_t{1} << i;
    double best = -1e300;
    std::size_t at = g;
    std::string refusals;
    for (std::size_t s = 0; s < g; ++s) {
      const auto& with = feasible(s, masks[s] | bit);
      if (with.refused) {
        refusals += fmt::format("; GPU {}: {}", m_slots[s].index, with.refused->message);
        continue;
      }
      const double gain = with.plan.aggregate - feasible(s, masks[s]).plan.aggregate;
      if (gain > best + k_eps) {
        best = gain;
        at = s;
      }
    }
    if (at == g) {
      return fail(ErrorCode::invalid_argument,
                  fmt::format("job '{}' cannot join any GPU without breaking a constraint{}",
                              m_jobs[i].job.name, refusals));
    }
    masks[at] |= bit;
  }
  // Local search: single moves and pairwise swaps while the total improves.
  auto total = [&](std::size_t s) { return feasible(s, masks[s]).plan.aggregate; };
  for (int round = 0; round < m_opts.max_rounds; ++round) {
    bool improved = false;
    for (std::size_t i = 0; i < n; ++i) {
      const std::uint64_t bit = std::uint64_t{1} << i;
      std::size_t from = 0;
      while (!(masks[from] & bit)) {
        ++from;
      }
      for (std::size_t to = 0; to < g; ++to) {
        if (to == from) {
          continue;
        }
        const double before = total(from) + total(to);
        const auto& a = feasible(from, masks[from] & ~bit);
        const auto& b = feasible(to, masks[to] | bit);
        if (!a.refused && !b.refused && a.plan.aggregate + b.plan.aggregate > before + 1e-6) {
          masks[from] &= ~bit;
          masks[to] |= bit;
          improved = true;
          break;
        }
        // Swap with each job of `to`.
        for (std::size_t k = 0; k < n; ++k) {
          const std::uint64_t kb = std::uint64_t{1} << k;
          if (!(masks[to] & kb)) {
            continue;
          }
          const auto& sa = feasible(from, (masks[from] & ~bit) | kb);
          const auto& sb = feasible(to, (masks[to] & ~kb) | bit);
          if (!sa.refused && !sb.refused && sa.plan.aggregate + sb.plan.aggregate > before + 1e-6) {
            masks[from] = (masks[from] & ~bit) | kb;
            masks[to] = (masks[to] & ~kb) | bit;
            improved = true;
            break;
          }
        }
        if (improved) {
          break;
        }
      }
    }
    if (!improved) {
      break;
    }
  }
  Plan plan;
  plan.params = m_opts.params;
  plan.max_slowdown = m_opts.max_slowdown;
  plan.jobs = static_cast<int>(n);
  for (const auto& j : m_jobs) {
    plan.simulated = plan.simulated || j.profile.simulated;
  }
  for (std::size_t s = 0; s < g; ++s) {
    if (masks[s] == 0) {
      continue;
    }
    GroupPlan gp = feasible(s, masks[s]).plan;
    gp.gpu = m_slots[s].index;
    plan.aggregate += gp.aggregate;
    plan.groups.push_back(std::move(gp));
  }
  if (n > 1 && plan.groups.size() == n) {
    plan.notes.push_back("every job has a GPU of its own: nothing to collocate");
  }
  return plan;
}

nlohmann::json placement_json(const JobPlacement& p) {
  nlohmann::json j{{"job", p.job},
                   {"workload", p.workload},
                   {"share", p.share},
                   {"speed", p.speed},
                   {"throughput", p.throughput},
                   {"slowdown", p.slowdown},
                   {"peak_mem_bytes", p.peak_mem_bytes}};
  if (p.thread_percent) {
    j["thread_percent"] = *p.thread_percent;
  }
  if (p.green_sms) {
    j["green_sms"] = *p.green_sms;
  }
  if (p.mig_profile) {
    j["mig_profile"] = *p.mig_profile;
  }
  if (p.latency_ms) {
    j["latency_ms"] = *p.latency_ms;
  }
  return j;
}

JobPlacement placement_from_json(const nlohmann::json& x) {
  JobPlacement jp;
  jp.job = x.at("job").get<std::string>();
  jp.workload = x.at("workload").get<std::string>();
  jp.share = x.at("share").get<double>();
  jp.speed = x.at("speed").get<double>();
  jp.throughput = x.at("throughput").get<double>();
  jp.slowdown = x.at("slowdown").get<double>();
  jp.peak_mem_bytes = x.at("peak_mem_bytes").get<double>();
  if (x.contains("thread_percent")) {
    jp.thread_percent = x["thread_percent"].get<int>();
  }
  if (x.contains("green_sms")) {
    jp.green_sms = x["green_sms"].get<int>();
  }
  if (x.contains("mig_profile")) {
    jp.mig_profile = x["mig_profile"].get<std::string>();
  }
  if (x.contains("latency_ms")) {
    jp.latency_ms = x["latency_ms"].get<double>();
  }
  return jp;
}

Mechanism mechanism_named(const std::string& s) {
  for (auto m :
       {Mechanism::solo, Mechanism::sequential, Mechanism::timeslice, Mechanism::mps,
        Mechanism::mps_limits, Mechanism::mig, Mechanism::mig_equivalent, Mechanism::green}) {
    if (s == to_string(m)) {
      return m;
    }
  }
  throw nlohmann::json::other_error::create(501, "unknown mechanism '" + s + "'", nullptr);
}

}  // namespace

Result<Plan> make_plan(const std::vector<PlanJob>& jobs, const std::vector<GpuSlot>& gpus,
                       const PlanOptions& opts) {
  for (const auto& j : jobs) {
    if (j.profile.solo_throughput() <= 0) {
      return fail(ErrorCode::invalid_argument,
                  fmt::format("job '{}': its profile has no solo throughput (the workload "
                              "reported no progress while profiled)",
                              j.job.name));
    }
    if (j.job.latency_slo_ms && !j.profile.latency_ms) {
      return fail(ErrorCode::invalid_argument,
                  fmt::format("job '{}' has a latency_slo but its profile has no step latency "
                              "(the workload must report latency_ms in its progress lines)",
                              j.job.name));
    }
  }
  Planner p(jobs, gpus, opts);
  return p.run();
}

RightSize right_size(const PlanJob& job, const GpuSlot& gpu, double within,
                     int green_sm_granularity) {
  RightSize r;
  r.job = job.job.name;
  r.within = within;
  const auto& p = job.profile;
  const double target = 1.0 - within;
  for (const auto& pt : p.mps_curve) {
    const double speed = curve_speed_measured(p.mps_curve, pt.share);
    if (speed >= target - k_eps) {
      r.thread_percent = std::clamp(static_cast<int>(std::lround(pt.share * 100)), 1, 100);
      r.mps_speed = speed;
      break;
    }
  }
  if (const int t = min_percent(p, target); r.thread_percent && t < *r.thread_percent) {
    r.unmeasured_percent = t;
    r.unmeasured_speed = p.speed_at(t / 100.0);
  }
  const int slices = mig_sm_slices(gpu.mig_table);
  const MigProfile* best = nullptr;
  for (const auto& m : gpu.mig_table) {
    if (m.name.find('+') != std::string::npos || slices <= 0) {
      continue;
    }
    const double speed =
        curve_speed_measured(p.mps_curve, static_cast<double>(m.sm_slices) / slices);
    if (speed >= target - k_eps && p.peak_mem_bytes <= static_cast<double>(m.memory_bytes) &&
        (!best ||
         std::tie(m.sm_slices, m.memory_bytes) < std::tie(best->sm_slices, best->memory_bytes))) {
      best = &m;
    }
  }
  if (best) {
    r.mig_profile = best->name;
    r.mig_speed = curve_speed_measured(p.mps_curve, static_cast<double>(best->sm_slices) / slices);
  }
  r.green_profiled = p.supports_green();
  if (const auto c = p.green_curve_with_solo(); !c.empty() && gpu.sms > 0) {
    const int gran = std::max(1, green_sm_granularity);
    for (const auto& pt : c) {
      const double speed = curve_speed_measured(c, pt.share);
      if (speed >= target - k_eps) {
        // A profiled SM count, rounded up to the granularity green contexts are made in.
        const int sms = static_cast<int>(std::lround(pt.share * gpu.sms));
        r.green_sms = std::min(gpu.sms, (sms + gran - 1) / gran * gran);
        r.green_speed = speed;
        break;
      }
    }
  }
  return r;
}

namespace {

nlohmann::json alternatives_json(const std::vector<Alternative>& alternatives) {
  nlohmann::json alts = nlohmann::json::array();
  for (const auto& a : alternatives) {
    nlohmann::json aj = nlohmann::json::array();
    for (const auto& jp : a.jobs) {
      aj.push_back(placement_json(jp));
    }
    alts.push_back({{"rule", a.rule},
                    {"mechanism", to_string(a.mechanism)},
                    {"jobs", aj},
                    {"aggregate", a.aggregate},
                    {"refused", a.refused},
                    {"refused_by", a.refused_by}});
  }
  return alts;
}

std::vector<Alternative> alternatives_from_json(const nlohmann::json& list) {
  std::vector<Alternative> out;
  for (const auto& a : list) {
    Alternative alt;
    alt.rule = a.at("rule").get<std::string>();
    alt.mechanism = mechanism_named(a.at("mechanism").get<std::string>());
    alt.aggregate = a.at("aggregate").get<double>();
    alt.refused = a.at("refused").get<std::string>();
    alt.refused_by = a.value("refused_by", std::string());
    for (const auto& x : a.at("jobs")) {
      alt.jobs.push_back(placement_from_json(x));
    }
    out.push_back(std::move(alt));
  }
  return out;
}

}  // namespace

nlohmann::json to_json(const Plan& p) {
  nlohmann::json groups = nlohmann::json::array();
  for (const auto& g : p.groups) {
    nlohmann::json jobs = nlohmann::json::array();
    for (const auto& jp : g.jobs) {
      jobs.push_back(placement_json(jp));
    }
    groups.push_back({{"gpu", g.gpu},
                      {"alternatives", alternatives_json(g.alternatives)},
                      {"others", alternatives_json(g.others)},
                      {"gpu_model", g.gpu_model},
                      {"mechanism", to_string(g.mechanism)},
                      {"jobs", jobs},
                      {"aggregate", g.aggregate},
                      {"memory_bytes", g.memory_bytes},
                      {"memory_capacity", g.memory_capacity},
                      {"binding", g.binding},
                      {"why", g.why},
                      {"blast_radius", g.blast_radius}});
  }
  nlohmann::json bound = p.max_slowdown ? nlohmann::json(*p.max_slowdown) : nlohmann::json();
  return {{"simulated", p.simulated},
          {"max_slowdown", bound},
          {"jobs", p.jobs},
          {"aggregate", p.aggregate},
          {"groups", groups},
          {"notes", p.notes},
          {"model",
           {{"ts_capacity", p.params.ts_capacity},
            {"mps_capacity", p.params.mps_capacity},
            {"bw_capacity", p.params.bw_capacity},
            {"ts_overhead", p.params.ts_overhead},
            {"mps_overhead", p.params.mps_overhead},
            {"mps_weight_exp", p.params.mps_weight_exp},
            {"mps_occupancy_weight", p.params.mps_occupancy_weight}}}};
}

Result<Plan> plan_from_json(const nlohmann::json& j) {
  try {
    Plan p;
    p.simulated = j.at("simulated").get<bool>();
    p.jobs = j.at("jobs").get<int>();
    p.aggregate = j.at("aggregate").get<double>();
    if (j.contains("max_slowdown") && j["max_slowdown"].is_number()) {
      p.max_slowdown = j["max_slowdown"].get<double>();
    }
    for (const auto& n : j.at("notes")) {
      p.notes.push_back(n.get<std::string>());
    }
    const auto& m = j.at("model");
    p.params = {m.at("ts_capacity").get<double>(),
                m.at("mps_capacity").get<double>(),
                m.at("bw_capacity").get<double>(),
                m.at("ts_overhead").get<double>(),
                m.at("mps_overhead").get<double>(),
                m.value("mps_weight_exp", 1.0),  // plans from before the MPS weights
                m.value("mps_occupancy_weight", 0.0)};
    for (const auto& gj : j.at("groups")) {
      GroupPlan g;
      g.gpu = gj.at("gpu").get<int>();
      g.gpu_model = gj.at("gpu_model").get<std::string>();
      g.mechanism = mechanism_named(gj.at("mechanism").get<std::string>());
      g.aggregate = gj.at("aggregate").get<double>();
      g.memory_bytes = gj.at("memory_bytes").get<double>();
      g.memory_capacity = gj.at("memory_capacity").get<std::uint64_t>();
      g.binding = gj.at("binding").get<std::string>();
      g.why = gj.at("why").get<std::string>();
      g.blast_radius = gj.at("blast_radius").get<int>();
      g.alternatives = alternatives_from_json(gj.value("alternatives", nlohmann::json::array()));
      g.others = alternatives_from_json(gj.value("others", nlohmann::json::array()));
      for (const auto& x : gj.at("jobs")) {
        g.jobs.push_back(placement_from_json(x));
      }
      p.groups.push_back(std::move(g));
    }
    return p;
  } catch (const nlohmann::json::exception& e) {
    return fail(ErrorCode::invalid_argument, fmt::format("malformed plan: {}", e.what()));
  }
}

nlohmann::json to_json(const RightSize& r) {
  nlohmann::json j{{"job", r.job}, {"within", r.within}};
  if (r.thread_percent) {
    j["mps"] = {{"thread_percent", *r.thread_percent}, {"speed", *r.mps_speed}};
  }
  j["mps_unmeasured"] = r.unmeasured_percent
                            ? nlohmann::json{{"thread_percent", *r.unmeasured_percent},
                                             {"interpolated_speed", *r.unmeasured_speed}}
                            : nlohmann::json(nullptr);
  j["mig"] = r.mig_profile ? nlohmann::json{{"profile", *r.mig_profile}, {"speed", *r.mig_speed}}
                           : nlohmann::json(nullptr);
  j["green"] = r.green_sms ? nlohmann::json{{"sms", *r.green_sms}, {"speed", *r.green_speed}}
                           : nlohmann::json(nullptr);
  return j;
}

Result<RightSize> right_size_from_json(const nlohmann::json& j) {
  try {
    RightSize r;
    r.job = j.at("job").get<std::string>();
    r.within = j.at("within").get<double>();
    // An entry is an object or null (the answer has none); a missing one is a null.
    const auto entry = [&](const char* key) -> const nlohmann::json* {
      const auto it = j.find(key);
      return it == j.end() || it->is_null() ? nullptr : &*it;
    };
    if (const auto* m = entry("mps")) {
      r.thread_percent = m->at("thread_percent").get<int>();
      r.mps_speed = m->at("speed").get<double>();
    }
    if (const auto* u = entry("mps_unmeasured")) {
      r.unmeasured_percent = u->at("thread_percent").get<int>();
      r.unmeasured_speed = u->at("interpolated_speed").get<double>();
    }
    if (const auto* m = entry("mig")) {
      r.mig_profile = m->at("profile").get<std::string>();
      r.mig_speed = m->at("speed").get<double>();
    }
    if (const auto* g = entry("green")) {
      r.green_sms = g->at("sms").get<int>();
      r.green_speed = g->at("speed").get<double>();
    }
    return r;
  } catch (const nlohmann::json::exception& e) {
    return fail(ErrorCode::invalid_argument,
                fmt::format("malformed right-size answer: {}", e.what()));
  }
}

std::string render_text(const Plan& p) {
  std::string out;
  if (p.simulated) {
    out += "SIMULATED: profiles from the simulated GPU; every prediction below is modelled\n";
  }
  out += fmt::format(
      "Plan for {} job(s) on {} GPU(s) in use: predicted aggregate normalized "
      "throughput {:.2f} (1.00 per job alone)\n",
      p.jobs, p.groups.size(), p.aggregate);
  for (const auto& g : p.groups) {
    out += fmt::format(
        "\nGPU {} ({}): {}  aggregate {:.2f}, memory {:.1f}/{:.1f} GiB, binding: {}, blast "
        "radius {} job(s)\n  why: {}\n",
        g.gpu, g.gpu_model, to_string(g.mechanism), g.aggregate, gib(g.memory_bytes),
        gib(static_cast<double>(g.memory_capacity)), g.binding, g.blast_radius, g.why);
    out += fmt::format("  {:<20} {:<16} {:>10} {:>8} {:>14} {:>9} {:>11}\n", "job", "workload",
                       "partition", "speed", "samples/s", "slowdown", "peak mem");
    for (const auto& jp : g.jobs) {
      std::string part = "-";
      if (jp.mig_profile) {
        part = *jp.mig_profile;
      } else if (jp.green_sms) {
        part = fmt::format("{} SMs", *jp.green_sms);
      } else if (jp.thread_percent) {
        part = fmt::format("{}%", *jp.thread_percent);
      }
      out += fmt::format("  {:<20} {:<16} {:>10} {:>8.3f} {:>14.4g} {:>8.2f}x {:>7.1f} GiB\n",
                         jp.job, jp.workload, part, jp.speed, jp.throughput, jp.slowdown,
                         gib(jp.peak_mem_bytes));
    }
  }
  auto list = [&](const char* title, std::vector<Alternative> GroupPlan::* member, int width) {
    bool header = false;
    for (const auto& g : p.groups) {
      for (const auto& a : g.*member) {
        if (!header) {
          out += fmt::format("\n{} (predicted aggregate):\n", title);
          header = true;
        }
        out += fmt::format("  GPU {} {:<{}} {:>6.2f}{}\n", g.gpu, a.rule, width, a.aggregate,
                           a.refused.empty() ? "" : "  (breaks: " + a.refused + ")");
      }
    }
  };
  list("Simple rules on the same groups", &GroupPlan::alternatives, 22);
  list("Other candidates scored", &GroupPlan::others, 26);
  for (const auto& n : p.notes) {
    out += "note: " + n + "\n";
  }
  if (p.simulated) {
    out += "SIMULATED plan (profiles from the simulated GPU)\n";
  }
  return out;
}

std::string render_text(const RightSize& r) {
  std::string out =
      fmt::format("Right-size '{}' within {:g}% of its speed alone:\n", r.job, r.within * 100);
  out += r.thread_percent ? fmt::format("  MPS: {}% active threads (profiled speed {:.3f})\n",
                                        *r.thread_percent, *r.mps_speed)
                          : std::string("  MPS: no profiled share keeps it\n");
  if (r.unmeasured_percent) {
    out += fmt::format(
        "    {}% might do (speed {:.3f} on a straight line between profiled shares, not "
        "measured): profile that share before using it\n",
        *r.unmeasured_percent, *r.unmeasured_speed);
  }
  out += r.mig_profile ? fmt::format("  MIG: {} (profiled speed {:.3f} at or below its SM share)\n",
                                     *r.mig_profile, *r.mig_speed)
                       : std::string("  MIG: no profile of this GPU keeps it (or no MIG table)\n");
  out +=
      r.green_sms
          ? fmt::format("  green: {} SMs (profiled speed {:.3f})\n", *r.green_sms, *r.green_speed)
          : std::string(r.green_profiled ? "  green: no profiled SM count keeps it\n"
                                         : "  green: not profiled with green contexts\n");
  return out;
}

}  // namespace colo::plan
