#pragma once
// Reports of `colo sim` results (pure: values in, text out): the typed runs of a command
// (sim/batch.hpp), one per (policy, seed), each carrying its context (mode, load, trace files,
// cluster size, variant). Rendered as text, Markdown, CSV, JSON (sim/sim_json.hpp, the edge)
// or a self-contained HTML page with the allocation curves of every policy in one figure.
// Every format says the numbers come from a simulation.
#include <string>
#include <vector>

#include "report/report.hpp"
#include "sim/batch.hpp"

namespace colo {

// Requires runs of one mode (all inflate or all replay); runs of a policy are averaged over
// their seeds (mean ± sd in the tables, mean in the charts).
std::string render_sim_report(const std::vector<csim::SimRun>& runs, ReportFormat format);

}  // namespace colo
