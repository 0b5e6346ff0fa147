#include "serve/placement.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <set>
#include <vector>

namespace colo::serve {

Result<PartitionSpec> partition_for(const plan::GroupPlan& group, const plan::JobPlacement& job) {
  PartitionSpec p;
  p.device = group.gpu;
  switch (group.mechanism) {
    case plan::Mechanism::solo:
    case plan::Mechanism::sequential:
    case plan::Mechanism::timeslice:
      p.kind = PartitionKind::gpu;
      return p;
    case plan::Mechanism::mps:
      p.kind = PartitionKind::mps;
      return p;
    case plan::Mechanism::mps_limits:
    case plan::Mechanism::mig_equivalent:
      p.kind = PartitionKind::mps;
      if (!job.thread_percent) {
        return fail(ErrorCode::invalid_argument,
                    fmt::format("job '{}' has no thread_percent under {}", job.job,
                                plan::to_string(group.mechanism)));
      }
      p.thread_percent = job.thread_percent;
      return p;
    case plan::Mechanism::mig:
      if (!job.mig_profile) {
        return fail(ErrorCode::invalid_argument,
                    fmt::format("job '{}' has no MIG profile under mig", job.job));
      }
      p.kind = PartitionKind::mig;
      p.mig_profile = *job.mig_profile;
      return p;
    case plan::Mechanism::green:
      if (!job.green_sms) {
        return fail(ErrorCode::invalid_argument,
                    fmt::format("job '{}' has no green_sms under green", job.job));
      }
      p.kind = PartitionKind::green;
      p.green_sms = job.green_sms;
      return p;
  }
  return fail(ErrorCode::invalid_argument, fmt::format("job '{}': unknown mechanism", job.job));
}

Status apply_plan(ServeConfig& cfg, const plan::Plan& plan, const std::string& plan_source) {
  std::set<std::string> taken;
  for (auto& f : cfg.functions) {
    if (f.plan_job.empty()) {
      continue;
    }
    const std::string where =
        fmt::format("{}:{}: functions.{}.plan_job", cfg.source, f.plan_job_line, f.name);
    const plan::GroupPlan* group = nullptr;
    const plan::JobPlacement* job = nullptr;
    std::vector<std::string> jobs;
    for (const auto& g : plan.groups) {
      for (const auto& j : g.jobs) {
        jobs.push_back(j.job);
        if (j.job == f.plan_job) {
          group = &g;
          job = &j;
        }
      }
    }
    if (job == nullptr) {
      return fail(ErrorCode::invalid_argument,
                  fmt::format("{}: '{}' is not a job of the plan {} (its jobs: {})", where,
                              f.plan_job, plan_source, fmt::join(jobs, ", ")));
    }
    if (!taken.insert(f.plan_job).second) {
      return fail(ErrorCode::invalid_argument,
                  fmt::format("{}: job '{}' already places another function", where, f.plan_job));
    }
    auto p = partition_for(*group, *job);
    if (!p) {
      return fail(ErrorCode::invalid_argument,
                  fmt::format("{}: {} ({})", where, p.error().message, plan_source));
    }
    p->line = f.plan_job_line;
    f.partition = *p;
    f.gpus.clear();
    COLO_TRY(validate_function(f, where + ": "));
  }
  return {};
}

Status apply_right_size(FunctionConfig& f, const plan::RightSize& answer,
                        const std::string& where) {
  if (!answer.thread_percent) {
    const std::string hint =
        answer.unmeasured_percent
            ? fmt::format(" (an unmeasured {}% might: profile that share first)",
                          *answer.unmeasured_percent)
            : std::string();
    return fail(ErrorCode::invalid_argument,
                fmt::format("{}job '{}': no measured MPS share keeps it within {:g}% of its speed "
                            "alone{}",
                            where, answer.job, answer.within * 100, hint));
  }
  const int device = f.partition.kind == PartitionKind::none ? 0 : f.partition.device;
  if (!f.gpus.empty()) {
    return fail(ErrorCode::invalid_argument,
                fmt::format("{}a right-sized pool takes gpu: N, not gpus", where));
  }
  f.partition = PartitionSpec{};
  f.partition.kind = PartitionKind::mps;
  f.partition.device = device;
  f.partition.thread_percent = answer.thread_percent;
  f.partition.line = f.right_size_line;
  return validate_function(f, where);
}

}  // namespace colo::serve
