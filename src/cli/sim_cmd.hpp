#pragma once
// `colo sim`: the trace-driven cluster simulator (src/sim, docs/sim.md) from the command line.
#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

namespace colo {

struct SimOptions {
  std::string nodes;                   // "": the shipped GPU-node list (data/alibaba-gpu-v2023)
  std::string pods;                    // "": the shipped default pod list
  std::string semantics = "artifact";  // artifact | exact (docs/sim.md)
  // One switch per difference between the semantics ("" = the semantics' own): scores
  // int|exact, ties name|random, formulas artifact|exact, target artifact|gpu-all, workload
  // artifact|draws, metric bin|end.
  std::string scores, ties, formulas, target, workload, metric;
  std::string mechanism = "fractional";  // comma list of fractional|mig|mps|timeslice, or all
  std::string mig_model;                 // mig: every GPU as this model
  int mps_clients = 48;
  std::string job = "resnet50";  // effective throughput: the job each pod runs (sim/throughput)
  std::vector<std::string> policies;  // "all" = every policy
  std::string mode = "inflate";       // inflate | replay
  double load = 0;                    // 0: 1.3 for inflate, 1.0 (the trace's own pace) for replay
  std::uint64_t seed = 1;
  int repeat = 1;          // seeds seed, seed+1, ...
  double share_frac = -1;  // resample the pods (sensitivity); negative: as in the trace
  double multi_frac = -1;
  double cpu_frac = -1;         // resample so that this fraction of all pods are CPU-only
  std::string format = "text";  // text | md | json | csv | html
  std::string output;
  bool save = false;        // store the runs in results_dir (one batch)
  std::string results_dir;  // colo-results
};

int cmd_sim(const SimOptions& o, std::ostream& out, std::ostream& err);

// `colo report --sim`: a stored batch of `colo sim --save` (0: the newest) in `format`.
int cmd_sim_report(const std::string& results_dir, std::int64_t batch, const std::string& format,
                   const std::string& output, std::ostream& out, std::ostream& err);

}  // namespace colo
