#pragma once
// Flat exports of an experiment's per-workload results (one row per workload per run), for
// other tools. Pure: values in, text out. Every row carries the `simulated` flag.
#include <string>
#include <vector>

#include "core/records.hpp"
#include "report/summary.hpp"

namespace colo {

// A CSV field, quoted (RFC 4180) when it holds a comma, quote or line break.
std::string csv_field(const std::string& v);

std::string export_csv(const ExperimentRecord& exp, const std::vector<RunData>& runs);
std::string export_json(const ExperimentRecord& exp, const std::vector<RunData>& runs,
                        const Summary& summary);

}  // namespace colo
