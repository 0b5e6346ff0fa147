#pragma once
// Reports of `colo sim` results (pure: values in, text out). `runs` is the JSON array that
// `colo sim --format json` prints and `colo sim --save` stores: one object per (policy, seed),
// each carrying its context (mode, load, trace files, cluster size, variant). Rendered as
// text, Markdown, CSV, JSON or a self-contained HTML page with the allocation curves of every
// policy in one figure. Every format says the numbers come from a simulation.
#include <nlohmann/json.hpp>

#include <string>

#include "report/report.hpp"

namespace colo {

// Requires a non-empty array of runs of one mode (all inflate or all replay); runs of a policy
// are averaged over their seeds (mean ± sd in the tables, mean in the charts).
std::string render_sim_report(const nlohmann::json& runs, ReportFormat format);

}  // namespace colo
