#pragma once
// Pools placed by `colo plan` (docs/serve.md, "Placement from colo plan"): a function with
// `plan_job: NAME` takes its GPU and partition from that job's placement in a plan. Pure.
#include <string>

#include "core/result.hpp"
#include "plan/planner.hpp"
#include "serve/config.hpp"

namespace colo::serve {

// The partition `colo plan` chose for a job in `group`: time-slicing, one at a time and a job
// alone -> the whole GPU (kind gpu); uncapped MPS -> mps; MPS with limits and the MIG
// equivalent -> mps with the job's thread_percent; mig -> mig with the job's profile (colo serve
// creates the instance); green -> green with the job's SM count. The device is the group's GPU.
Result<PartitionSpec> partition_for(const plan::GroupPlan& group, const plan::JobPlacement& job);

// Sets the partition of every function of `cfg` with a plan_job from `plan` and validates it
// again. Errors (invalid_argument, "config:line: functions.F.plan_job: ..."): a job the plan
// does not have (its jobs listed), two functions on one job, a placement colo serve cannot take.
// `plan_source` names the plan file in messages.
Status apply_plan(ServeConfig& cfg, const plan::Plan& plan, const std::string& plan_source);

// Right-sizing from profiles: `answer` is a `colo plan --right-size JOB --within X` answer;
// `f`'s pool gets its measured MPS share (kind mps, thread_percent) on the GPU it names (gpu:, 0
// by default), and is validated again. Errors (`where` first): an answer without a measured MPS
// share within its bound (its unmeasured share, if any, named: profile it), a pool over gpus.
Status apply_right_size(FunctionConfig& f, const plan::RightSize& answer, const std::string& where);

}  // namespace colo::serve
