#pragma once
// The Alibaba GPU cluster trace (cluster-trace-gpu-v2023, "openb" CSVs as published upstream):
// nodes (sn, cpu_milli, gpu; optional memory_mib, model) and pods (name, cpu_milli, num_gpu;
// optional memory_mib, gpu_milli, gpu_spec, qos, creation_time, deletion_time; other columns
// are ignored). Columns are found by header name (a UTF-8 byte order mark before the header is
// skipped); errors name file:line: column. Pure apart from reading the file.
#include <cstdint>
#include <string>
#include <vector>

#include "core/result.hpp"

namespace colo::csim {

struct TraceNode {
  std::string name;
  std::int64_t cpu_milli = 0;
  std::int64_t memory_mib = 0;
  int gpus = 0;       // 0..8
  std::string model;  // "" for CPU-only nodes
};

struct TracePod {
  std::string name;
  std::int64_t cpu_milli = 0;
  std::int64_t memory_mib = 0;
  int num_gpu = 0;                    // 0..8
  int gpu_milli = 0;                  // per GPU: < 1000 only with num_gpu == 1 (a GPU share)
  std::vector<std::string> gpu_spec;  // allowed GPU models; empty = any
  std::string qos;
  std::int64_t creation = 0;  // seconds
  std::int64_t deletion = 0;
  bool timed = true;  // the trace has creation_time and deletion_time (replay needs them)
};

Result<std::vector<TraceNode>> parse_nodes(const std::string& text, const std::string& file);
Result<std::vector<TracePod>> parse_pods(const std::string& text, const std::string& file);
Result<std::vector<TraceNode>> load_nodes(const std::string& path);
// The folder of the shipped default trace (data/alibaba-gpu-v2023 of the source tree, or
// share/colo/data/... beside an installed colo, or $COLO_DATA_DIR/alibaba-gpu-v2023); "" when
// none is found.
std::string default_trace_dir();
Result<std::vector<TracePod>> load_pods(const std::string& path);

}  // namespace colo::csim
