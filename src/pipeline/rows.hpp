#pragma once
// A pipeline's event log and statistics as the rows other modules keep: the store's
// PipelineEventLogRecord (core/records.hpp) and the report's PipelineRow (report/report.hpp).
// Pure.
#include "core/records.hpp"
#include "core/result.hpp"
#include "pipeline/events.hpp"
#include "pipeline/stats.hpp"
#include "report/report.hpp"

namespace colo::pipeline {

PipelineEventLogRecord to_store(const EventLog& log);
// Fails on an event kind this colo does not know (a store written by a newer colo).
Result<EventLog> from_store(const PipelineEventLogRecord& rec);
// The report row of a run's pipeline workload; run, mode, group and workload are the caller's.
PipelineRow to_report(const PipelineStats& stats);

}  // namespace colo::pipeline
