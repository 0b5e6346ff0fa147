#pragma once
// The COLO_PROGRESS protocol (docs/progress-protocol.md): a workload writes one JSON object per
// line to the fd named by COLO_PROGRESS ("fd:3"); colo answers the start barrier by writing one
// byte to the fd named by COLO_START ("fd:4") after every workload said "ready".
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace colo {

inline constexpr int k_progress_fd = 3;
inline constexpr int k_start_fd = 4;
inline constexpr std::size_t k_max_progress_line = std::size_t{64} * 1024;

enum class ProgressKind { ready, step, error, done, other };

struct ProgressEvent {
  ProgressKind kind = ProgressKind::other;
  std::optional<std::int64_t> step;  // workload's own step counter, if given
  double samples = 0;                // samples processed in this step
  std::optional<double> loss;
  std::optional<double> latency_ms;
  std::string error_kind;  // "oom", "gpu_fault", ... for kind == error
  std::string message;
};

// Parses one line. Malformed lines are errors (the caller counts and skips them).
Result<ProgressEvent> parse_progress_line(std::string_view line);

}  // namespace colo
