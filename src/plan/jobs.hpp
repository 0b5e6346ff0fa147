#pragma once
// The jobs file of `colo plan` (JOBS.yaml, docs/plan.md): which workloads to place, each a
// training or inference job with optional bounds. Parsed and validated whole; every error names
// file:line and the job. Pure (text in, values out).
#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"

namespace colo::plan {

enum class JobKind { training, inference };
// What a job must not share with its co-runners (docs/plan.md, "Fault domains"): none; a fault
// domain (no MPS: time-slicing or MIG); memory too (MIG only, or a GPU alone).
enum class Isolation { none, fault, memory };

const char* to_string(JobKind k);
const char* to_string(Isolation i);

struct Job {
  std::string name;      // unique in the file
  std::string workload;  // a workload of the jobs file's spec (its profile's key)
  JobKind kind = JobKind::training;
  std::optional<double> latency_slo_ms;  // inference: predicted step latency must stay below
  std::optional<double> min_throughput;  // samples/s the job must keep
  std::optional<double> max_slowdown;    // solo rate / collocated rate, >= 1
  Isolation isolation = Isolation::none;
  int line = 0;
};

struct JobsFile {
  std::string path;
  std::string spec;  // the experiment spec defining the workloads (absolute, or as written)
  std::optional<double> max_slowdown;  // default bound for every job
  std::vector<Job> jobs;
};

inline constexpr std::size_t k_max_jobs = 64;  // a plan places at most this many jobs

// Parses and validates `text`; `path` is used in messages and to resolve `workloads:` relative
// to the file's directory (the caller passes an absolute `base_dir`).
Result<JobsFile> parse_jobs(const std::string& text, const std::string& path,
                            const std::string& base_dir);

}  // namespace colo::plan
