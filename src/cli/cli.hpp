#pragma once
// The colo command tree (docs/cli.md). Exit codes: 0 ok; 1 internal error; 2 bad input (spec,
// flag, id, unsupported mode); 3 the experiment ran but some workloads did not end ok; 4 store or
// filesystem error; 5 GPU error; 6 `colo compare --fail-above`: B regressed beyond the gate;
// 130 interrupted (resume with `colo run --resume`).
#include <iosfwd>

namespace colo {

inline constexpr int k_exit_workloads_failed = 3;
inline constexpr int k_exit_regression = 6;

int cli_main(int argc, char** argv, std::ostream& out, std::ostream& err);

}  // namespace colo
