#pragma once
// A `colo sim` command's runs: every (policy, seed) of one trace, run on a thread pool and
// returned in (policy, seed) order as typed results, each with the context a report needs.
// JSON exists only at the edges (sim/sim_json.hpp: printing and the store).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "sim/experiment.hpp"

namespace colo::csim {

// What a command asks for.
struct SimSpec {
  std::string mode = "inflate";  // inflate | replay
  std::vector<std::string> policies;
  double load = 1.3;
  std::uint64_t seed = 1;
  int repeat = 1;  // seeds seed .. seed + repeat - 1
  SimSwitches sw = switches_for(Semantics::artifact);
  // inflate: every policy and seed under each mechanism (replay: fractional only)
  std::vector<Mechanism> mechanisms{Mechanism::fractional};
  MechanismOptions mech;         // mig_model, mps_clients (kind set per run)
  std::string job = "resnet50";  // inflate: the job for the effective throughput
};

// What every stored or printed run carries besides its result.
struct SimContext {
  std::string mode;
  std::string semantics;  // artifact | exact | custom
  double load = 0;
  std::string nodes_file;
  std::string pods_file;
  std::size_t nodes = 0;
  double gpus = 0;
  std::size_t trace_pods = 0;
  std::string variant;  // resampled pod mix, "" = the trace as given
};

struct SimRun {
  SimContext ctx;
  std::optional<InflateResult> inflate;  // exactly one of the two
  std::optional<ReplayResult> replay;
  [[nodiscard]] const std::string& policy() const {
    return inflate ? inflate->policy : replay->policy;
  }
  [[nodiscard]] std::uint64_t seed() const { return inflate ? inflate->seed : replay->seed; }
};

// Runs every (policy, seed) on up to `threads` threads (0: one per core); the first error in
// (policy, seed) order fails the batch.
Result<std::vector<SimRun>> run_batch(const std::vector<TraceNode>& nodes,
                                      const std::vector<TracePod>& pods, const SimSpec& spec,
                                      const SimContext& ctx, unsigned threads = 0);

}  // namespace colo::csim
